/**
 * The epics of a checkpoint and of state.json as JSON, without serialising every epic at every
 * checkpoint (issue 17.3: at 1,520 epics the two JSON.stringify calls held the event loop ~5–7 ms once
 * a second, in front of whatever drop came then). An epic's state is an immutable value — each change
 * is a new object (log/replay.ts sets the entry's `state`) — so its text is cached by object identity
 * and only the epics changed since the last checkpoint are serialised again.
 *
 * The text is byte-for-byte what JSON.stringify gives for the same object (tested): compact for the
 * checkpoint, two-space indented at the depth state.json nests epics. It is made as UTF-8 bytes in
 * parts (a list of buffers, the cached members themselves, nothing joined), written with one writev
 * and MAC'd part by part: as strings, a checkpoint at 1,120 epics built ~5 MiB on the daemon's heap
 * (the parts, their joins, slices and copies of the whole), so a minor GC of 2–6 ms came every couple
 * of seconds and landed in front of a drop; joined into one buffer, the ~2 MiB of buffers a checkpoint
 * made counted as external memory and brought on a full GC of 7–11 ms every ~30 checkpoints.
 */
import type { Epic } from "../../schemas/types.gen.js";
import { liveJobs, type AgentView, type StageEntry } from "../../log/agent-jobs.js";

/**
 * An object's member with the separator that goes before it (`,"<key>":<JSON>`, or the pretty form)
 * as UTF-8 bytes, cached by the value's identity with its key (a value is never mutated once made: a
 * change is a new object). The first member of an object is written without its separator.
 */
class MemberCache<V extends object> {
  private readonly cache = new WeakMap<V, { key: string; bytes: Buffer }>();
  constructor(
    private readonly text: (key: string, value: V) => string,
    /** Bytes of the separator each text starts with. */
    readonly sep: number,
  ) {}
  of(key: string, value: V): Buffer {
    const hit = this.cache.get(value);
    if (hit?.key === key) return hit.bytes;
    const bytes = Buffer.from(this.text(key, value));
    this.cache.set(value, { key, bytes });
    return bytes;
  }
}

const compactMember = new MemberCache<Epic>((id, e) => `,${JSON.stringify(id)}:${JSON.stringify(e)}`, 1);
const prettyMember = new MemberCache<Epic>((id, e) => `,\n    ${JSON.stringify(id)}: ${JSON.stringify(e, null, 2).replace(/\n/g, "\n    ")}`, 2);
const stageEntryMember = new MemberCache<StageEntry>((epic, s) => `,${JSON.stringify(epic)}:${JSON.stringify(s)}`, 1);

const utf8 = (t: string): Buffer => Buffer.from(t);
const OPEN = utf8("{");
const CLOSE = utf8("}");
const OPEN_NL = utf8("{\n");
const CLOSE_NL = utf8("\n  }");
const EMPTY = utf8("{}");

/** Appends to `out` the parts of `{<members>}` (`{}` when there are none), members cached by `cache`. */
function putObject(out: Buffer[], members: readonly Buffer[], sep: number, open: Buffer, close: Buffer): void {
  if (!members.length) {
    out.push(EMPTY);
    return;
  }
  out.push(open, members[0]!.subarray(sep));
  for (let i = 1; i < members.length; i++) out.push(members[i]!);
  out.push(close);
}

/** The epics' members, both ways: what epicsTexts gives, for putEpics. */
export interface EpicsMembers {
  compact: Buffer[];
  pretty: Buffer[];
}

/**
 * The epics of a snapshot (ids and states, in the same order) as cached members, both ways: put in a
 * file with putEpics. Serialised a slice at a time: whenever a slice has taken `sliceMs` (ms), `pause`
 * is awaited, so the daemon's loop takes a drop that came meanwhile (issue 17.3: the checkpoint's
 * serialisation held the loop 5–20 ms once a second at 1,520 epics in a burst, and a drop then waited
 * behind it). Each state is an immutable value, so serialising it later gives the text it had when
 * the snapshot was taken.
 */
export async function epicsTexts(ids: readonly string[], states: readonly Epic[], pause: () => Promise<void>, sliceMs = 1): Promise<EpicsMembers> {
  const compact: Buffer[] = new Array<Buffer>(ids.length);
  const pretty: Buffer[] = new Array<Buffer>(ids.length);
  let since = performance.now();
  for (let i = 0; i < ids.length; i++) {
    compact[i] = compactMember.of(ids[i]!, states[i]!);
    pretty[i] = prettyMember.of(ids[i]!, states[i]!);
    if (performance.now() - since >= sliceMs) {
      await pause();
      since = performance.now();
    }
  }
  return { compact, pretty };
}

/**
 * Appends to `out` the epics as JSON: `compact` JSON.stringify(Object.fromEntries(epics)), or
 * `pretty` the value of `"epics"` in JSON.stringify(state, null, 2) where epics is a property of the
 * top object (state.json's).
 */
export function putEpics(out: Buffer[], m: EpicsMembers, form: "compact" | "pretty"): void {
  if (form === "compact") putObject(out, m.compact, compactMember.sep, OPEN, CLOSE);
  else putObject(out, m.pretty, prettyMember.sep, OPEN_NL, CLOSE_NL);
}

/**
 * The parts of JSON.stringify(obj) for an object whose members are obj's and then one member per
 * `last` entry: its key and a function that appends the parts of its JSON. The last part is "}".
 */
export function compactWithLast(obj: Record<string, unknown>, last: ReadonlyArray<readonly [string, (out: Buffer[]) => void]>): Buffer[] {
  const head = JSON.stringify(obj);
  const out: Buffer[] = [utf8(head.slice(0, -1))];
  last.forEach(([key, put], i) => {
    out.push(utf8(`${i === 0 && head === "{}" ? "" : ","}${JSON.stringify(key)}:`));
    put(out);
  });
  out.push(CLOSE);
  return out;
}

/**
 * The parts of JSON.stringify(obj, null, 2) for an object whose last member is `key`, whose value's
 * parts (JSON indented for depth 1) `put` appends.
 */
export function prettyWithLast(obj: Record<string, unknown>, key: string, put: (out: Buffer[]) => void): Buffer[] {
  const head = JSON.stringify(obj, null, 2);
  const out: Buffer[] = [utf8(`${head === "{}" ? "{\n" : `${head.slice(0, -2)},\n`}  ${JSON.stringify(key)}: `)];
  put(out);
  out.push(utf8("\n}"));
  return out;
}

/**
 * Appends to `out` the parts of JSON.stringify(agentViewToJson(v)) (agent-jobs.ts), the checkpoint's
 * `agents`: one stage entry per epic, each made once per change (a new entry is a new object), and
 * the live jobs.
 */
export function putAgentView(out: Buffer[], v: AgentView): void {
  const entries: Buffer[] = new Array<Buffer>(v.stageEntries.size);
  let i = 0;
  v.stageEntries.forEach((s, epic) => void (entries[i++] = stageEntryMember.of(epic, s)));
  out.push(utf8('{"stage_entries":'));
  putObject(out, entries, stageEntryMember.sep, OPEN, CLOSE);
  out.push(utf8(`,"jobs":${JSON.stringify(liveJobs(v))}}`));
}
