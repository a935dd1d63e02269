/**
 * A path the watcher or a scan reported → a Prepared input for the engine, or a reason to wait or to
 * skip. Applies the settle rule of PROTOCOL §3 (settle.ts): a file that arrived whole (renamed or
 * linked into place) is taken at once; one written in place only once it has stayed unchanged for
 * settle_ms, whether or not it parses; and a whole file that does not parse is rejected only after
 * settle_ms too. prepareContent, prepareInvalid and prepareUnreadable are shared with the rows
 * transport (a file a bridge mirrored into a database), so both apply the same rules.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Pipeline } from "../../config/pipeline.js";
import { errorsOf, issue, type Issue } from "../../errors/issue.js";
import { inputMarks, type CommandInput, type StraySays, type Transport, type World } from "../../machine/decide.js";
import { formatOf, parseDocument } from "../../schemas/parse.js";
import { interpretArtifact, interpretMessage } from "../../schemas/interpret.js";
import type { Prepared } from "../../engine/engine.js";
import { classifyPath, type Classified } from "./classify.js";
import { readCandidate } from "./read-input.js";
import { CAP, readGuardedText } from "../../store/fs/guarded-read.js";
import { readClaim } from "../placement.js";
import type { Arrivals } from "./arrivals.js";
import { settleVerdict } from "./settle.js";
import { prepareRequest } from "./requests.js";
import { layoutOf } from "../../store/fs/layout.js";

/** What the reader saw, to confirm after the read that nothing changed under it (the event counter and the file's size and mtime). */
export interface ReadStamp {
  gen: number;
  size: number;
  mtimeMs: number;
}

export type Prep =
  | { kind: "ready"; item: Prepared; request?: string; confirm?: ReadStamp }
  | { kind: "wait"; ms: number; why: string }
  | { kind: "skip"; why: string };

export interface PrepContext {
  root: string;
  realRoot: string;
  pipeline: Pipeline;
  world: World;
  /** ms since the epoch. */
  now: number;
  /** What the watcher said about each path; absent when the caller wrote the file itself (it is complete). */
  arrivals?: Arrivals;
}

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

export async function prepare(rel: string, ctx: PrepContext): Promise<Prep> {
  const c = classifyPath(rel);
  if (c.kind === "ignored") return { kind: "skip", why: c.reason };
  if (c.kind === "invalid") return prepareInvalid(c, ctx.now);
  // sealed with the daemon key and checked against its schema, or refused and reported (requests.ts)
  if (c.kind === "request") return prepareRequest(layoutOf(ctx.root), rel, c.id);

  // the event counter before the read: an event that arrives during it means the bytes may be stale
  const gen = ctx.arrivals?.gen(rel) ?? 0;
  const r = await readCandidate(ctx.root, ctx.realRoot, rel, ctx.pipeline.maxFileBytes);
  if (!r.ok) {
    if ("gone" in r) return { kind: "skip", why: "vanished or not a file" };
    return prepareUnreadable(c, r.issue, ctx.now);
  }
  // A file placed by the MCP server (or another placing transport) says so beside it (placement.ts).
  const transport: Transport = c.kind === "stray" ? "files" : ((await readClaim(ctx.root, ctx.realRoot, rel, r.sha256))?.transport ?? "files");
  return prepareContent(c, r, ctx, transport, gen);
}

type Readable = Extract<Classified, { kind: "artifact" | "message" | "stray" }>;

/** A path refused by its name alone (unsafe, bad epic id or role): rejected once per path. */
export function prepareInvalid(c: Extract<Classified, { kind: "invalid" }>, now: number, transport: Transport = "files"): Prep {
  const rel = c.rel;
  const name = rel.slice(rel.lastIndexOf("/") + 1);
  const isMessage = rel.startsWith("messages/");
  const input = isMessage
    ? { type: "message" as const, transport, file: rel, inbox: c.author ?? "unknown", sha256: sha(`path:${rel}`), issues: [c.issue] }
    : { type: "artifact" as const, transport, file: rel, name, sha256: sha(`path:${rel}`), issues: [c.issue], mtime: new Date(now).toISOString() };
  return { kind: "ready", item: { input, key: `${rel}@path` } };
}

/** A file that cannot be taken as it is (over the size cap, a link out of the root, unreadable): rejected with the issue. */
export function prepareUnreadable(c: Readable, problem: Issue, now: number, transport: Transport = "files"): Prep {
  const rel = c.rel;
  const base = { file: rel, sha256: sha(`unread:${rel}:${problem.found ?? ""}`), issues: [problem] };
  if (c.kind === "stray") return { kind: "ready", item: { input: { type: "stray", file: rel, sha256: base.sha256, reason: `${c.reason}; ${problem.message}`, ...(c.suggest ? { suggest: c.suggest } : {}), says: {} }, key: `${rel}@${base.sha256}` } };
  const input = c.kind === "message" ? { type: "message" as const, transport, inbox: c.inbox, ...base } : { type: "artifact" as const, transport, name: c.name, ...(c.folder ? { folder: c.folder } : {}), mtime: new Date(now).toISOString(), ...base };
  return { kind: "ready", item: { input, key: `${rel}@${base.sha256}` } };
}

/**
 * A file's content read whole (from the folder, or from a row a bridge mirrored) → the input, or a
 * reason to wait (the settle rule, settle.ts). `r.size`/`r.ctimeMs` default to the bytes' length and
 * the mtime (a mirrored row has no ctime); `gen` is the arrivals' event counter before the read.
 */
export function prepareContent(c: Readable, r: { bytes: Uint8Array; sha256: string; mtimeMs: number; size?: number; ctimeMs?: number }, ctx: Pick<PrepContext, "pipeline" | "world" | "now" | "arrivals">, transport: Transport = "files", gen = 0): Prep {
  const rel = c.rel;
  const size = r.size ?? r.bytes.length;
  const ctimeMs = r.ctimeMs ?? r.mtimeMs;
  const arrivals = ctx.arrivals;
  const facts = {
    arrival: arrivals?.arrival(rel) ?? ("closed" as const),
    size,
    mtimeMs: r.mtimeMs,
    ctimeMs,
    now: ctx.now,
    settleMs: ctx.pipeline.settleMs,
    sameSince: arrivals ? arrivals.sameSince(rel, size, r.mtimeMs, ctimeMs, ctx.now) : Math.min(ctx.now, r.mtimeMs),
    ...(arrivals?.changeEventAt(rel) !== undefined ? { changeEventAt: arrivals.changeEventAt(rel)! } : {}),
  };
  const early = settleVerdict({ ...facts, invalid: false });
  if (!early.take) return { kind: "wait", ms: early.waitMs, why: early.why };
  const stamp = { gen, size, mtimeMs: r.mtimeMs };
  const mtime = new Date(r.mtimeMs).toISOString();
  let issues: Issue[];
  let item: Prepared;
  if (c.kind === "stray") {
    const input = { type: "stray" as const, file: rel, sha256: r.sha256, reason: c.reason, ...(c.suggest ? { suggest: c.suggest } : {}), says: whatItSays(c.rel, r.bytes) };
    return { kind: "ready", item: { input, key: `${rel}@${r.sha256}` }, ...(early.confirm ? { confirm: stamp } : {}) };
  }
  if (c.kind === "message") {
    const m = interpretMessage(c.name, r.bytes, c.inbox);
    issues = m.issues;
    const input = { type: "message" as const, transport, file: rel, inbox: c.inbox, sha256: r.sha256, issues: m.issues, ...(m.doc ? { doc: m.doc } : {}) };
    item = { input, ...inputMarks(ctx.world, input) };
  } else {
    const a = ctx.pipeline.stageOfArtifact(c.name)
      ? interpretArtifact(c.name, r.bytes)
      : { issues: [issue("UNKNOWN_ARTIFACT", { message: `${c.name} is not an artifact of any stage`, found: c.name, expected: `one of ${ctx.pipeline.stages.flatMap((s) => s.artifacts).join(", ")}` })] };
    issues = a.issues;
    const input = { type: "artifact" as const, transport, file: rel, name: c.name, ...(c.folder ? { folder: c.folder } : {}), sha256: r.sha256, issues: a.issues, mtime, ...("doc" in a && a.doc !== undefined ? { doc: a.doc } : {}) };
    item = { input, ...inputMarks(ctx.world, input), bytes: r.bytes };
  }
  const verdict = errorsOf(issues).length > 0 ? settleVerdict({ ...facts, invalid: true }) : early;
  if (!verdict.take) return { kind: "wait", ms: verdict.waitMs, why: verdict.why };
  return { kind: "ready", item, ...(verdict.confirm ? { confirm: stamp } : {}) };
}
/** What a stray file says of itself (sender, recipient, epic, author), where it parses as JSON or YAML. */
export function whatItSays(rel: string, bytes: Uint8Array): StraySays {
  const format = formatOf(rel);
  if (format !== "json" && format !== "yaml") return {};
  const v = parseDocument(bytes, format).value;
  if (!v || typeof v !== "object" || Array.isArray(v)) return {};
  const o = v as Record<string, unknown>;
  const out: StraySays = {};
  for (const k of ["from", "to", "epic_id", "agent"] as const) if (typeof o[k] === "string" && (o[k] as string).length <= 64) out[k] = o[k] as string;
  return out;
}
