/**
 * The keyring a batch's proofs use (issue 17.2: the daemon stats its key file once a batch and hands
 * that keyring to prepare). A claim sealed with a key rotated in after the batch began — the batch's
 * keyring does not hold it — is proven again with the key file as it is now, as when the key file was
 * stat'ed for each file; one the batch's keyring proves needs no second look. Real files, real keys.
 */
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultPipeline } from "../../../src/config/pipeline.js";
import { DEFAULT_CONFIG_YAML } from "../../../src/config/default-config.js";
import type { World } from "../../../src/machine/decide.js";
import { prepare } from "../../../src/transports/files/prepare.js";
import { place } from "../../../src/transports/placement.js";
import { ensureKeyring, readKeyring, rotateKeyring } from "../../../src/trust/key-file.js";
import type { Keyring } from "../../../src/trust/keyring.js";

const pipeline = defaultPipeline(DEFAULT_CONFIG_YAML);
// a message's marks do not ask the world
const world = {} as World;
const msg = (subject: string) => `from: devops\nto: quality\ntimestamp: "2026-11-30T10:00:00Z"\nepic_id: EP-001\niteration: 1\ntype: info\nsubject: ${subject}\n`;

describe("prepare with the batch's keyring", () => {
  let root: string;
  let first: Keyring;
  beforeEach(async () => {
    root = join(mkdtempSync(join(tmpdir(), "consensus-prepare-keys-")), "consensus");
    first = (await ensureKeyring(join(root, ".consensus"))).keyring;
  });
  afterEach(() => rmSync(join(root, ".."), { recursive: true, force: true }));

  const proofOf = async (rel: string, keys: { keyring: Keyring | undefined }) => {
    const p = await prepare(rel, { root, realRoot: realpathSync(root), pipeline, world, now: Date.now(), keys });
    if (p.kind !== "ready" || p.item.input.type !== "message") throw new Error(`not ready: ${JSON.stringify(p)}`);
    return p.item.input.proof;
  };

  it("a claim sealed with a key rotated in after the batch began is proven with the key file as it is now", async () => {
    await rotateKeyring(join(root, ".consensus"), 0);
    const second = await readKeyring(join(root, ".consensus"));
    await place(root, "messages/inbox/quality/after.yaml", Buffer.from(msg("after")), { transport: "cli", role: "devops", person: { as: "Dana", keyring: second } });
    // the batch's keyring is the first one: it does not hold the key the claim was sealed with
    expect(await proofOf("messages/inbox/quality/after.yaml", { keyring: first })).toMatchObject({ by: "person", as: "Dana" });
    // no key file at the batch's start, one since
    expect(await proofOf("messages/inbox/quality/after.yaml", { keyring: undefined })).toMatchObject({ by: "person", as: "Dana" });
  });

  it("a claim that proves nothing with the key file as it is now either is still refused", async () => {
    await rotateKeyring(join(root, ".consensus"), 0);
    // sealed with the first key, retired at once by the rotation
    await place(root, "messages/inbox/quality/retired.yaml", Buffer.from(msg("retired")), { transport: "cli", role: "devops", person: { as: "Dana", keyring: first } });
    const second = await readKeyring(join(root, ".consensus"));
    expect(await proofOf("messages/inbox/quality/retired.yaml", { keyring: second })).toMatchObject({ by: "invalid", reason: expect.stringMatching(/retired/) });
  });
});
