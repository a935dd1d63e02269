/**
 * The checkpoint's append-only index of processed marks and message ids
 * (.consensus/checkpoint.keys). These sets only grow, so rewriting them in every checkpoint made each
 * checkpoint cost O(everything ever processed) (131 MiB at 1,000,000 log lines). Instead each
 * checkpoint appends the marks added since the previous one and records the index's length; recovery
 * reads the index up to that length (bytes past it belong to a checkpoint that never completed and
 * are cut off before the next append).
 *
 * One line per mark: the JSON string of a one-letter kind ("p" processed, "m" message id) followed by
 * the mark itself, so any character a path may hold survives.
 */
import type { View } from "../log/replay.js";

export type MarkKind = "p" | "m";

export function encodeMarks(marks: Array<[MarkKind, string]>): string {
  let out = "";
  for (const [k, v] of marks) out += `${JSON.stringify(k + v)}\n`;
  return out;
}

/** Adds the marks in `text` (whole lines only) to the view; returns how many were read. Pure. */
export function applyMarks(view: Pick<View, "processed" | "messageIds">, text: string): number {
  let n = 0;
  let start = 0;
  for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
    const line = text.slice(start, nl);
    start = nl + 1;
    if (!line) continue;
    // Marks without a quote or backslash (nearly all) need no JSON.parse.
    const raw = line.length >= 3 && !line.slice(1, -1).includes("\\") ? line.slice(1, -1) : (JSON.parse(line) as string);
    const kind = raw[0];
    const mark = raw.slice(1);
    if (kind === "p") view.processed.add(mark);
    else if (kind === "m") view.messageIds.add(mark);
    else throw new Error(`unknown mark kind ${JSON.stringify(kind)} on a line of the key index`);
    n++;
  }
  return n;
}
