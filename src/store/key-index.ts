/**
 * The checkpoint's append-only index of processed marks and message ids
 * (.consensus/checkpoint.keys). These sets only grow, so rewriting them in every checkpoint made each
 * checkpoint cost O(everything ever processed) (131 MiB at 1,000,000 log lines). Instead each
 * checkpoint appends the marks added since the previous one and records the index's length; recovery
 * reads the index up to that length (bytes past it belong to a checkpoint that never completed and
 * are cut off before the next append).
 *
 * One line per mark: a kind letter ("p" processed, "m" message id) and the mark's digest
 * (log/marks.ts): 24 bytes a mark, whatever the path's length or characters.
 */
import { markDigest, type MarkSet } from "../log/marks.js";

export type MarkKind = "p" | "m";
const LINE = 24;

export function encodeMarks(marks: Array<[MarkKind, string]>): string {
  let out = "";
  for (const [k, v] of marks) out += `${k}${markDigest(v)}\n`;
  return out;
}

/** Adds the marks in `text` (whole lines only) to the sets; returns how many were read. Pure. */
export function applyMarks(view: { processed: MarkSet; messageIds: MarkSet }, text: string): number {
  const n = Math.floor(text.length / LINE);
  for (let i = 0; i < n; i++) {
    const at = i * LINE;
    if (text.charCodeAt(at + LINE - 1) !== 10) throw new Error(`line ${i + 1} of the key index is not ${LINE - 1} characters and a newline`);
    const kind = text[at];
    const digest = text.slice(at + 1, at + LINE - 1);
    if (kind === "p") view.processed.addDigest(digest);
    else if (kind === "m") view.messageIds.addDigest(digest);
    else throw new Error(`unknown mark kind ${JSON.stringify(kind)} on line ${i + 1} of the key index`);
  }
  return n;
}
