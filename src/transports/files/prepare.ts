/**
 * A path the watcher or a scan reported → a Prepared input for the engine, or a reason to wait or to
 * skip. Applies the settle rule of PROTOCOL §3: a file that does not parse or validate is rejected
 * only once it has stayed unchanged for settle_ms (an in-place writer may still be writing), while a
 * valid file is taken at once.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Pipeline } from "../../config/pipeline.js";
import { errorsOf, issue, type Issue } from "../../errors/issue.js";
import { inputKey, type CommandInput, type Transport, type World } from "../../machine/decide.js";
import { parseDocument } from "../../schemas/parse.js";
import { interpretArtifact, interpretMessage } from "../../schemas/interpret.js";
import type { Prepared } from "../../engine/engine.js";
import { classifyPath, type Classified } from "./classify.js";
import { readCandidate } from "./read-input.js";
import { readClaim } from "../placement.js";

export type Prep =
  | { kind: "ready"; item: Prepared; request?: string }
  | { kind: "wait"; ms: number; why: string }
  | { kind: "skip"; why: string };

export interface PrepContext {
  root: string;
  realRoot: string;
  pipeline: Pipeline;
  world: World;
  now: number;
}

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

export async function prepare(rel: string, ctx: PrepContext): Promise<Prep> {
  const c = classifyPath(rel);
  if (c.kind === "ignored") return { kind: "skip", why: c.reason };
  if (c.kind === "invalid") return prepareInvalid(c, ctx.now);
  if (c.kind === "request") return prepareRequest(rel, c.id, ctx);

  const r = await readCandidate(ctx.root, ctx.realRoot, rel, ctx.pipeline.maxFileBytes);
  if (!r.ok) {
    if ("gone" in r) return { kind: "skip", why: "vanished or not a file" };
    return prepareUnreadable(c, r.issue, ctx.now);
  }
  // A file placed by the MCP server (or another placing transport) says so beside it (placement.ts).
  const transport: Transport = (await readClaim(ctx.root, ctx.realRoot, rel, r.sha256))?.transport ?? "files";
  return prepareContent(c, r, ctx, transport);
}

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
export function prepareUnreadable(c: Extract<Classified, { kind: "artifact" | "message" }>, problem: Issue, now: number, transport: Transport = "files"): Prep {
  const base = { transport, file: c.rel, sha256: sha(`unread:${c.rel}:${problem.found ?? ""}`), issues: [problem] };
  const input = c.kind === "message" ? { type: "message" as const, inbox: c.inbox, ...base } : { type: "artifact" as const, name: c.name, ...(c.folder ? { folder: c.folder } : {}), mtime: new Date(now).toISOString(), ...base };
  return { kind: "ready", item: { input, key: `${c.rel}@${base.sha256}` } };
}

/**
 * A file's content read whole (from the folder, or from a row a bridge mirrored) → the input, or a
 * reason to wait: one that does not parse or validate waits until it has been unchanged for settle_ms.
 */
export function prepareContent(c: Extract<Classified, { kind: "artifact" | "message" }>, r: { bytes: Uint8Array; sha256: string; mtimeMs: number }, ctx: Pick<PrepContext, "pipeline" | "world" | "now">, transport: Transport = "files"): Prep {
  const rel = c.rel;
  const mtime = new Date(r.mtimeMs).toISOString();
  let issues: Issue[];
  let item: Prepared;
  if (c.kind === "message") {
    const m = interpretMessage(c.name, r.bytes, c.inbox);
    issues = m.issues;
    const input = { type: "message" as const, transport, file: rel, inbox: c.inbox, sha256: r.sha256, issues: m.issues, ...(m.doc ? { doc: m.doc } : {}) };
    item = { input, key: inputKey(ctx.world, input) };
  } else {
    const a = ctx.pipeline.stageOfArtifact(c.name)
      ? interpretArtifact(c.name, r.bytes)
      : { issues: [issue("UNKNOWN_ARTIFACT", { message: `${c.name} is not an artifact of any stage`, found: c.name, expected: `one of ${ctx.pipeline.stages.flatMap((s) => s.artifacts).join(", ")}` })] };
    issues = a.issues;
    const input = { type: "artifact" as const, transport, file: rel, name: c.name, ...(c.folder ? { folder: c.folder } : {}), sha256: r.sha256, issues: a.issues, mtime, ...("doc" in a && a.doc !== undefined ? { doc: a.doc } : {}) };
    item = { input, key: inputKey(ctx.world, input), bytes: r.bytes };
  }
  if (errorsOf(issues).length > 0) {
    const age = ctx.now - r.mtimeMs;
    if (age < ctx.pipeline.settleMs) return { kind: "wait", ms: ctx.pipeline.settleMs - age + 5, why: "does not parse or validate yet; waiting for it to settle" };
  }
  return { kind: "ready", item };
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
  return { kind: "ready", item: { input: { ...cmd, transport: "cli" }, key: `request:${id}` }, request: id };
}
