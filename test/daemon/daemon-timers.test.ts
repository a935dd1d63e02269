/**
 * The file daemon's timers, the daemon run in this process (its timers are this process's): however
 * often it is woken, it holds one timer per thing it waits for, never one per turn. Each turn's idle
 * used to start a checkpoint timer (up to CHECKPOINT_BUSY_MS, 10 s, away) it never cleared: a stream
 * of drops, each a turn of its own, left one pending timer per drop.
 */
import { createHook } from "node:async_hooks";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDaemon } from "../../src/daemon/daemon.js";
import { silentLogger } from "../../src/daemon/logger.js";
import { artifact, Bus } from "../support/bus.js";

let b: Bus;
beforeAll(() => {
  b = Bus.init();
}, 60_000);
afterAll(() => rmSync(b.dir, { recursive: true, force: true }));

/** Timers pending in this process, unref'ed ones too (process.getActiveResourcesInfo() leaves those out): started, neither fired nor cleared. */
const pending = new Set<number>();
const hook = createHook({ init: (id, type) => void (type === "Timeout" && pending.add(id)), destroy: (id) => void pending.delete(id) });

describe("the file daemon's timers", () => {
  it("a stream of drops, each a turn of its own, leaves no timer per turn behind", async () => {
    let stop: () => void = () => {};
    const stopped = new Promise<void>((r) => (stop = r));
    // dated back, as `cp -p` does: past the settle time at once, so each drop is decided in a turn of its own at once
    const past = new Date(Date.now() - 60_000);
    let decided = 0;
    let tick: () => void = () => {};
    const running = runDaemon({ root: b.root, log: silentLogger(), stop: stopped, onEntries: (es) => ((decided += es.length), tick()) });
    const entries = (n: number, what: string) =>
      new Promise<void>((resolve, reject) => {
        if (decided >= n) return resolve();
        const fail = setTimeout(() => reject(new Error(`${what}: ${decided} entries of ${n} after 30 s`)), 30_000);
        tick = () => decided >= n && (clearTimeout(fail), resolve());
      });
    b.drop("artifacts/EP-000/plan.json", artifact("plan.json", "EP-000", 1), { mtime: past });
    await entries(1, "the first drop decided");
    hook.enable();
    const before = pending.size;
    let most = before;
    const n = 40;
    for (let i = 1; i <= n; i++) {
      const seen = decided;
      b.drop(`artifacts/EP-${String(i).padStart(3, "0")}/plan.json`, artifact("plan.json", `EP-${String(i).padStart(3, "0")}`, 1), { mtime: past });
      await entries(seen + 1, `drop ${i} decided`);
      most = Math.max(most, pending.size);
    }
    hook.disable();
    stop();
    expect(await running).toBe(0);
    // at most this test's own guard (entries') and the daemon's next checkpoint
    expect(most, `timers held: ${before} after the first drop, up to ${most} over ${n} more`).toBeLessThanOrEqual(before + 2);
  }, 120_000);
});
