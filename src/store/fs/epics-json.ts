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

const compactPart = (id: string, e: Epic): string => {
  let t = compactOf.get(e);
  if (t === undefined) compactOf.set(e, (t = JSON.stringify(e)));
  return `${JSON.stringify(id)}:${t}`;
};
const prettyPart = (id: string, e: Epic): string => {
  let t = prettyOf.get(e);
  if (t === undefined) prettyOf.set(e, (t = JSON.stringify(e, null, 2).replace(/\n/g, "\n    ")));
  return `    ${JSON.stringify(id)}: ${t}`;
};

/**
 * The epics of a snapshot as JSON text, both ways: `compact` is JSON.stringify(Object.fromEntries(epics))
 * (the checkpoint's), `pretty` the value of `"epics"` in JSON.stringify(state, null, 2) where epics is a
 * property of the top object (state.json's). Serialised a slice at a time:
 * whenever a slice has taken `sliceMs` (ms), `pause` is awaited, so the daemon's loop takes a drop
 * that came meanwhile (issue 17.3: the checkpoint's serialisation held the loop 5–20 ms once a second
 * at 1,520 epics in a burst, and a drop then waited behind it). The snapshot is the array of
 * [epic id, state] pairs taken before the call: each state is an immutable value, so serialising it
 * later gives the text it had when the snapshot was taken.
 */
export async function epicsTexts(snapshot: ReadonlyArray<readonly [string, Epic]>, pause: () => Promise<void>, sliceMs = 1): Promise<{ compact: string; pretty: string }> {
  const compact: string[] = [];
  const pretty: string[] = [];
  let since = performance.now();
  for (const [id, e] of snapshot) {
    compact.push(compactPart(id, e));
    pretty.push(prettyPart(id, e));
    if (performance.now() - since >= sliceMs) {
      await pause();
      since = performance.now();
    }
  }
  return { compact: `{${compact.join(",")}}`, pretty: pretty.length ? `{\n${pretty.join(",\n")}\n  }` : "{}" };
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
