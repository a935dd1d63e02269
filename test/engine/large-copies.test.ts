/**
 * EFFECT_LANES (128, for small files: notices reach the effect writer thread many to a message) is no
 * bound on large archive copies: each copy over 256 KiB holds its bytes (read from the pack: the copy
 * to make, and on replay the copy already there to compare) and an open file in the pool until it is
 * written. With max_file_bytes up to 100 MiB, 128 at once is ~25 GiB where 16 lanes held ~3 GiB (a
 * restart after a burst of large drops re-runs them all). At most LARGE_COPIES at once, whatever the
 * lanes. A real engine re-running (as recovery does) the effects of real entries over a real file
 * store, whose pack reads wait on a gate the test opens.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { silentLogger } from "../../src/daemon/logger.js";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf } from "../../src/store/fs/layout.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";
import { pipeline } from "../support/pipeline.js";
import { until } from "../support/until.js";

const dir = mkdtempSync(join(tmpdir(), "consensus-large-copies-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class CountedStore extends FsStore {
  waiting = 0;
  most = 0;
  gate: Promise<void> = Promise.resolve();
  override async getBlob(sha256: string): Promise<Uint8Array | undefined> {
    this.most = Math.max(this.most, ++this.waiting);
    await this.gate;
    this.waiting--;
    return super.getBlob(sha256);
  }
}

describe("large archive copies at once", () => {
  it("are bounded apart from the effect lanes", async () => {
    const layout = layoutOf(join(dir, "root"));
    mkdirSync(layout.dot, { recursive: true });
    const store = new CountedStore(layout);
    await store.recover();
    const epics = 40;
    const entries: LogEntry[] = [];
    for (let i = 1; i <= epics; i++) {
      const bytes = Buffer.alloc(300 * 1024, i);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      await store.putBlob(sha256, bytes);
      const epic = `EP-${String(i).padStart(3, "0")}`;
      entries.push({ seq: i, timestamp: "2026-11-30T00:00:00.000Z", agent: "orchestrator", decision: "artifact_accepted", epic_id: epic, iteration: 1, details: { file: "plan.json", sha256 } } as LogEntry);
    }
    const engine = await Engine.open(pipeline, store, silentLogger());
    let open!: () => void;
    store.gate = new Promise<void>((r) => (open = r));
    // as recovery does: every entry's effects again, the copies read from the pack
    const run = engine.runEffects(entries, { replay: true });
    // every copy is accounted for: reading its bytes (held at the gate) or waiting for a place
    const queued = (): number => (store as unknown as { largeWaiting: unknown[] }).largeWaiting.length;
    await until(`all ${epics} copies at the gate or queued for a place`, () => store.waiting + queued() === epics);
    expect(store.waiting).toBe(16);
    const held = store.most;
    open();
    await run;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(16);
    // every copy written, whole
    for (let i = 1; i <= epics; i++) expect(readFileSync(join(layout.archive, `EP-${String(i).padStart(3, "0")}`, "1", "plan.json")).equals(Buffer.alloc(300 * 1024, i))).toBe(true);
    await store.close();
  });
});
