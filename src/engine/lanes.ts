/**
 * Runs work in lanes: items of one lane strictly in order, different lanes concurrently, at most
 * `limit` lanes at a time. The engine runs effects this way: an epic's effects stay in order (its
 * archive copy before the notice that lists it), while a batch's many epics do not wait on each other.
 */
import { eachLimited } from "../store/fs/group-sync.js";

export async function inLanes<T>(items: readonly T[], laneOf: (item: T) => string, limit: number, run: (item: T) => Promise<void>): Promise<void> {
  const lanes = new Map<string, T[]>();
  for (const item of items) {
    const k = laneOf(item);
    const lane = lanes.get(k);
    if (lane) lane.push(item);
    else lanes.set(k, [item]);
  }
  // Effects written on the daemon's thread (notices, archive copies from bytes in memory) resolve
  // without a turn of the event loop: a batch of hundreds would hold it for the whole batch (watcher
  // events, the next commit and MCP calls waiting). Every lane gives the loop a turn once work has run
  // YIELD_MS since the last one.
  let since = performance.now();
  await eachLimited([...lanes.values()], limit, async (lane) => {
    for (const item of lane) {
      if (performance.now() - since > YIELD_MS) {
        await new Promise((r) => setImmediate(r));
        since = performance.now();
      }
      await run(item);
    }
  });
}

/** Longest run of effects (ms) before the event loop gets a turn. */
const YIELD_MS = 5;
