import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nonceId } from "../../src/log/replay.js";
import { readKeyring } from "../../src/trust/key-file.js";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf, type Layout } from "../../src/store/fs/layout.js";
import type { Txn } from "../../src/store/port.js";

const T = "2026-11-22T10:00:00.000Z";
const epic = (stage: string) => ({ epic_id: "EP-001", title: "t", stage, iteration: 1, status: "in_progress" }) as unknown as NonNullable<Txn["state"]>;
const msg = (n: number): Txn => ({ drafts: [{ decision: "message_accepted", details: { file: `m${n}.json`, message_id: `id-${n}` } }], input: `messages/inbox/planner/m${n}.json@${String(n).padStart(64, "0")}` });

/** Appends txns through a fresh store (recovering first, as the engine does) and checkpoints. */
async function commit(L: Layout, txns: Txn[], checkpoint = true): Promise<void> {
  const s = new FsStore(L);
  const { view } = await s.recover();
  const res = await s.append(txns, T, view.seq);
  const last = res.entries[res.entries.length - 1]!;
  view.seq = last.seq;
  view.hash = last.hash;
  if (checkpoint) await s.checkpoint(view);
  await s.close();
}

async function recover(L: Layout, opts = {}) {
  const s = new FsStore(L, { readOnly: true, ...opts });
  const r = await s.recover();
  await s.close();
  return r;
}

describe("checkpoint with an append-only key index", () => {
  let dir: string;
  let L: Layout;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "consensus-cpkeys-"));
    L = layoutOf(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps processed marks and message ids across checkpoints, appending only the new ones", async () => {
    await commit(L, [msg(1), msg(2)]);
    const after1 = statSync(L.checkpointKeys).size;
    await commit(L, [msg(3)]);
    expect(statSync(L.checkpointKeys).size).toBe(after1 + 2 * 16);
    const cp = JSON.parse(readFileSync(L.checkpoint, "utf8"));
    expect(cp).toMatchObject({ version: 4, seq: 3, keys_bytes: after1 + 32, mac: expect.stringMatching(/^[a-z0-9]+\.[0-9a-f]{64}$/) });
    expect(cp.processed).toBeUndefined();
    const { view, unapplied, findings } = await recover(L);
    expect(findings).toEqual([]);
    expect(unapplied).toEqual([]);
    for (const n of [1, 2, 3]) {
      expect(view.processed.has(msg(n).input!)).toBe(true);
      expect(view.messageIds.has(`id-${n}`)).toBe(true);
    }
    expect(view.processed.has(msg(4).input!)).toBe(false);
    expect(view.messageIds.has("id-4")).toBe(false);
  });

  it("a launch-token nonce used before a checkpoint is still used after recovering from it (and a look-alike message id is not)", async () => {
    const nonce = "AbCdEfGh12345678";
    const signed: Txn = { drafts: [{ decision: "artifact_accepted", details: { file: "artifacts/EP-001/plan.json", proof: { by: "token", role: "planner", nonce } } }], input: `artifacts/EP-001/plan.json@${"a".repeat(64)}` };
    await commit(L, [signed]);
    const { view, unapplied } = await recover(L);
    expect(unapplied).toEqual([]);
    expect(view.messageIds.has(nonceId(nonce))).toBe(true);
    expect(view.messageIds.has(`nonce:${nonce}`)).toBe(false);
  });

  it("a version 3 checkpoint (its key index kept no nonces) is read past once: a nonce used before it is found in the log", async () => {
    const nonce = "OldNonce12345678";
    const signed: Txn = { drafts: [{ decision: "artifact_accepted", details: { file: "artifacts/EP-001/plan.json", proof: { by: "token", role: "planner", nonce } } }], input: `artifacts/EP-001/plan.json@${"b".repeat(64)}` };
    await commit(L, [signed]);
    // as a version 3 daemon left it: sealed with the daemon key, its index without the nonce
    const text = readFileSync(L.checkpoint, "utf8");
    const body = `${text.slice(0, text.lastIndexOf(',"mac":"')).replace('"version":4', '"version":3')}}`;
    const ring = await readKeyring(L.dot);
    writeFileSync(L.checkpoint, `${body.slice(0, -1)},"mac":"${ring.mac("checkpoint", body)}"}`);
    const { view, findings, unapplied } = await recover(L);
    expect(findings.map((f) => f.decision)).toEqual(["checkpoint_discarded"]);
    expect(String(findings[0]!.details.reason)).toMatch(/before launch-token nonces were kept.*version 3/);
    expect(unapplied.map((e) => e.seq)).toEqual([1]);
    expect(view.messageIds.has(nonceId(nonce))).toBe(true);
  });

  it("marks after the checkpoint come from the log tail", async () => {
    await commit(L, [msg(1)]);
    await commit(L, [msg(2)], false);
    const { view, unapplied } = await recover(L);
    expect(unapplied.map((e) => e.seq)).toEqual([2]);
    expect(view.processed.has(msg(1).input!) && view.processed.has(msg(2).input!)).toBe(true);
  });

  it("ignores and then cuts what a checkpoint that never finished appended to the index", async () => {
    await commit(L, [msg(1)]);
    appendFileSync(L.checkpointKeys, "p-a-torn-line");
    const { view, findings } = await recover(L);
    expect(findings).toEqual([]);
    expect(view.processed.has(msg(1).input!)).toBe(true);
    await commit(L, [msg(2)]);
    expect(statSync(L.checkpointKeys).size).toBe(4 * 16); // two messages: a processed mark and a message id each
    const again = await recover(L);
    expect(again.view.processed.has(msg(2).input!)).toBe(true);
  });

  it("discards the checkpoint (and rebuilds from the log) when the index is shorter than it says", async () => {
    await commit(L, [msg(1), msg(2)]);
    truncateSync(L.checkpointKeys, 16);
    const { view, findings, unapplied } = await recover(L);
    expect(findings.map((f) => f.decision)).toEqual(["checkpoint_discarded"]);
    expect(String(findings[0]!.details.reason)).toMatch(/key index .* has 16 bytes, not the 64/);
    expect(unapplied.map((e) => e.seq)).toEqual([1, 2]);
    expect(view.processed.has(msg(2).input!)).toBe(true);
  });

  it("discards a version 1 checkpoint as df2a68 wrote it (marks inline, no agents) and rebuilds from the log", async () => {
    await commit(L, [msg(1), msg(2)]);
    const v2 = JSON.parse(readFileSync(L.checkpoint, "utf8"));
    writeFileSync(L.checkpoint, JSON.stringify({ version: 1, seq: v2.seq, hash: v2.hash, offset: v2.offset, lines: v2.lines, epics: v2.epics, processed: [msg(1).input, msg(2).input], message_ids: ["id-1", "id-2"] }));
    rmSync(L.checkpointKeys);
    const { view, findings, unapplied } = await recover(L);
    expect(findings.map((f) => f.decision)).toEqual(["checkpoint_discarded"]);
    expect(String(findings[0]!.details.reason)).toMatch(/carries no MAC/);
    expect(unapplied.map((e) => e.seq)).toEqual([1, 2]);
    expect(view.seq).toBe(2);
    for (const n of [1, 2]) expect(view.processed.has(msg(n).input!) && view.messageIds.has(`id-${n}`)).toBe(true);
    // the next checkpoint is a version 3 one again, with every mark in the index
    await commit(L, [msg(3)]);
    expect(JSON.parse(readFileSync(L.checkpoint, "utf8")).version).toBe(4);
    const later = await recover(L);
    expect(later.findings).toEqual([]);
    for (const n of [1, 2, 3]) expect(later.view.processed.has(msg(n).input!) && later.view.messageIds.has(`id-${n}`)).toBe(true);
  });

  it("epicsOnly recovery (status) does not read the index", async () => {
    await commit(L, [msg(1)]);
    rmSync(L.checkpointKeys);
    const { findings, view } = await recover(L, { epicsOnly: true });
    expect(findings).toEqual([]);
    expect(view.seq).toBe(1);
  });

  it("an edited checkpoint (its MAC no longer checks) is discarded and the state rebuilt from the log of record", async () => {
    await commit(L, [msg(1)]);
    const text = readFileSync(L.checkpoint, "utf8");
    expect(text).toContain('"epics":{}');
    writeFileSync(L.checkpoint, text.replace('"epics":{}', `"epics":{"EP-001":${JSON.stringify(epic("deployment"))}}`));
    const { view, findings } = await recover(L);
    expect(findings).toMatchObject([{ decision: "checkpoint_discarded", details: { reason: expect.stringMatching(/MAC does not check/) } }]);
    expect(view.epics.get("EP-001")).toBeUndefined();
  });

  it("a checkpoint re-made without the key (a plausible MAC) is discarded too", async () => {
    await commit(L, [msg(1)]);
    const text = readFileSync(L.checkpoint, "utf8");
    writeFileSync(L.checkpoint, text.replace(/"mac":"([a-z0-9]+)\.[0-9a-f]{64}"/, `"mac":"$1.${"0".repeat(64)}"`));
    const { findings } = await recover(L);
    expect(findings.map((f) => f.decision)).toEqual(["checkpoint_discarded"]);
  });

  it("a mark planted in the key index (inside the length the checkpoint names) is not believed: the checkpoint is discarded, the input not skipped", async () => {
    await commit(L, [msg(1)]);
    const planted = msg(2).input!;
    const { encodeMarks } = await import("../../src/store/fs/key-index.js");
    // replace the index with one that also holds the mark of an input never decided, same length as named
    const cp = JSON.parse(readFileSync(L.checkpoint, "utf8"));
    const forged = Buffer.concat([encodeMarks([["p", planted]]), readFileSync(L.checkpointKeys)]).subarray(0, cp.keys_bytes);
    writeFileSync(L.checkpointKeys, forged);
    const { view, findings } = await recover(L);
    expect(findings).toMatchObject([{ decision: "checkpoint_discarded", details: { reason: expect.stringMatching(/planted or removed/) } }]);
    expect(view.processed.has(planted)).toBe(false);
    expect(view.processed.has(msg(1).input!)).toBe(true);
    // appended after the length the checkpoint names: cut, never read
    await commit(L, [msg(3)]);
    appendFileSync(L.checkpointKeys, encodeMarks([["p", planted]]));
    const again = await recover(L);
    expect(again.findings).toEqual([]);
    expect(again.view.processed.has(planted)).toBe(false);
  });
});
