/**
 * The epics of a checkpoint and of state.json as JSON text, without serialising every epic at every
 * checkpoint (issue 17.3: at 1,520 epics the two JSON.stringify calls held the event loop ~5–7 ms once
 * a second, in front of whatever drop came then). An epic's state is an immutable value — each change
 * is a new object (log/replay.ts sets the entry's `state`) — so its text is cached by object identity
 * and only the epics changed since the last checkpoint are serialised again.
 *
 * The text is byte-for-byte what JSON.stringify gives for the same object (tested): compact for the
 * checkpoint, two-space indented at the depth state.json nests epics.
 */
import type { Epic } from "../../schemas/types.gen.js";

const compactOf = new WeakMap<Epic, string>();
const prettyOf = new WeakMap<Epic, string>();

/** JSON.stringify(Object.fromEntries(epics)). */
export function epicsCompact(epics: ReadonlyMap<string, Epic>): string {
  const parts: string[] = [];
  for (const [id, e] of epics) {
    let t = compactOf.get(e);
    if (t === undefined) compactOf.set(e, (t = JSON.stringify(e)));
    parts.push(`${JSON.stringify(id)}:${t}`);
  }
  return `{${parts.join(",")}}`;
}

/** The value of `"epics"` in JSON.stringify(state, null, 2), where epics is a property of the top object. */
export function epicsPretty(epics: ReadonlyMap<string, Epic>): string {
  if (epics.size === 0) return "{}";
  const parts: string[] = [];
  for (const [id, e] of epics) {
    let t = prettyOf.get(e);
    if (t === undefined) prettyOf.set(e, (t = JSON.stringify(e, null, 2).replace(/\n/g, "\n    ")));
    parts.push(`    ${JSON.stringify(id)}: ${t}`);
  }
  return `{\n${parts.join(",\n")}\n  }`;
}

/**
 * JSON.stringify(obj, null, 2) of an object whose last property is `key`, with `valueText` (already
 * JSON, indented for depth 1) as that property's value.
 */
export function prettyWithLast(obj: Record<string, unknown>, key: string, valueText: string): string {
  const head = JSON.stringify(obj, null, 2);
  const sep = head === "{}" ? "{\n" : `${head.slice(0, -2)},\n`;
  return `${sep}  ${JSON.stringify(key)}: ${valueText}\n}`;
}

/** JSON.stringify(obj) of an object whose last property is `key`, with `valueText` (JSON) as its value. */
export function compactWithLast(obj: Record<string, unknown>, key: string, valueText: string): string {
  const head = JSON.stringify(obj);
  return `${head === "{}" ? "{" : `${head.slice(0, -1)},`}${JSON.stringify(key)}:${valueText}}`;
}
