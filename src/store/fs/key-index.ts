/**
 * The checkpoint's append-only index of processed marks and message ids
 * (.consensus/checkpoint.keys). These sets only grow, so rewriting them in every checkpoint made each
 * checkpoint cost O(everything ever processed) (131 MiB at 1,000,000 log lines). Instead each
 * checkpoint appends the marks added since the previous one and records the index's length; recovery
 * reads the index up to that length (bytes past it belong to a checkpoint that never completed and
 * are cut off before the next append).
 *
 * The file is a sequence of 16-byte digests (log/marks.ts: SHA-256 of the mark's kind and the mark),
 * whatever the path's length or characters. Pure.
 */
import { DIGEST_BYTES, markDigest, type MarkKind } from "../../log/marks.js";

export type { MarkKind };
export const RECORD_BYTES = DIGEST_BYTES;

export function encodeMarks(marks: Array<[MarkKind, string]>): Buffer {
  const out = Buffer.alloc(marks.length * RECORD_BYTES);
  marks.forEach(([k, v], i) => markDigest(k, v).copy(out, i * RECORD_BYTES));
  return out;
}
