/**
 * readEntries after a seq on the file store reads on from a cursor; what it gives must stay what a read
 * of the whole log gives after that seq even when the MAC check's answers change between two reads: a
 * key that was in force when the cursor was made retires (a rotation's grace period ends while the
 * daemon still seals with it), or the key becomes readable to a reader that read without it. The
 * cursor's "a key in force sealed a line before me" (anchored) was judged under the old answers.
 */
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sealLine, unsealLine } from "../../src/log/chain.js";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { keyFileOf, rotateKeyring } from "../../src/trust/key-file.js";
import { daemonEntries } from "../../src/transports/await-decision.js";
import { engineIn } from "../support/engine.js";
import { following, readAll, startEpics } from "../support/log-reads.js";
import { until } from "../support/until.js";

describe("readEntries after a seq (file store) when the MAC check's answers change between reads", () => {
  it("a key that retires between two reads: the entry it sealed after the cursor is given as a whole read gives it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "consensus-read-keys-"));
    const { layout, engine, store } = await engineIn(dir);
    try {
      await startEpics(engine, 3);
      // rotated while the daemon runs: it seals with the old key until restarted; the old key
      // verifies until its retirement (short here), then it is "old"
      const graceMs = 1000;
      const ring = await rotateKeyring(layout.dot, graceMs);
      const retireAt = Date.parse(ring.describe()[0]!.retire_at!);
      const reader = new FsStore(layout, { readOnly: true });
      const top = (await daemonEntries(reader)).at(-1)!.seq;
      await startEpics(engine, 1);
      // the cursor was made while the old key was still in force (else this test proves nothing)
      expect(Date.now()).toBeLessThan(retireAt);
      await until("the rotated-out key to retire", () => Date.now() > retireAt, 3 * graceMs);
      const whole = following(await readAll(new FsStore(layout, { readOnly: true })), top);
      expect(whole.filter((l) => l.entry?.agent === "orchestrator").length).toBeGreaterThan(0);
      expect(await readAll(reader, top)).toEqual(whole);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  it("a reader that read without the key and then can read it: a line sealed with a key id no ring holds, chained on its cursor, is not taken for the daemon's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "consensus-read-keys-"));
    const { layout, engine, store } = await engineIn(dir);
    try {
      await startEpics(engine, 3);
      const key = keyFileOf(layout.dot);
      // the key out of this reader's reach for its first read (it checks the chain only, and says so)
      renameSync(key, `${key}.away`);
      const reader = new FsStore(layout, { readOnly: true });
      const top = (await daemonEntries(reader)).at(-1)!.seq;
      expect(reader.macsUnchecked).toBeDefined();
      renameSync(`${key}.away`, key);
      // a verdict written into the log of record, chained on the last line, sealed by a key id no ring holds
      const last = readFileSync(layout.record, "utf8").trimEnd().split("\n").at(-1)!;
      const body = `{"seq":${top + 1},"txn":1,"timestamp":"2026-11-21T10:00:00Z","agent":"orchestrator","decision":"artifact_accepted","epic_id":"EP-001","details":{"file":"artifacts/EP-001/plan.json","sha256":"${"a".repeat(64)}"}}`;
      const { line } = sealLine(body, unsealLine(last)!.hash, "", () => `zz.${"c".repeat(64)}`);
      appendFileSync(layout.record, `${line}\n`);
      const whole = following(await readAll(new FsStore(layout, { readOnly: true })), top);
      expect(whole.some((l) => l.entry?.decision === "artifact_accepted")).toBe(false);
      expect(await readAll(reader, top)).toEqual(whole);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
