/**
 * DeadlineTimer: one timer for the earliest of the times armed (the daemons' deadlines, the rows
 * daemon's settling rows), however often it is armed.
 */
import { createHook } from "node:async_hooks";
import { afterEach, describe, expect, it } from "vitest";
import { DeadlineTimer } from "../../src/daemon/deadline-timer.js";
import { until } from "../support/until.js";

const timers = new Set<number>();
const hook = createHook({ init: (id, type) => void (type === "Timeout" && timers.add(id)), destroy: (id) => void timers.delete(id) });
/** until() without a timer of its own (it would be counted): turns of the event loop, for a bounded number. */
async function untilImmediate(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 100_000) throw new Error(`not so after 100000 turns of the event loop: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
let t: DeadlineTimer | undefined;
afterEach(() => {
  t?.clear();
  hook.disable();
});

describe("DeadlineTimer", () => {
  it("armed many times, holds one timer, for the earliest time; fires once and is no longer armed", async () => {
    let fired = 0;
    t = new DeadlineTimer(() => fired++, { ref: true });
    hook.enable();
    const now = Date.now();
    for (let i = 0; i < 50; i++) t.arm(now + 60_000 - i);
    // a cleared timer's destroy is told on a later turn of the event loop
    await untilImmediate("one timer left of 50 arms", () => timers.size === 1);
    t.arm(now + 20);
    t.arm(now + 30_000);
    expect(t.armed).toBe(true);
    await until("the earliest time fires", () => fired > 0);
    expect(fired).toBe(1);
    expect(t.armed).toBe(false);
    await untilImmediate("its timer gone", () => timers.size === 0);
  });

  it("off: arming does nothing", () => {
    t = new DeadlineTimer(() => {}, { off: true });
    t.arm(Date.now() + 10);
    expect(t.armed).toBe(false);
  });
});
