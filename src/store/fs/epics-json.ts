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
import { liveJobs, type AgentView, type StageEntry } from "../../log/agent-jobs.js";

/**
 * An object's member `"<key>":<JSON of value>` (compact) as UTF-8 bytes, cached by the value's
 * identity with its key (a value is never mutated once made: a change is a new object). Bytes, not
 * strings: a checkpoint at 1,120 epics built ~5 MB of strings on the daemon's heap (the parts, their
 * joins, slices and the copies of the whole), which made a minor GC of 2–6 ms every couple of seconds
 * land in front of a drop (issue 17.3); the bytes live outside the heap and are joined once.
 */
class MemberCache<V extends object> {
  private readonly cache = new WeakMap<V, { key: string; bytes: Buffer }>();
  constructor(private readonly text: (key: string, value: V) => string) {}
  of(key: string, value: V): Buffer {
    const hit = this.cache.get(value);
    if (hit?.key === key) return hit.bytes;
    const bytes = Buffer.from(this.text(key, value));
    this.cache.set(value, { key, bytes });
    return bytes;
  }
}

const compactMember = new MemberCache<Epic>((id, e) => `${JSON.stringify(id)}:${JSON.stringify(e)}`);
const prettyMember = new MemberCache<Epic>((id, e) => `    ${JSON.stringify(id)}: ${JSON.stringify(e, null, 2).replace(/\n/g, "\n    ")}`);

const COMMA = Buffer.from(",");
const COMMA_NL = Buffer.from(",\n");

/** The bytes of `open`, the members separated by sep, `close` (`empty` when there are none), written once into one buffer. */
function joined(members: readonly Buffer[], sep: Buffer, open: string, close: string, empty: string): Buffer {
  if (!members.length) return Buffer.from(empty);
  let length = Buffer.byteLength(open) + Buffer.byteLength(close) + sep.length * (members.length - 1);
  for (const m of members) length += m.length;
  const out = Buffer.allocUnsafe(length);
  let at = out.write(open);
  members.forEach((m, i) => {
    if (i > 0) at += sep.copy(out, at);
    at += m.copy(out, at);
  });
  out.write(close, at);
  return out;
}

/**
 * The epics of a snapshot as JSON, both ways, as UTF-8 bytes: `compact` is
 * JSON.stringify(Object.fromEntries(epics)) (the checkpoint's), `pretty` the value of `"epics"` in
 * JSON.stringify(state, null, 2) where epics is a property of the top object (state.json's). Each
 * epic's text is made once per change (MemberCache). Serialised a slice at a time: whenever a slice
 * has taken `sliceMs` (ms), `pause` is awaited, so the daemon's loop takes a drop that came meanwhile
 * (issue 17.3: the checkpoint's serialisation held the loop 5–20 ms once a second at 1,520 epics in a
 * burst, and a drop then waited behind it). The snapshot is the array of [epic id, state] pairs taken
 * before the call: each state is an immutable value, so serialising it later gives the text it had
 * when the snapshot was taken.
 */
export async function epicsTexts(snapshot: ReadonlyArray<readonly [string, Epic]>, pause: () => Promise<void>, sliceMs = 1): Promise<{ compact: Buffer; pretty: Buffer }> {
  const compact: Buffer[] = [];
  const pretty: Buffer[] = [];
  let since = performance.now();
  for (const [id, e] of snapshot) {
    compact.push(compactMember.of(id, e));
    pretty.push(prettyMember.of(id, e));
    if (performance.now() - since >= sliceMs) {
      await pause();
      since = performance.now();
    }
  }
  return { compact: joined(compact, COMMA, "{", "}", "{}"), pretty: joined(pretty, COMMA_NL, "{\n", "\n  }", "{}") };
}

/**
 * The bytes of JSON.stringify(obj) for an object whose members are obj's and then `last` (key and the
 * value's JSON bytes, in order).
 */
export function compactWithLast(obj: Record<string, unknown>, last: ReadonlyArray<readonly [string, Uint8Array]>): Buffer {
  const head = JSON.stringify(obj);
  const parts: Uint8Array[] = [Buffer.from(head.slice(0, -1))];
  last.forEach(([key, value], i) => parts.push(Buffer.from(`${i === 0 && head === "{}" ? "" : ","}${JSON.stringify(key)}:`), value));
  parts.push(Buffer.from("}"));
  return Buffer.concat(parts);
}

/**
 * The bytes of JSON.stringify(obj, null, 2) for an object whose last member is `key`, with
 * `valueText` (JSON bytes, already indented for depth 1) as its value.
 */
export function prettyWithLast(obj: Record<string, unknown>, key: string, valueText: Uint8Array): Buffer {
  const head = JSON.stringify(obj, null, 2);
  const sep = head === "{}" ? "{\n" : `${head.slice(0, -2)},\n`;
  return Buffer.concat([Buffer.from(`${sep}  ${JSON.stringify(key)}: `), valueText, Buffer.from("\n}")]);
}

const stageEntryMember = new MemberCache<StageEntry>((epic, s) => `${JSON.stringify(epic)}:${JSON.stringify(s)}`);

/**
 * The bytes of JSON.stringify(agentViewToJson(v)) (agent-jobs.ts), the checkpoint's `agents`: one
 * stage entry per epic, each made once per change (a new entry is a new object), and the live jobs.
 */
export function agentViewBytes(v: AgentView): Buffer {
  const entries: Buffer[] = [];
  v.stageEntries.forEach((s, epic) => void entries.push(stageEntryMember.of(epic, s)));
  return Buffer.concat([Buffer.from('{"stage_entries":'), joined(entries, COMMA, "{", "}", "{}"), Buffer.from(`,"jobs":${JSON.stringify(liveJobs(v))}}`)]);
}
