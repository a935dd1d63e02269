/**
 * fsync as group commit. Many writers that each need "this file or folder is on disk" share one
 * fsync when they ask while one is queued: a batch of renames into one folder costs one fsync of it,
 * not one each. A request is answered by an fsync that *starts after* the request, never by one that
 * was already running (its data might not include the request's write).
 */
import { fsyncPath } from "./atomic-write.js";

export class GroupSync {
  private slots = new Map<string, { queued?: Promise<void>; running?: Promise<void> }>();

  constructor(private readonly syncOne: (path: string) => Promise<void> = fsyncPath) {}

  sync(path: string): Promise<void> {
    let s = this.slots.get(path);
    if (!s) this.slots.set(path, (s = {}));
    if (s.queued) return s.queued;
    const slot = s;
    const before = slot.running ?? Promise.resolve();
    const p: Promise<void> = before
      .catch(() => {})
      .then(async () => {
        slot.queued = undefined;
        slot.running = p;
        try {
          await this.syncOne(path);
        } finally {
          if (slot.running === p) slot.running = undefined;
          if (!slot.running && !slot.queued) this.slots.delete(path);
        }
      });
    slot.queued = p;
    return p;
  }
}

/**
 * The one bounded worker pool: runs fn over items (with each one's index), at most `limit` at a time
 * and never more workers than items; rejects with the first error after all have settled. (The
 * engine's effect lanes and the daemon's prepare step use it too.) A lone drop's batch is one lane:
 * one worker, not `limit` (128 async workers and their Promise.all were ~30 KiB of garbage and
 * hundreds of promise jobs per drop: issue 17.3, the minor GCs in the latency's tail).
 */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  let hasFailed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (e) {
        if (!hasFailed) (hasFailed = true), (failed = e);
      }
    }
  };
  const n = Math.min(Math.max(1, limit), items.length);
  if (n === 1) await worker();
  else if (n > 1) await Promise.all(Array.from({ length: n }, worker));
  if (hasFailed) throw failed;
}
