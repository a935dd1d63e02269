/**
 * Changing state from a command, whether or not the daemon runs, without ever racing it: if a daemon
 * holds the root, the command is handed to it (a request file, or the dropped message itself) and we
 * wait, bounded, for its verdict; if not, the command takes the writer lease itself and runs the same
 * engine in-process. Two writers never append to the log at once. A daemon that died holding the lock
 * is named at once, and the command goes on without it (the lease takes its lock over).
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync, realpathSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { readResult, requestIssues, resultPath, writeRequest, type RequestCommand, type RequestResult } from "../transports/files/requests.js";
import { appliedDraft, rulesForWriter, type RulesRecord } from "../store/fs/rules.js";
import type { Pipeline } from "../config/pipeline.js";
import { ConsensusError, issue, type Issue } from "../errors/issue.js";
import { prepare } from "../transports/files/prepare.js";
import { Engine, type Outcome } from "../engine/engine.js";
import { quietLogger as quiet } from "../engine/quiet-logger.js";
import type { CommandInput } from "../machine/decide.js";
import type { LogEntry } from "../schemas/types.gen.js";
import { LogTail } from "./log-tail.js";
import { claimPathOf, folderInside } from "../transports/placement.js";
import { withdrawClaim, writeAtName } from "../transports/place-names.js";
import { sealedLines } from "../store/fs/read-chain.js";
import type { Holder } from "../store/port.js";
import { FsStore, holderIsDead, readHolder } from "../store/fs/fs-store.js";
import { layoutOf, type Layout } from "../store/fs/layout.js";
import { assertPrivateAreaReadable } from "../store/fs/private-denied.js";
import { printable } from "../report/plain-text.js";
import { whoAmI, type GlobalOptions } from "./context.js";
import { storeOf } from "./store-of.js";

export type Via = "daemon" | "direct";
export type CommandResult = { ok: true; entries: Array<{ seq: number; decision: string; epic_id?: string; errors?: Issue[] }>; via: Via } | { ok: false; issues: Issue[]; via: Via } | { ok: "queued"; file: string };

/** How a person command hands over: wait (bounded) for the verdict, or only drop it (`--no-wait`). */
export interface WaitOptions {
  wait: boolean;
  timeoutMs: number;
}

/** How often a waiting command looks again (a result file, the log's tail, whether the daemon lives). */
const POLL_MS = 25;

const gone = new Set<string>();
/** Says once, on stderr, that the holder of `root` died: the command goes on and takes its lock over. */
function noteDead(root: string, h: Holder): void {
  const key = `${root}:${h.pid}`;
  if (gone.has(key)) return;
  gone.add(key);
  process.stderr.write(`${printable(`the ${h.kind} that held ${root} (pid ${h.pid} on ${h.host}, since ${h.started_at}) is gone; taking over its lock`)}\n`);
}

/** The daemon that holds the root and is alive; a holder that died is reported (noteDead) and treated as none. */
export async function liveDaemon(root: string): Promise<Holder | undefined> {
  const L = layoutOf(root);
  if (!existsSync(`${L.lock}.lock`)) return undefined;
  const h = await readHolder(L.holder);
  if (!h) return undefined;
  if (holderIsDead(h)) {
    noteDead(root, h);
    return undefined;
  }
  return h.kind === "daemon" ? h : undefined;
}

export const lockHeldByDaemon = async (e: unknown, root: string): Promise<boolean> => e instanceof ConsensusError && e.issues[0]?.code === "LOCK_HELD" && (await liveDaemon(root)) !== undefined;

const noVerdict = (root: string, what: string, timeoutMs: number, file: string): ConsensusError =>
  new ConsensusError(issue("NO_VERDICT", { message: `the daemon holding ${root} did not decide ${what} within ${timeoutMs / 1000}s`, file }));

/**
 * A person's command on the store the command line names: a folder (applyCommand), or a database,
 * where it becomes an input row a daemon (or, with none running, the command itself) decides.
 */
export async function applyCommandOn(g: GlobalOptions, cmd: CommandInput, opts: WaitOptions = { wait: true, timeoutMs: 60_000 }): Promise<CommandResult> {
  const t = storeOf(g);
  if (t.kind === "folder") return applyCommand(t.root, cmd, opts);
  const problems = requestIssues(cmd);
  if (problems.length) return { ok: false, issues: problems, via: "direct" };
  const { submitRow } = await import("./pg-writer.js");
  const r = await submitRow(t.url, t.root, { command: cmd }, whoAmI());
  return r;
}

/**
 * start, override, cancel: applied directly when no daemon runs; handed to the running daemon as a
 * request file otherwise, and its answer awaited (unless `wait` is off: then "queued"). Throws
 * NO_VERDICT (exit 75) when the daemon has not answered within the timeout.
 */
export async function applyCommand(root: string, cmd: CommandInput, opts: WaitOptions = { wait: true, timeoutMs: 60_000 }): Promise<CommandResult> {
  const L = layoutOf(root);
  if (!existsSync(L.config)) throw new ConsensusError(issue("CONFIG_MISSING", { message: `no consensus.yaml in ${root}`, file: L.config }));
  // a request goes into the private area, a direct command takes its lock: a user that may not is told so
  assertPrivateAreaReadable(L, "the writer lock and the log of record", { path: L.record });
  // every field bounded and typed before it goes anywhere (a 2 MB title would be copied into every later line)
  const problems = requestIssues(cmd);
  if (problems.length) return { ok: false, issues: problems, via: "direct" };
  const id = `${Date.now()}-${randomUUID()}`;
  if (!(await liveDaemon(root))) {
    try {
      return await direct(root, cmd, id);
    } catch (e) {
      if (!(await lockHeldByDaemon(e, root))) throw e;
    }
  }
  // sealed with the daemon key: a request an agent plants is refused, an answer it fakes is not read
  const req = await writeRequest(L, id, cmd as RequestCommand);
  if (!opts.wait) return { ok: "queued", file: req };
  const res = resultPath(L, id);
  const deadline = Date.now() + opts.timeoutMs;
  const forged = new Set<string>();
  const onForged = (reason: string, sha256: string): void => {
    if (forged.has(sha256)) return;
    forged.add(sha256);
    process.stderr.write(`${printable(`warning: ${res} is not the daemon's answer (${reason}); ignored, waiting for the real one. Something other than the daemon wrote it: see docs/security.md`)}\n`);
  };
  for (let n = 0; ; n++) {
    const answer = await readResult(L, id, onForged);
    if (answer) {
      await Promise.all([unlink(req).catch(() => {}), unlink(res).catch(() => {})]);
      return answerOf(answer);
    }
    // the daemon died before answering: take the request back and apply it here (its key makes a
    // second application a duplicate if the daemon did commit it)
    if (n % 20 === 19 && !(await liveDaemon(root))) {
      const late = await readResult(L, id, onForged);
      if (late) return answerOf(late);
      const took = await unlink(req).then(() => true, () => false);
      if (took) return direct(root, cmd, id);
    }
    if (Date.now() > deadline) throw noVerdict(root, `${cmd.type} ${cmd.epic_id}`, opts.timeoutMs, req);
    await sleep(POLL_MS);
  }
}

const answerOf = (r: RequestResult): CommandResult => (r.ok ? { ok: true, entries: r.entries ?? [], via: "daemon" } : { ok: false, issues: r.issues ?? [], via: "daemon" });

async function direct(root: string, cmd: CommandInput, id: string): Promise<CommandResult> {
  const o = await withEngine(root, cmd.type, async (engine) => (await engine.process([{ input: { ...cmd, transport: "cli" }, key: `request:${id}` }]))[0]);
  if (o?.status === "refused") return { ok: false, issues: o.decision.issues, via: "direct" };
  const entries = o?.status === "committed" ? o.entries.map((e) => ({ seq: e.seq, decision: e.decision, ...(e.epic_id ? { epic_id: e.epic_id } : {}) })) : [];
  return { ok: true, entries, via: "direct" };
}

/**
 * Runs `fn` with the lease held and an engine open on the root, then checkpoints and lets go. The
 * engine decides by the rules in force (the first writer on a fresh root applies consensus.yaml once,
 * logged); `replacement` is used where they are missing or do not verify (`config apply` replacing them).
 */
export async function withEngine<T>(root: string, what: string, fn: (engine: Engine) => Promise<T>, replacement?: Pipeline): Promise<T> {
  const L = layoutOf(root);
  const store = new FsStore(L);
  const lease = await store.lease("command", what);
  try {
    const { pipeline, firstApply } = await rulesOrReplacement(L, replacement);
    const engine = await Engine.open(pipeline, store, quiet, { root: realpathSync(root) });
    if (firstApply) await engine.commitDrafts([appliedDraft(firstApply, { first_start: true, via: what.split(" ")[0] })]);
    const out = await fn(engine);
    if (engine.dirty) await engine.checkpoint();
    return out;
  } finally {
    await store.close();
    await lease.release();
  }
}

async function rulesOrReplacement(L: Layout, replacement?: Pipeline): Promise<{ pipeline: Pipeline; firstApply?: RulesRecord }> {
  try {
    return await rulesForWriter(L, new Date());
  } catch (e) {
    const code = e instanceof ConsensusError ? e.issues[0]?.code : undefined;
    if (replacement && (code === "RULES_FORGED" || code === "RULES_MISSING")) return { pipeline: replacement };
    throw e;
  }
}

/** What became of a file dropped into the bus: the entries of its transaction, or why there are none yet. */
export type DropVerdict = { decided: true; entries: LogEntry[]; via: Via; failed?: boolean } | { decided: false; via: Via; reason: string };

/**
 * approve and veto: writes the message (atomically) at `rel` under the root, then gets its verdict:
 * with no daemon running, by processing it here; with one, by reading the daemon's entries for it from
 * the log (bounded by the timeout: NO_VERDICT, exit 75). Without `wait`, only drops it (and, with no
 * daemon, processes it, as a daemon would at once).
 */
export async function dropAndDecide(root: string, rel: string, text: string, opts: WaitOptions): Promise<DropVerdict> {
  const L = layoutOf(root);
  const sha256 = createHash("sha256").update(text).digest("hex");
  assertPrivateAreaReadable(L, "the log of record", { path: L.record });
  // the verdict is read from the log of record, never from the readable copy agents can write to
  const tail = await LogTail.atEnd(L.record, await sealedLines(L));
  // never through a link an agent planted in the inbox that leads out of the root; a temporary whose name
  // says nothing of the message's (an agent could make the name first); a name taken all the same
  // (another's entry there) is NAME_TAKEN with what, whose and the fix, and the claim placed beside it goes
  try {
    await writeAtName(join(await folderInside(root, dirname(rel)), basename(rel)), rel, "the message", text, realpathSync(root), { hideName: true });
  } catch (e) {
    await withdrawClaim(join(root, claimPathOf(rel, sha256)));
    throw e;
  }
  const deadline = Date.now() + opts.timeoutMs;
  for (let n = 0; ; n++) {
    if (n === 0 || (n % 20 === 0 && !(await liveDaemon(root)))) {
      const here = await processHere(root, rel);
      if (here !== "daemon") {
        if (here.status === "committed") return { decided: true, entries: here.entries, via: "direct" };
        // a duplicate: a daemon that died committed it; its entries are in the log (read below)
        if (here.status !== "duplicate") return { decided: false, via: "direct", reason: here.status === "deferred" ? here.reason : "refused" };
      } else if (!opts.wait) return { decided: false, via: "daemon", reason: "handed to the running daemon" };
    }
    const v = await tail.verdictOn(rel, sha256);
    if (v) return { decided: true, entries: v.entries, via: "daemon", ...(v.verdict === "failed" ? { failed: true } : {}) };
    if (Date.now() > deadline) throw noVerdict(root, rel, opts.timeoutMs, join(root, rel));
    await sleep(POLL_MS);
  }
}

/** With no live daemon: processes the file at `rel` now, holding the lease; "daemon" when one holds the root. */
async function processHere(root: string, rel: string): Promise<Outcome | "daemon"> {
  if (await liveDaemon(root)) return "daemon";
  try {
    return await withEngine(root, `process ${rel}`, async (engine) => {
      const p = await prepare(rel, { root, realRoot: realpathSync(root), pipeline: engine.pipeline, world: engine.world, now: Date.now() + engine.pipeline.settleMs });
      if (p.kind !== "ready") return { status: "deferred", reason: p.why, seq: engine.state.seq } as const;
      return (await engine.process([p.item]))[0]!;
    });
  } catch (e) {
    if (await lockHeldByDaemon(e, root)) return "daemon";
    throw e;
  }
}


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
