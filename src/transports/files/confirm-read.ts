/**
 * Confirming a read the settle rule took as whole (settle.ts `confirm`): an in-place writer may have
 * raced it. Once the event loop has gone round twice (any inotify event queued before the read ended
 * has then been delivered), no event may have come for the path and its size and mtime must be those
 * read; else the bytes may be stale and the path is read again (as written in place, so it settles).
 * Shared by the daemon's file transport and the bridge.
 */
import { lstatSync } from "node:fs";
import { join } from "node:path";
import type { Arrivals } from "./arrivals.js";
import type { ReadStamp } from "./prepare.js";

/** One turn of the event loop (the poll phase runs before an immediate scheduled from inside it fires). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Lets every event queued before now be delivered: call once, then check each read with unchangedSince. */
export async function eventsDelivered(): Promise<void> {
  await turn();
  await turn();
}

/** Whether `rel` (under `root`) is as it was read: no event since, same size and mtime (or gone, or a link: nothing more to read). */
export function unchangedSince(root: string, rel: string, stamp: ReadStamp, arrivals: Arrivals): boolean {
  if (arrivals.gen(rel) !== stamp.gen) return false;
  // on this thread: a cached lookup costs microseconds, a pool round trip ~20 µs of CPU (issue 17)
  let st;
  try {
    st = lstatSync(join(root, rel), { throwIfNoEntry: false });
  } catch {
    st = undefined;
  }
  return !st || st.isSymbolicLink() || (st.size === stamp.size && st.mtimeMs === stamp.mtimeMs);
}
