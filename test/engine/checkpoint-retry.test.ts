/**
 * A checkpoint that first retries failed effects awaits them, and the daemon's next batch runs meanwhile (the
 * checkpoint runs beside the loop: issue 17.3). It must not then claim that batch's effects done: they may still
 * be running (effects yield every 5 ms, lanes.ts), or fail after it. Claimed, a restart never runs them again.
 */
import { engineIn } from "../support/engine.js";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { Engine, type Prepared } from "../../src/engine/engine.js";
import { silentLogger } from "../../src/daemon/logger.js";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { classifyPath } from "../../src/transports/files/classify.js";
import { prepareContent } from "../../src/transports/files/prepare.js";
import { artifact } from "../support/bus.js";
import { pipeline } from "../support/pipeline.js";

const dir = mkdtempSync(join(tmpdir(), "consensus-checkpoint-retry-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const id = (i: number): string => `EP-${String(i).padStart(3, "0")}`;
function plan(engine: Engine, i: number): Prepared {
  const c = classifyPath(`artifacts/${id(i)}/plan.json`);
  if (c.kind !== "artifact") throw new Error("not an artifact");
  const bytes = new TextEncoder().encode(artifact("plan.json", id(i), 1));
  const p = prepareContent(c, { bytes, sha256: createHash("sha256").update(bytes).digest("hex"), mtimeMs: Date.now() - 10_000 }, { pipeline, world: engine.world, now: Date.now() });
  if (p.kind !== "ready") throw new Error(p.kind);
  return p.item;
}

describe("engine checkpoint after failed effects", () => {
  it("does not claim the effects of a batch committed while it retried failed ones", async () => {
    const { layout, store, engine } = await engineIn(dir);
    const FAILED = 10;
    const BATCH = 400;
    const all = FAILED + BATCH;
    await engine.process(Array.from({ length: all }, (_, i) => ({ input: { type: "start" as const, epic_id: id(i + 1), title: "t", by: "tester" }, key: `request:${i + 1}` })));
    // an agent plants files where archive folders go: these archive copies fail, to be retried by the checkpoint
    mkdirSync(layout.archive, { recursive: true });
    const block = (from: number, to: number): void => {
      for (let i = from; i <= to; i++) writeFileSync(join(layout.archive, id(i)), "x");
    };
    const unblock = (from: number, to: number): void => {
      for (let i = from; i <= to; i++) rmSync(join(layout.archive, id(i)), { force: true });
    };
    block(1, FAILED);
    await engine.process(Array.from({ length: FAILED }, (_, i) => plan(engine, i + 1)));
    unblock(1, FAILED);
    // the last of the next batch's copies are blocked too: they fail while (or after) the checkpoint is written
    block(all - 49, all);
    // as the daemon does: the checkpoint starts between batches and the next batch runs beside it
    await Promise.all([engine.checkpoint(), engine.process(Array.from({ length: BATCH }, (_, i) => plan(engine, FAILED + i + 1)))]);
    // a crash here (no further checkpoint); the blockers are gone; the daemon starts again
    await store.close();
    unblock(all - 49, all);
    const store2 = new FsStore(layout);
    await Engine.open(pipeline, store2, silentLogger());
    const missing: string[] = [];
    for (let i = 1; i <= all; i++) {
      try {
        readFileSync(join(layout.archive, id(i), "1", "plan.json"));
      } catch {
        missing.push(id(i));
      }
    }
    expect(missing).toEqual([]);
    await store2.close();
  });
});
