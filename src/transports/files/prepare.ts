/**
 * A path the watcher or a scan reported → a Prepared input for the engine, or a reason to wait or to
 * skip. Applies the settle rule of PROTOCOL §3 (settle.ts): a file that arrived whole (renamed or
 * linked into place) is taken at once; one written in place only once it has stayed unchanged for
 * settle_ms, whether or not it parses; and a whole file that does not parse is rejected only after
 * settle_ms too. prepareContent, prepareInvalid and prepareUnreadable are shared with the rows
 * transport (a file a bridge mirrored into a database), so both apply the same rules.
 */
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { join } from "node:path";
import { EPIC_ID, ROLE } from "../../config/names.js";
import type { Pipeline } from "../../config/pipeline.js";
import { errorsOf, issue, shellArg, type Issue } from "../../errors/issue.js";
import { inputMarks, type CommandInput, type StraySays, type Transport, type World } from "../../machine/decide.js";
import { formatOf, parseDocument } from "../../schemas/parse.js";
import { interpretArtifact, interpretMessage } from "../../schemas/interpret.js";
import type { Prepared } from "../../engine/engine.js";
import { classifyPath, type Classified } from "./classify.js";
import { heldByFolder } from "./scan.js";
import { linkedFolderIssue, readCandidate } from "./read-input.js";
import { readClaim } from "../placement.js";
import { agentUsersOf, FOREIGN_WRITE, proveFile, trustOf, type AgentUsers, type BatchKeys } from "../prove.js";
import { kindOf } from "../../store/fs/guarded-read.js";
import { entryIdOf, type EntryId } from "../../store/fs/entry-aside.js";
import { joinFast, lstatQuiet } from "../../store/fs/safe-dirs.js";
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

/**
 * An entry at a drop's name whose bytes were not read (not a regular file, too large, a second name):
 * what lstat said of it (set-aside.ts moves it by that alone) and, when not a regular file, what it is
 * ("a folder").
 */
export interface Held {
  entry: EntryId;
  found?: string;
}

export type Prep =
  | { kind: "ready"; item: Prepared; request?: string; confirm?: ReadStamp; held?: Held }
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
  /**
   * The daemon keyring for the proofs, as keyringOf found it when the batch was taken (the daemon
   * stats the key file once a batch, not once a file); a claim it does not prove is proven again with
   * the key file as it is then (a rotation during the batch). Absent: asked per file.
   */
  keys?: BatchKeys;
}

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

export async function prepare(rel: string, ctx: PrepContext): Promise<Prep> {
  const c = classifyPath(rel);
  if (c.kind === "ignored") return { kind: "skip", why: c.reason };
  if (c.kind === "invalid") return prepareInvalid(c, ctx.now);
  // sealed with the daemon key and checked against its schema, or refused and reported (requests.ts)
  if (c.kind === "request") return prepareRequest(layoutOf(ctx.root), rel, c.id);

  // an artifact's name: what holds it, as lstat says (never followed, never opened)
  // (one lstatSync, ~2 µs of CPU: on the daemon's thread like the read, issue 17.2)
  const st = c.kind === "artifact" ? lstatQuiet(joinFast(ctx.root, rel)) : undefined;
  // the OS users of the roles (cached per config version): a held entry's proof needs no key (no claim)
  const trust = st ? agentUsersOf(ctx.pipeline) : undefined;
  // a drop zone's folder (an epic's artifacts/<EPIC>, a role's inbox) that is not a folder: a link
  // (never followed by the watcher or the scan: nothing dropped through it would be read), a FIFO, a
  // socket. Refused unread, the entry naming the epic or the role whose folder it is (review rv8).
  const zone = zoneFolderOf(c, ctx.pipeline);
  const at = zone ? (st ?? lstatQuiet(joinFast(ctx.root, rel))) : undefined;
  const notFolder = zone && at ? notAFolderAt(zone, at, ctx.root, ctx.realRoot, rel) : undefined;
  if (zone && at && notFolder) {
    const p = prepareUnreadable(zone.as, notFolder, ctx.now);
    return st && trust && !at.isSymbolicLink() ? heldBy(p, st, kindOf(at), trust, ctx.now) : p;
  }
  if (c.kind === "artifact" && st && trust && holdsByEntry(c, st, ctx.pipeline, trust)) {
    const found = kindOf(st);
    return heldBy(prepareUnreadable(c, entryIssue(rel, found), ctx.now), st, found, trust, ctx.now);
  }
  // the event counter before the read: an event that arrives during it means the bytes may be stale
  const gen = ctx.arrivals?.gen(rel) ?? 0;
  const r = await readCandidate(ctx.root, ctx.realRoot, rel, ctx.pipeline.maxFileBytes);
  if (!r.ok) {
    if ("gone" in r) return { kind: "skip", why: "vanished or not a file" };
    // linked into place (PROTOCOL §3: link, then remove the temporary): two names for a moment. A second
    // name that stays past the settle time is refused (a link to a file elsewhere).
    if (r.issue.code === "HARD_LINK" && r.ctimeMs !== undefined && ctx.now - r.ctimeMs < ctx.pipeline.settleMs) {
      return { kind: "wait", ms: Math.max(1, Math.ceil(r.ctimeMs + ctx.pipeline.settleMs - ctx.now)), why: "a second name: waiting for the temporary to be removed" };
    }
    const p = prepareUnreadable(c, r.issue, ctx.now);
    // too large, a second name, a link out of the root: who holds the name still says whose it is
    if (st && trust) return heldBy(p, st, st.isFile() ? undefined : kindOf(st), trust, ctx.now);
    // a message's name the same (a link's own owner, lstat: never the file it points to), so its
    // author is the one told the fix, not only the role whose inbox holds it (review rv8)
    const held = c.kind === "message" ? lstatQuiet(joinFast(ctx.root, rel)) : undefined;
    return held ? provenByEntry(p, held, agentUsersOf(ctx.pipeline), ctx.now) : p;
  }
  // A file placed by the MCP server (or another placing transport) says so beside it (placement.ts).
  if (c.kind === "stray") return prepareContent(c, r, ctx, "files", gen);
  // read through a symbolic link (inside the root): the link's owner put it at the name, not the
  // target's, whose file it may only have pointed at (another role's drop): the link's owner speaks
  const named = st ?? (c.kind === "message" ? lstatQuiet(joinFast(ctx.root, rel)) : undefined);
  const uid = named?.isSymbolicLink() ? named.uid : r.uid;
  // only a claim of the user who put the file there speaks for it (another's, at a name it could predict, is none)
  const claim = await readClaim(ctx.root, ctx.realRoot, rel, r.sha256, uid);
  const p = prepareContent(c, r, ctx, claim?.transport ?? "files", gen);
  // who wrote it, as far as the file's owner or its claim proves (prove.ts); decide() holds it against what it says
  if (p.kind === "ready" && (p.item.input.type === "artifact" || p.item.input.type === "message")) {
    let proof = proveFile(await trustOf(ctx.root, ctx.pipeline, ctx.keys), rel, r.sha256, uid, r.mode, claim, ctx.now);
    // the batch's keyring was read before this claim: one it does not prove is proven again with the
    // key file as it is now (rotated since the batch began), as when the key file was stat'ed per file
    if (ctx.keys && claim && (proof.by === "invalid" || proof.by === "none")) proof = proveFile(await trustOf(ctx.root, ctx.pipeline), rel, r.sha256, uid, r.mode, claim, ctx.now);
    p.item.input.proof = proof;
  }
  return p;
}

type Readable = Extract<Classified, { kind: "artifact" | "message" | "stray" }>;

/** A role's inbox folder itself (messages/inbox/<role>), which classify.ts calls a stray at its level. */
const INBOX_FOLDER = /^messages\/inbox\/([^/]+)$/;

/**
 * Where a drop zone's folder goes, by its path alone: a flat artifact's name that is an epic id and
 * no stage's file (artifacts/<EPIC>), or a role's inbox (messages/inbox/<role>). `as`: the input for
 * an entry there that is not a folder (an artifact named "" in that epic's folder; a message named ""
 * in that inbox), `holds`: what the folder is for, in the fix. Pure.
 */
export function zoneFolderOf(c: Classified, pipeline: Pick<Pipeline, "stageOfArtifact">): { as: Readable; holds: string } | undefined {
  if (c.kind === "artifact" && c.folder === undefined && EPIC_ID.test(c.name) && pipeline.stageOfArtifact(c.name) === undefined) {
    return { as: { kind: "artifact", rel: c.rel, name: "", folder: c.name }, holds: "the epic's files" };
  }
  const role = c.kind === "stray" ? INBOX_FOLDER.exec(c.rel)?.[1] : undefined;
  if (role !== undefined && ROLE.test(role)) return { as: { kind: "message", rel: c.rel, name: "", inbox: role }, holds: `the messages to ${role}` };
  return undefined;
}

/**
 * The issue of what stands where a drop zone's folder goes (`rel`, `zone`: zoneFolderOf) when it is no
 * folder, judged by its lstat `at` alone (never opened, never followed): a link (linkedFolderIssue), a
 * FIFO, a socket, a device; undefined for a folder or a regular file (read as before). The one rule for
 * the file transport (prepare) and the bridge, so the fix says mkdir wherever it was seen.
 */
export function notAFolderAt(zone: { holds: string }, at: Stats, root: string, realRoot: string, rel: string): Issue | undefined {
  if (at.isFile() || at.isDirectory()) return undefined;
  return at.isSymbolicLink() ? linkedFolderIssue(root, realRoot, rel, zone.holds) : notAFolderIssue(rel, kindOf(at), zone.holds);
}

/** The issue of an entry that is not a folder (a FIFO, a socket) where a drop zone's folder goes. Pure. */
function notAFolderIssue(rel: string, found: string, holds: string): Issue {
  return issue("NOT_REGULAR_FILE", {
    message: `${rel} is ${found}, not a folder: not read, and nothing can be dropped in it`,
    file: rel,
    found,
    expected: "a folder",
    fix: `Remove it (\`rm ${shellArg(rel)}\`), make the folder (\`mkdir ${shellArg(rel)}\`) and drop ${holds} in it.`,
  });
}

/**
 * Whether the entry at an artifact's name is decided as what it is, unread, rather than read as a
 * file: a FIFO, socket or device (never opened); a folder at a name a stage's artifact has (not an
 * epic's folder, artifacts/<EPIC>); a symbolic link an agent's OS user made at such a name (not
 * followed: the link holds the name, whatever it points to; a link of a person's or the daemon's is
 * read as before, refused when it leads out of the root or into .consensus/, answered when it leads
 * nowhere or to a folder: read-input.ts). A regular file is read. Pure.
 */
export function holdsByEntry(c: Extract<Classified, { kind: "artifact" }>, st: Pick<Stats, "isFile" | "isDirectory" | "isSymbolicLink" | "uid">, pipeline: Pick<Pipeline, "stageOfArtifact">, users: AgentUsers): boolean {
  if (st.isFile()) return false;
  const named = pipeline.stageOfArtifact(c.name) !== undefined;
  if (st.isDirectory()) return named && heldByFolder(c);
  if (st.isSymbolicLink()) return named && (users.roleOfUid.has(st.uid) || users.shared.has(st.uid));
  return true;
}

/** The issue of an entry that is not a regular file at a drop's name: what it is and how to clear the name. Pure. */
export function entryIssue(rel: string, found: string): Issue {
  const fix =
    found === "a folder"
      ? `Remove the folder (\`rm -r ${shellArg(rel)}\`) and drop a regular file, written to a temporary name first, then renamed into place.`
      : found === "a symbolic link"
        ? `Remove the link (\`rm ${shellArg(rel)}\`) and copy the file into place (written to a temporary name first, then renamed): the daemon does not follow an agent's link.`
        : `Remove it (\`rm ${shellArg(rel)}\`) and write a regular file in its place.`;
  return issue("NOT_REGULAR_FILE", { message: `${rel} is ${found}, not a regular file: not read`, file: rel, found, fix });
}

/**
 * An unread entry's input with who holds its name: the proof of its owner (lstat's uid) and what
 * set-aside.ts needs to move it unread. Its bytes are not taken (none are read), so who else could
 * write into it proves nothing: for what is not a regular file the mode's group and other write bits
 * are not held against its owner. A regular file (too large, a second name) keeps the rule of prove.ts.
 */
function heldBy(p: Prep, st: Stats, found: string | undefined, trust: AgentUsers, now: number): Prep {
  if (p.kind !== "ready" || p.item.input.type !== "artifact") return p;
  provenByEntry(p, st, trust, now);
  return { ...p, held: { entry: entryIdOf(st), ...(found ? { found } : {}) } };
}

/** An unread artifact's or message's input with the proof of who holds its name (heldBy's rule), nothing to move. */
function provenByEntry(p: Prep, st: Stats, trust: AgentUsers, now: number): Prep {
  if (p.kind !== "ready" || (p.item.input.type !== "artifact" && p.item.input.type !== "message")) return p;
  const mode = st.isFile() ? st.mode : st.mode & ~FOREIGN_WRITE;
  p.item.input.proof = proveFile(trust, p.item.input.file, p.item.input.sha256, st.uid, mode, undefined, now);
  return p;
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
export function prepareUnreadable(c: Readable, problem: Issue, now: number, transport: Transport = "files"): Prep {
  const rel = c.rel;
  const base = { file: rel, sha256: sha(`unread:${rel}:${problem.found ?? ""}`), issues: [problem] };
  if (c.kind === "stray") return { kind: "ready", item: { input: { type: "stray", file: rel, sha256: base.sha256, reason: `${c.reason}; ${problem.message}`, ...(c.suggest ? { suggest: c.suggest } : {}), says: {} }, key: `${rel}@${base.sha256}` } };
  const input = c.kind === "message" ? { type: "message" as const, transport, inbox: c.inbox, ...base } : { type: "artifact" as const, transport, name: c.name, ...(c.folder ? { folder: c.folder } : {}), mtime: new Date(now).toISOString(), ...base };
  return { kind: "ready", item: { input, key: `${rel}@${base.sha256}` } };
}

/** The settle rule's answer for one read: take it (with the stamp to confirm the read against), or wait. */
export type Settled = { take: true; confirm?: ReadStamp } | { take: false; ms: number; why: string };

/**
 * The settle rule (settle.ts) for a file read whole from the folder, by what `ctx.arrivals` says of
 * how it arrived (no arrivals: its writer closed it, so it is complete). `isInvalid` is asked only
 * for a file that is otherwise whole: one that does not parse or validate yet waits out settle_ms.
 * `gen` is the arrivals' event counter before the read. The daemon's file transport and the bridge
 * (a folder mirrored into a database) both decide by this, so a file counts as whole the same way.
 */
export function settleRead(rel: string, r: { size: number; mtimeMs: number; ctimeMs: number }, ctx: Pick<PrepContext, "pipeline" | "now" | "arrivals">, gen: number, isInvalid: () => boolean): Settled {
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
  if (!early.take) return { take: false, ms: early.waitMs, why: early.why };
  const verdict = isInvalid() ? settleVerdict({ ...facts, invalid: true }) : early;
  if (!verdict.take) return { take: false, ms: verdict.waitMs, why: verdict.why };
  return { take: true, ...(verdict.confirm ? { confirm: { gen, size: r.size, mtimeMs: r.mtimeMs } } : {}) };
}

/**
 * A file's content read whole (from the folder, or from a row a bridge mirrored) → the input, or a
 * reason to wait (the settle rule, settleRead). `r.size`/`r.ctimeMs` default to the bytes' length and
 * the mtime (a mirrored row has no ctime); `gen` is the arrivals' event counter before the read.
 */
export function prepareContent(c: Readable, r: { bytes: Uint8Array; sha256: string; mtimeMs: number; size?: number; ctimeMs?: number }, ctx: Pick<PrepContext, "pipeline" | "world" | "now" | "arrivals">, transport: Transport = "files", gen = 0): Prep {
  const rel = c.rel;
  const read = { size: r.size ?? r.bytes.length, mtimeMs: r.mtimeMs, ctimeMs: r.ctimeMs ?? r.mtimeMs };
  // interpreted only once the file may be whole (a half file is not parsed on every retry)
  let built: { issues: Issue[]; item: Prepared } | undefined;
  const build = (): { issues: Issue[]; item: Prepared } => (built ??= interpretRead(c, r, ctx, transport));
  const s = settleRead(rel, read, ctx, gen, () => c.kind !== "stray" && errorsOf(build().issues).length > 0);
  if (!s.take) return { kind: "wait", ms: s.ms, why: s.why };
  return { kind: "ready", item: build().item, ...(s.confirm ? { confirm: s.confirm } : {}) };
}

/** The bytes interpreted and validated as what their path says they are (a stray: what it says of itself). */
function interpretRead(c: Readable, r: { bytes: Uint8Array; sha256: string; mtimeMs: number }, ctx: Pick<PrepContext, "pipeline" | "world">, transport: Transport): { issues: Issue[]; item: Prepared } {
  const rel = c.rel;
  if (c.kind === "stray") {
    const input = { type: "stray" as const, file: rel, sha256: r.sha256, reason: c.reason, ...(c.suggest ? { suggest: c.suggest } : {}), says: whatItSays(c.rel, r.bytes) };
    return { issues: [], item: { input, key: `${rel}@${r.sha256}` } };
  }
  if (c.kind === "message") {
    const m = interpretMessage(c.name, r.bytes, c.inbox);
    const input = { type: "message" as const, transport, file: rel, inbox: c.inbox, sha256: r.sha256, issues: m.issues, ...(m.doc ? { doc: m.doc } : {}) };
    return { issues: m.issues, item: { input, ...inputMarks(ctx.world, input) } };
  }
  const a = ctx.pipeline.stageOfArtifact(c.name)
    ? interpretArtifact(c.name, r.bytes)
    : { issues: [issue("UNKNOWN_ARTIFACT", { message: `${c.name} is not an artifact of any stage`, found: c.name, expected: `one of ${ctx.pipeline.stages.flatMap((s) => s.artifacts).join(", ")}` })] };
  const input = { type: "artifact" as const, transport, file: rel, name: c.name, ...(c.folder ? { folder: c.folder } : {}), sha256: r.sha256, issues: a.issues, mtime: new Date(r.mtimeMs).toISOString(), ...("doc" in a && a.doc !== undefined ? { doc: a.doc } : {}) };
  return { issues: a.issues, item: { input, ...inputMarks(ctx.world, input), bytes: r.bytes } };
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
