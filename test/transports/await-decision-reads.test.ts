/**
 * A verdict wait over a real file store reads, at each wake, what was appended since its last read —
 * not the whole log again (BENCHMARKS.md "MCP: submit_artifact to its verdict": each wake used to
 * cost a read of every line). Counted in-process: the lines the store hands the wait per read, and the
 * bytes of the log of record the store reads.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Engine, Prepared } from "../../src/engine/engine.js";
import { FsStore } from "../../src/store/fs/fs-store.js";
import type { Layout } from "../../src/store/fs/layout.js";
import type { LogLine, ReadFrom } from "../../src/store/port.js";
import { classifyPath } from "../../src/transports/files/classify.js";
import { prepareContent } from "../../src/transports/files/prepare.js";
import { awaitDecision, daemonEntries, type DaemonEntry } from "../../src/transports/await-decision.js";
import { artifact } from "../support/bus.js";
import { engineIn } from "../support/engine.js";
import { pipeline } from "../support/pipeline.js";
import { until } from "../support/until.js";

function drop(engine: Engine, rel: string, text: string): Prepared & { sha256: string } {
  const c = classifyPath(rel);
  if (c.kind !== "artifact") throw new Error(`not an artifact: ${rel}`);
  const bytes = new TextEncoder().encode(text);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const p = prepareContent(c, { bytes, sha256, mtimeMs: Date.now() }, { pipeline, world: engine.world, now: Date.now() + 10_000 });
  if (p.kind !== "ready") throw new Error(`${rel}: ${p.kind}`);
  return { ...p.item, sha256 };
}

let dir: string;
let layout: Layout;
let engine: Engine;
let close: () => Promise<void>;
let n = 0;
const start = async (count: number): Promise<void> => {
  for (let i = 0; i < count; i++) {
    const id = `EP-${String(++n).padStart(4, "0")}`;
    const [o] = await engine.process([{ input: { type: "start", epic_id: id, title: `epic ${id}`, by: "tester" }, key: `request:${id}` }]);
    expect(o!.status).toBe("committed");
  }
};

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "consensus-wait-reads-"));
  const e = await engineIn(dir);
  ({ layout, engine } = e);
  close = () => e.store.close();
});
afterEach(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

/** The reader, counting the lines each read hands over. */
function counting(reader: FsStore): { reads: number[]; readEntries(from?: ReadFrom): AsyncIterable<LogLine> } {
  const reads: number[] = [];
  return {
    reads,
    async *readEntries(from?: ReadFrom) {
      let lines = 0;
      try {
        for await (const l of reader.readEntries(from)) {
          lines++;
          yield l;
        }
      } finally {
        reads.push(lines);
      }
    },
  };
}

describe("awaitDecision on a file store", () => {
  it("each wake reads the lines appended since the last read, not the log again: lines and bytes read do not grow with the log", async () => {
    await start(300);
    const reader = new FsStore(layout, { readOnly: true });
    // as `consensus submit --wait` and an MCP session do: the log's end is read before placing
    const afterSeq = (await daemonEntries(reader)).at(-1)!.seq;
    const logLines = afterSeq;
    const store = counting(reader);
    const bytesBefore = reader.bytesRead;
    const sizeBefore = statSync(layout.record).size;
    let wake: ((c?: readonly DaemonEntry[]) => void) | undefined;
    const plan = drop(engine, "artifacts/EP-0001/plan.json", artifact("plan.json", "EP-0001", 1));
    const waiting = awaitDecision(store, "artifacts/EP-0001/plan.json", plan.sha256, { afterSeq, timeoutMs: 60_000, pollMs: 60_000, onChange: (w) => ((wake = w), () => (wake = undefined)) });
    await until("the wait's first read", () => store.reads.length === 1);
    expect(store.reads[0]).toBe(0);
    // five wakes, each after one more transaction that is not the verdict
    for (let i = 1; i <= 5; i++) {
      await start(1);
      wake!();
      await until(`read ${i + 1}`, () => store.reads.length === i + 1);
      expect(store.reads[i]).toBeGreaterThanOrEqual(1);
      expect(store.reads[i]).toBeLessThanOrEqual(2);
    }
    const [o] = await engine.process([plan]);
    expect(o!.status).toBe("committed");
    wake!();
    expect(await waiting).toMatchObject({ verdict: "accepted", entries: [{ decision: "artifact_accepted" }, { decision: "stage_advanced" }] });
    // everything the wait read: the lines written while it waited, once each
    expect(store.reads.reduce((a, b) => a + b, 0)).toBeLessThan(20);
    expect(Math.max(...store.reads)).toBeLessThan(logLines / 10);
    expect(reader.bytesRead - bytesBefore).toBe(statSync(layout.record).size - sizeBefore);
    expect(wake).toBeUndefined();
  });
});
