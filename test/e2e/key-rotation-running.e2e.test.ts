/**
 * Issue 17.2: the daemon stats its key file once a batch (not once a file) and hands that keyring to
 * the batch's proofs. A `consensus keys rotate` while it runs must still be seen by the next drop: a
 * person's command sealed with the new key is proven (the old keyring does not hold that key), and a
 * claim sealed with the old key after it was retired at once is refused. The real daemon, the real
 * CLI, real files.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bus, repo } from "../support/bus.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";

type Proof = { by?: string; reason?: string; as?: string };
const proofOf = (e: LogEntry): Proof | undefined => (e.details as { proof?: Proof } | undefined)?.proof;
const fileOf = (e: LogEntry): string | undefined => (e.details as { file?: string } | undefined)?.file;
// the daemon runs dist/: the keys and claims it reads are made by the same build
type Ring = object;
const keyFile = (): Promise<{ readKeyring(dot: string): Promise<Ring> }> => import(join(repo, "dist", "trust/key-file.js")) as Promise<{ readKeyring(dot: string): Promise<Ring> }>;
type Place = (root: string, rel: string, bytes: Uint8Array, by: { transport: "cli"; role: string; person: { as: string; keyring: Ring } }) => Promise<unknown>;
const placement = (): Promise<{ place: Place }> => import(join(repo, "dist", "transports/placement.js")) as Promise<{ place: Place }>;
const msg = (subject: string) => `from: devops\nto: quality\ntimestamp: "${new Date().toISOString()}"\nepic_id: EP-001\niteration: 1\ntype: info\nsubject: ${subject}\n`;

describe("a daemon key rotated while the daemon runs", () => {
  const b = Bus.init();
  afterAll(async () => {
    await b.stopDaemon();
    b.cleanup();
  });

  it("is used for the next drop's proof: the new key's MAC verifies, the old key (retired at once) no longer does", async () => {
    expect(b.cli("start", "EP-001", "--title", "Rotation").code).toBe(0);
    b.startDaemon();
    const { readKeyring } = await keyFile();
    const { place } = await placement();
    const dot = join(b.root, ".consensus");
    const proofFor = (file: string) => b.waitFor(`a verdict on ${file}`, (x) => x.some((e) => fileOf(e) === file && proofOf(e))).then((x) => proofOf(x.find((e) => fileOf(e) === file && proofOf(e))!)!);

    // before: a person's message, its claim sealed with the first key, is the person's
    const first = await readKeyring(dot);
    await place(b.root, "messages/inbox/quality/before.yaml", Buffer.from(msg("before")), { transport: "cli", role: "devops", person: { as: "Dana", keyring: first } });
    expect(await proofFor("messages/inbox/quality/before.yaml")).toMatchObject({ by: "person", as: "Dana" });

    // rotated while the daemon runs, the first key retired at once
    const rotate = b.cli("keys", "rotate", "--retire-after", "0s");
    expect(rotate.code, rotate.stderr).toBe(0);
    const second = await readKeyring(dot);

    // sealed with the new key: proven (a daemon still on the first keyring would not know the key)
    await place(b.root, "messages/inbox/quality/after.yaml", Buffer.from(msg("after")), { transport: "cli", role: "devops", person: { as: "Dana", keyring: second } });
    expect(await proofFor("messages/inbox/quality/after.yaml")).toMatchObject({ by: "person", as: "Dana" });

    // sealed with the retired key: refused (a daemon on the first keyring would still accept it)
    await place(b.root, "messages/inbox/quality/retired.yaml", Buffer.from(msg("retired")), { transport: "cli", role: "devops", person: { as: "Dana", keyring: first } });
    expect(await proofFor("messages/inbox/quality/retired.yaml")).toMatchObject({ by: "invalid", reason: expect.stringMatching(/retired/) });
  });
});
