/**
 * A path the watcher or a scan reported → a Prepared input for the engine, or a reason to wait or to
 * skip. Applies the settle rule of PROTOCOL §3 (settle.ts): a file that arrived whole (renamed or
 * linked into place) is taken at once; one written in place only once it has stayed unchanged for
 * settle_ms, whether or not it parses; and a whole file that does not parse is rejected only after
 * settle_ms too.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Pipeline } from "../../config/pipeline.js";
import { errorsOf, issue, type Issue } from "../../errors/issue.js";
import { inputMarks, type CommandInput, type StraySays, type World } from "../../machine/decide.js";
import { formatOf, parseDocument } from "../../schemas/parse.js";
import { interpretArtifact, interpretMessage } from "../../schemas/interpret.js";
import type { Prepared } from "../../engine/engine.js";
import { classifyPath } from "./classify.js";
import { readCandidate } from "./read-input.js";
import type { Arrivals } from "./arrivals.js";
import { settleVerdict } from "./settle.js";

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
  if (c.kind === "invalid") {
    const name = rel.slice(rel.lastIndexOf("/") + 1);
    const isMessage = rel.startsWith("messages/");
    const input = isMessage
      ? { type: "message" as const, file: rel, inbox: c.author ?? "unknown", sha256: sha(`path:${rel}`), issues: [c.issue] }
      : { type: "artifact" as const, file: rel, name, sha256: sha(`path:${rel}`), issues: [c.issue], mtime: new Date(ctx.now).toISOString() };
    return { kind: "ready", item: { input, key: `${rel}@path` } };
  }
  if (c.kind === "request") return prepareRequest(rel, c.id, ctx);

  // the event counter before the read: an event that arrives during it means the bytes may be stale
  const gen = ctx.arrivals?.gen(rel) ?? 0;
  const r = await readCandidate(ctx.root, ctx.realRoot, rel, ctx.pipeline.maxFileBytes);
  if (!r.ok) {
    if ("gone" in r) return { kind: "skip", why: "vanished or not a file" };
    const base = { file: rel, sha256: sha(`unread:${rel}:${r.issue.found ?? ""}`), issues: [r.issue] };
    if (c.kind === "stray") return { kind: "ready", item: { input: { type: "stray", file: rel, sha256: base.sha256, reason: `${c.reason}; ${r.issue.message}`, ...(c.suggest ? { suggest: c.suggest } : {}), says: {} }, key: `${rel}@${base.sha256}` } };
    const input = c.kind === "message" ? { type: "message" as const, inbox: c.inbox, ...base } : { type: "artifact" as const, name: c.name, ...(c.folder ? { folder: c.folder } : {}), mtime: new Date(ctx.now).toISOString(), ...base };
    return { kind: "ready", item: { input, key: `${rel}@${base.sha256}` } };
  }
  const arrivals = ctx.arrivals;
  const facts = {
    arrival: arrivals?.arrival(rel) ?? ("closed" as const),
    size: r.size,
    mtimeMs: r.mtimeMs,
    ctimeMs: r.ctimeMs,
    now: ctx.now,
    settleMs: ctx.pipeline.settleMs,
    sameSince: arrivals ? arrivals.sameSince(rel, r.size, r.mtimeMs, r.ctimeMs, ctx.now) : Math.min(ctx.now, r.mtimeMs),
    ...(arrivals?.changeEventAt(rel) !== undefined ? { changeEventAt: arrivals.changeEventAt(rel)! } : {}),
  };
  const early = settleVerdict({ ...facts, invalid: false });
  if (!early.take) return { kind: "wait", ms: early.waitMs, why: early.why };
  const mtime = new Date(r.mtimeMs).toISOString();
  let issues: Issue[];
  let item: Prepared;
  if (c.kind === "stray") {
    const input = { type: "stray" as const, file: rel, sha256: r.sha256, reason: c.reason, ...(c.suggest ? { suggest: c.suggest } : {}), says: whatItSays(c.rel, r.bytes) };
    return { kind: "ready", item: { input, key: `${rel}@${r.sha256}` }, ...(early.confirm ? { confirm: { gen, size: r.size, mtimeMs: r.mtimeMs } } : {}) };
  }
  if (c.kind === "message") {
    const m = interpretMessage(c.name, r.bytes, c.inbox);
    issues = m.issues;
    const input = { type: "message" as const, file: rel, inbox: c.inbox, sha256: r.sha256, issues: m.issues, ...(m.doc ? { doc: m.doc } : {}) };
    item = { input, ...inputMarks(ctx.world, input) };
  } else {
    const a = ctx.pipeline.stageOfArtifact(c.name)
      ? interpretArtifact(c.name, r.bytes)
      : { issues: [issue("UNKNOWN_ARTIFACT", { message: `${c.name} is not an artifact of any stage`, found: c.name, expected: `one of ${ctx.pipeline.stages.flatMap((s) => s.artifacts).join(", ")}` })] };
    issues = a.issues;
    const input = { type: "artifact" as const, file: rel, name: c.name, ...(c.folder ? { folder: c.folder } : {}), sha256: r.sha256, issues: a.issues, mtime, ...("doc" in a && a.doc !== undefined ? { doc: a.doc } : {}) };
    item = { input, ...inputMarks(ctx.world, input), bytes: r.bytes };
  }
  const verdict = errorsOf(issues).length > 0 ? settleVerdict({ ...facts, invalid: true }) : early;
  if (!verdict.take) return { kind: "wait", ms: verdict.waitMs, why: verdict.why };
  return { kind: "ready", item, ...(verdict.confirm ? { confirm: { gen, size: r.size, mtimeMs: r.mtimeMs } } : {}) };
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

/** A command a CLI process handed to the running daemon (start, override, cancel). */
async function prepareRequest(rel: string, id: string, ctx: PrepContext): Promise<Prep> {
  let text: string;
  try {
    text = await readFile(join(ctx.root, rel), "utf8");
  } catch {
    return { kind: "skip", why: "request vanished" };
  }
  const parsed = parseDocument(new TextEncoder().encode(text), "json");
  const cmd = parsed.value as CommandInput | undefined;
  if (!cmd || !["start", "override", "cancel"].includes(cmd.type)) {
    return { kind: "skip", why: "not a request" };
  }
  return { kind: "ready", item: { input: cmd, key: `request:${id}` }, request: id };
}
