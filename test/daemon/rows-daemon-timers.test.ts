/**
 * The rows daemon's timers on a real PostgreSQL, the daemon run in this process (its timers are
 * this process's): however often it is woken and claims, it holds one timer per thing it waits for
 * (the next checkpoint, the earliest deadline, the poll), never one per turn. Each turn's idle used
 * to start a checkpoint timer it never cleared while the store had changes not in a checkpoint: a
 * burst of rows left one pending timer per turn.
 */
import { createHook } from "node:async_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runRowsDaemon } from "../../src/daemon/rows-daemon.js";
import { silentLogger } from "../../src/daemon/logger.js";
import { PgStore } from "../../src/store/pg/pg-store.js";
import { PgBus } from "../support/pg-bus.js";

let b: PgBus;
beforeAll(async () => {
  hook.enable();
  b = await PgBus.create();
  // the schema migrated before rows are sent
  await (await PgStore.open(b.db.url)).close();
}, 60_000);
afterAll(async () => {
  hook.disable();
  await b?.cleanup();
});

/** Timers pending in this process, unref'ed ones too (process.getActiveResourcesInfo() leaves those out): started, neither fired nor cleared. */
const pending = new Set<number>();
const hook = createHook({
  init: (id, type) => void (type === "Timeout" && pending.add(id)),
  destroy: (id) => void pending.delete(id),
});
const timeouts = (): number => pending.size;

async function decided(): Promise<number> {
  const [r] = await b.sql`SELECT count(*)::int AS n FROM inputs WHERE done_at IS NOT NULL`;
  return r!.n as number;
}

describe("the rows daemon's timers", () => {
  it("a burst of rows, each a turn of its own, leaves no timer per turn behind", async () => {
    let stop: () => void = () => {};
    const stopped = new Promise<void>((r) => (stop = r));
    const running = runRowsDaemon({ root: b.root, store: b.db.url, log: silentLogger(), stop: stopped });
    // its first turn: the first row decided (the store then has a change not in a checkpoint)
    await b.inputs.addCommand({ type: "start", epic_id: "EP-000", title: "first", by: "tester" }, "test");
    for (let t = Date.now(); (await decided()) < 1; ) if (Date.now() - t > 30_000) throw new Error("the first row was not decided within 30 s");
    const before = timeouts();
    // one row at a time, each decided before the next is sent: each is a turn (a NOTIFY, a claim, a commit, an idle)
    const n = 60;
    let most = before;
    for (let i = 1; i <= n; i++) {
      await b.inputs.addCommand({ type: "start", epic_id: `EP-${String(i).padStart(3, "0")}`, title: `epic ${i}`, by: "tester" }, "test");
      // polled with no timer of this test's own (it would be counted), bounded: a row never decided fails here, named
      for (const t = Date.now(); ; ) {
        most = Math.max(most, timeouts());
        if ((await decided()) > i) break;
        if (Date.now() - t > 30_000) throw new Error(`row ${i + 1} (EP-${String(i).padStart(3, "0")}) was not decided within 30 s`);
      }
    }
    most = Math.max(most, timeouts());
    stop();
    expect(await running).toBe(0);
    // what it held after its first turn (poll, heartbeat, the next checkpoint, the earliest deadline, the driver's), and at most one more
    expect(most, `timers held: ${before} after the first row, up to ${most} over ${n} more turns`).toBeLessThanOrEqual(before + 1);
    expect(await decided()).toBe(n + 1);
  }, 120_000);
});
