/**
 * Person commands handed to the running daemon through the private area: `.consensus/requests/<id>.json`
 * (written by the command line) and `<id>.result.json` (the daemon's answer). Both are sealed with the
 * daemon key (trust/sealed.ts) and every field is checked against its schema (schemas/request.schema.json,
 * request-result.schema.json), so a request an agent planted or edited — to cancel an epic, or override it
 * to promoted under any name — is never acted on and is reported (`request_refused`), and a fake answer to
 * a person's real command is never shown as the verdict.
 *
 * The author of a request (`by`) is the OS user who owns the request file (who ran the command line):
 * a sealed body naming anyone else is refused (REQUEST_NOT_YOURS), answered, and acted on by no one.
 *
 * Reads are bounded: opened with O_NOFOLLOW|O_NONBLOCK (a symlink or a FIFO named like a request never
 * blocks or redirects the daemon), checked after open (a regular file, at most MAX_REQUEST_BYTES).
 */
import { createHash } from "node:crypto";
import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { issue, type Issue } from "../../errors/issue.js";
import type { CommandInput } from "../../machine/decide.js";
import { validateKind } from "../../schemas/registry.js";
import { PRIVATE_FILE_MODE, writeAtomic } from "../../store/fs/atomic-write.js";
import { readBounded } from "../../store/fs/read-bounded.js";
import { keptOut, privateAreaDenied } from "../../store/fs/private-denied.js";
import type { Layout } from "../../store/fs/layout.js";
import { ensureKeyring } from "../../trust/key-file.js";
import { REQUEST_ID, openRecord, sealRecord } from "../../trust/sealed.js";
import { userNameOf } from "../../trust/os-identity.js";
import type { Prep } from "./prepare.js";

/** A request or result larger than this (bytes) is refused unread: 4 MiB holds a prune of 10,000 files. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** What a person command becomes on the way to the daemon (the transport is added on arrival). */
export type RequestCommand = Extract<CommandInput, { type: "start" | "override" | "cancel" | "prune" }>;

/** The daemon's answer to a request. */
export type RequestResult = { ok: boolean; duplicate?: boolean; entries?: Array<{ seq: number; decision: string; epic_id?: string }>; issues?: Issue[] };

/** The issues of a command against schemas/request.schema.json (empty: valid). Pure. */
export function requestIssues(cmd: unknown): Issue[] {
  const { transport: _t, ...rest } = (cmd && typeof cmd === "object" ? cmd : { cmd }) as Record<string, unknown>;
  return validateKind("request", rest).filter((i) => i.severity === "error").map((i) => ({ ...i, file: "request" }));
}

const requestPath = (L: Layout, id: string): string => join(L.requests, `${id}.json`);
export const resultPath = (L: Layout, id: string): string => join(L.requests, `${id}.result.json`);

/** The requests folder, 0700 whatever the umask. */
async function requestsFolder(L: Layout): Promise<void> {
  await mkdir(L.requests, { recursive: true, mode: 0o700 });
  await chmod(L.requests, 0o700);
}

/** Seals and writes a request for the daemon; returns its path. Throws if the key cannot be read or made. */
export async function writeRequest(L: Layout, id: string, cmd: RequestCommand): Promise<string> {
  const { keyring } = await ensureKeyring(L.dot);
  await requestsFolder(L);
  const path = requestPath(L, id);
  await writeAtomic(path, sealRecord(keyring, "request", id, cmd), { mode: PRIVATE_FILE_MODE, root: L.root });
  return path;
}

/** Seals and writes the daemon's answer to request `id`. */
export async function writeResult(L: Layout, id: string, result: RequestResult): Promise<void> {
  const { keyring } = await ensureKeyring(L.dot);
  await requestsFolder(L);
  await writeAtomic(resultPath(L, id), sealRecord(keyring, "result", id, result), { mode: PRIVATE_FILE_MODE, root: L.root });
}

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

/**
 * A request file the daemon was told of → the command to decide (keyed `request:<id>`, answered with a
 * result), or a refusal: unsealed, forged or edited → `request_refused`, reported once per content and
 * never answered; sealed but not a valid command → refused, answered with the schema's issues.
 */
export async function prepareRequest(L: Layout, rel: string, id: string): Promise<Prep> {
  const r = await readBounded(join(L.root, rel), MAX_REQUEST_BYTES);
  if (!r.ok && r.gone) return { kind: "skip", why: "request vanished" };
  const forged = (reason: string, sha256: string): Prep => ({
    kind: "ready",
    item: { input: { type: "request_refused", file: rel, sha256, reason, sealed: false, issues: [issue("REQUEST_FORGED", { message: `${rel}: ${reason}`, file: rel })] }, key: `${rel}@${sha256}` },
  });
  if (!r.ok) return forged(`the file ${r.why}`, r.sha256);
  if (!REQUEST_ID.test(id)) return forged("its name is not a request id the command line makes", r.sha256);
  const { keyring } = await ensureKeyring(L.dot);
  const opened = openRecord(keyring, "request", id, r.text);
  if (!opened.ok) return forged(opened.reason, r.sha256);
  const issues = requestIssues(opened.body);
  if (issues.length) {
    return { kind: "ready", item: { input: { type: "request_refused", file: rel, sha256: r.sha256, reason: "not a valid command", sealed: true, issues }, key: `request:${id}` }, request: id };
  }
  // `by` is who the file's owner is, never what the body says: a holder of the key (an agent running as
  // the daemon's user) could seal any name, but not own the file as another user
  const cmd = opened.body as RequestCommand;
  const owner = userNameOf(r.uid);
  if (cmd.by !== owner) {
    const found = issue("REQUEST_NOT_YOURS", { message: `${rel} says it is by OS user ${JSON.stringify(cmd.by)}, but the file is owned by ${owner} (uid ${r.uid})`, file: rel, path: "/by", expected: owner, found: String(cmd.by) });
    return { kind: "ready", item: { input: { type: "request_refused", file: rel, sha256: r.sha256, reason: `by ${JSON.stringify(cmd.by)}, but the file is owned by ${owner}`, sealed: true, issues: [found] }, key: `request:${id}` }, request: id };
  }
  return { kind: "ready", item: { input: { ...cmd, transport: "cli" }, key: `request:${id}` }, request: id };
}

/**
 * The daemon's answer to request `id`, once there is one that verifies. A result that does not verify
 * (planted, edited, not sealed) is reported through `onForged` (once per content) and read as no answer
 * yet: the daemon's real answer replaces it.
 */
export async function readResult(L: Layout, id: string, onForged: (reason: string, sha256: string) => void): Promise<RequestResult | undefined> {
  const r = await readBounded(resultPath(L, id), MAX_REQUEST_BYTES);
  // a result this user (not the area's owner) may not open is not a forged one: said as what it is
  if (!r.ok && !r.gone && r.denied && keptOut(L)) throw privateAreaDenied(L, resultPath(L, id), "the daemon's answer to this command");
  if (!r.ok) {
    if (!r.gone) onForged(`the file ${r.why}`, r.sha256);
    return undefined;
  }
  const { keyring } = await ensureKeyring(L.dot);
  const opened = openRecord(keyring, "result", id, r.text);
  if (!opened.ok) {
    // a half-written result is impossible (written whole, then renamed), so this is not ours
    onForged(opened.reason, r.sha256);
    return undefined;
  }
  const problems = validateKind("request-result", opened.body).filter((i) => i.severity === "error");
  if (problems.length) {
    onForged(`not a valid result: ${problems.map((p) => `${p.path ?? ""} ${p.message}`).join("; ")}`, r.sha256);
    return undefined;
  }
  return opened.body as RequestResult;
}
