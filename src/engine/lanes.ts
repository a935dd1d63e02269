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
  await eachLimited(lanes.values(), limit, async (lane) => {
    for (const item of lane) await run(item);
  });
}
