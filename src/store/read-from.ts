/** The seq a read of the log starts after (Store.readEntries's ReadFrom), as both stores take it. */
import type { ReadFrom } from "./port.js";

/**
 * The seq `from` asks to read after: 0 when absent or negative (the log's start); the seq itself when it
 * is a whole number up to Number.MAX_SAFE_INTEGER. Anything else (2.5, NaN, Infinity, 1e20) names no
 * line of the log: a RangeError saying what was given, rather than a store-dependent answer (a database
 * error on one, every entry on the other).
 */
export function afterSeqOf(from: ReadFrom | undefined): number {
  const a = from?.afterSeq ?? 0;
  if (!Number.isSafeInteger(a)) throw new RangeError(`readEntries: afterSeq must be a whole number of at most ${Number.MAX_SAFE_INTEGER} (a seq of the log), not ${a}`);
  return Math.max(0, a);
}
