/** `consensus log [filters] [--follow] [--json]`, `consensus log verify` and `consensus log export`, on a folder or a database store. */
import { createReadStream, existsSync, watch } from "node:fs";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { summary } from "../../log/summary.js";
import type { LogEntry } from "../../schemas/types.gen.js";
import { layoutOf } from "../../store/fs/layout.js";
import { countMirror, logCheckOf, verifyLogFile } from "../../store/fs/read-chain.js";
import { FsStore } from "../../store/fs/fs-store.js";
import { hasOldLog } from "../../store/fs/adopt.js";
import { assertPrivateAreaReadable, privateAreaRefusal } from "../../store/fs/private-denied.js";
import type { Layout } from "../../store/fs/layout.js";
import { KeyFileError } from "../../trust/key-file.js";
import { printable } from "../../report/plain-text.js";
import { explicitRoot, rootOf, type GlobalOptions } from "../context.js";
import { resolve } from "node:path";
import { ConsensusError, issue, shellArg } from "../../errors/issue.js";
import { ChainVerifier, unsealLine, type ChainResult, type LineCheck } from "../../log/chain.js";
import { writeAtomic } from "../../store/fs/atomic-write.js";
import { redact } from "../../store/pg/connect.js";
import { logLines, openPgReadOnly } from "../read-store.js";
import { pgUrlOf } from "../store-of.js";
import { LogTail } from "../log-tail.js";

interface Filters {
  epic?: string;
  agent?: string;
  decision?: string;
  follow?: boolean;
  json?: boolean;
}

/**
 * One log line as a person reads it: time, sequence number (`#12`; agents' own lines have none), who,
 * and what. Every byte that came from the line is made printable (an agent's reason cannot colour,
 * retitle or forge lines on the reader's terminal); with --json the raw line as it is in the file.
 */
export function formatLine(raw: string, o: Filters): string | undefined {
  let e: LogEntry | undefined;
  try {
    e = JSON.parse(raw) as LogEntry;
  } catch {
    e = undefined;
  }
  if (!e || typeof e !== "object") return o.epic || o.agent || o.decision ? undefined : o.json ? raw : printable(`?  (unparsable line) ${raw.slice(0, 120)}`);
  if (o.epic && e.epic_id !== o.epic) return undefined;
  if (o.agent && e.agent !== o.agent) return undefined;
  if (o.decision && e.decision !== o.decision) return undefined;
  if (o.json) return raw;
  const seq = e.seq !== undefined ? `#${e.seq}`.padStart(6) : "     -";
  const text = e.agent === "orchestrator" ? summary(e) : `${String(e.epic_id ?? "-")}${e.iteration ? ` iteration ${String(e.iteration)}` : ""} ${String(e.decision)}${e.details ? ` ${JSON.stringify(e.details)}` : ""}`;
  return printable(`${String(e.timestamp)}  ${seq}  ${String(e.agent).padEnd(12)}  ${text}`);
}

export async function logCommand(g: GlobalOptions, o: Filters): Promise<number> {
  const url = pgUrlOf(g);
  if (url) return logFromStore(url, o);
  // the log of record, never the readable copy agents can write to (PROTOCOL "Trust")
  const L = layoutOf(rootOf(g));
  const path = L.record;
  // a user that may not read it is told so, not "no log of record yet"
  assertPrivateAreaReadable(L, "the log of record", { path });
  if (!existsSync(path)) {
    if (await hasOldLog(L)) {
      process.stderr.write(printable(`no log of record at ${path} yet; ${L.log} holds an older log\n  fix: run \`consensus watch --once\` once: it verifies and adopts it\n`, { newlines: true }));
      return 1;
    }
    process.stderr.write(printable(`no decision log at ${path} yet\n  fix: run \`consensus init\` and \`consensus watch\`, or pass --root DIR\n`, { newlines: true }));
    return o.follow ? followFrom(L, 0, o) : 0;
  }
  const store = new FsStore(L, { readOnly: true });
  for await (const l of store.readEntries()) {
    const out = formatLine(l.raw, o);
    if (out !== undefined) process.stdout.write(`${out}\n`);
  }
  if (!o.follow) return 0;
  return followFrom(L, (await stat(path)).size, o);
}

/** Prints lines appended after `offset` until interrupted (fs.watch, with a poll as a safety net). */
async function followFrom(L: Layout, offset: number, o: Filters): Promise<number> {
  const path = L.record;
  const tail = LogTail.from(path, offset);
  // a line that claims to be the daemon's is shown only when its MAC checks
  let check: LineCheck | undefined;
  const sealed = async (l: string): Promise<boolean> => {
    const s = unsealLine(l);
    if (!s) return true;
    check ??= await logCheckOf(L).then((c) => c.check, () => undefined);
    return !!check && s.mac !== undefined && check(s.signed, s.mac) === true;
  };
  let busy = false;
  const pump = async () => {
    if (busy) return;
    busy = true;
    try {
      for (const l of await tail.lines()) {
        if (!(await sealed(l))) continue;
        const out = formatLine(l, o);
        if (out !== undefined) process.stdout.write(`${out}\n`);
      }
    } finally {
      busy = false;
    }
  };
  let w: ReturnType<typeof watch> | undefined;
  try {
    w = watch(path, () => void pump());
  } catch {
    w = undefined;
  }
  const t = setInterval(() => void pump(), 500);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  clearInterval(t);
  w?.close();
  return 0;
}

/**
 * What `consensus log verify` finds in the decision log: `intact` (every daemon line chains and
 * numbers without a gap), `empty` (no log yet), `broken` (naming the first bad line) or `unreadable`
 * (the file could not be read, with the reason). `consensus gate` judges the log with this same
 * function, so whatever `log verify` checks, the gate checks.
 */
export interface LogCheck {
  state: "intact" | "empty" | "broken" | "unreadable";
  path: string;
  /** One sentence: what was found. */
  summary: string;
  /** What to do; present unless intact or empty. */
  fix?: string;
  /** The last daemon entry's seq that chains (0 for none). */
  lastSeq: number;
  chain?: ChainResult;
}

/** The log of record of a root: its chain, and every daemon line's MAC under the root's daemon key. */
export async function checkBusLog(root: string): Promise<LogCheck> {
  const L = layoutOf(root);
  // a log this user may not look at is unreadable, not "no log of record yet" (an older log to adopt)
  const refused = privateAreaRefusal(L, "the log of record", { path: L.record })?.issues[0];
  if (refused) return { state: "unreadable", path: L.record, summary: refused.message, fix: refused.fix, lastSeq: 0 };
  if (await hasOldLog(L)) {
    return { state: "broken", path: L.record, summary: `no log of record at ${L.record} yet; ${L.log} holds an older log`, fix: "Run `consensus watch --once` once: it verifies that log and adopts it as the log of record.", lastSeq: 0 };
  }
  let check: LineCheck | undefined;
  let unchecked: string | undefined;
  if (existsSync(L.record)) {
    try {
      check = (await logCheckOf(L)).check;
    } catch (e) {
      // another user than the daemon's (CI, a person): the chain is checked, the MACs cannot be; say so
      if (!(e instanceof KeyFileError) && !["EACCES", "EPERM"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
      unchecked = (e as Error).message;
    }
  }
  const c = await checkLogPath(L.record, check);
  return unchecked && c.state === "intact" ? { ...c, summary: `${c.summary}; MACs not checked (the daemon key cannot be used by this user: ${unchecked}): run as the daemon's user to check them` } : c;
}

/** checkBusLog for a log file anywhere (an export: `consensus log verify --file FILE`; the chain alone, no key). */
export async function checkLogPath(path: string, check?: LineCheck): Promise<LogCheck> {
  const unreadable = (e: unknown): LogCheck => ({ state: "unreadable", path, summary: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, fix: `Check the owner and mode of the file and its folders (\`ls -ld ${shellArg(path)}\`); run the command as a user who can read it.`, lastSeq: 0 });
  try {
    await stat(path);
  } catch (e) {
    // only a log that is not there is "nothing to verify"; one that cannot be looked at is unreadable
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { state: "empty", path, summary: `no decision log at ${path}: nothing to verify`, lastSeq: 0 };
    return unreadable(e);
  }
  let r: ChainResult;
  try {
    r = await verifyLogFile(path, check);
  } catch (e) {
    return unreadable(e);
  }
  if (r.ok) return { state: "intact", path, summary: `intact: ${r.lines} lines, ${r.daemonLines} daemon entries (seq 1..${r.lastSeq}), ${r.agentLines} agent lines; head ${r.head.slice(0, 16)}…`, lastSeq: r.lastSeq, chain: r };
  return { state: "broken", path, summary: `broken: ${path}:${r.broken!.line}: ${r.broken!.reason}`, fix: `Restore the log from a backup; lines before ${r.broken!.line} chain correctly (last good seq ${r.lastSeq}).`, lastSeq: r.lastSeq, chain: r };
}

export async function verify(g: GlobalOptions, o: { file?: string } = {}): Promise<number> {
  const url = o.file === undefined ? pgUrlOf(g) : undefined;
  if (url) {
    const v = new ChainVerifier();
    for await (const raw of logLines(g)) v.push(raw);
    return reportChain(v.result(), `the log of ${redact(url)}`);
  }
  if (o.file !== undefined) {
    const c = await checkLogPath(resolve(o.file));
    process.stdout.write(`${printable(c.summary)}\n${c.fix ? `  fix: ${printable(c.fix)}\n` : ""}`);
    return c.state === "intact" || c.state === "empty" ? 0 : 1;
  }
  const root = explicitRoot(g) ?? rootOf(g);
  const c = await checkBusLog(root);
  process.stdout.write(`${printable(`log of record: ${c.summary}`)}\n${c.fix ? `  fix: ${printable(c.fix)}\n` : ""}`);
  // the readable copy: the daemon's sealed lines, agents' lines and forged lines told apart
  const L = layoutOf(root);
  let m: Awaited<ReturnType<typeof countMirror>>;
  try {
    m = await countMirror(L);
  } catch (e) {
    process.stdout.write(`${printable(`readable copy ${L.log}: not checked: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)}\n`);
    return 1;
  }
  process.stdout.write(`${printable(`readable copy ${L.log}: ${m.sealed} sealed (the daemon's, as in the log of record), ${m.agent} agent lines, ${m.forged} forged`)}\n`);
  if (m.firstForged) process.stdout.write(`${printable(`  first forged: ${L.log}:${m.firstForged.line}: ${m.firstForged.reason}`)}\n  fix: nothing was applied from it; find who wrote it (\`consensus log --decision log_line_forged\`) and confine agents to the drop zones (docs/PROTOCOL.md, Trust)\n`);
  return (c.state === "intact" || c.state === "empty") && m.forged === 0 ? 0 : 1;
}

/** A database store's log: printed from its rows; --follow wakes on its NOTIFY and re-reads after every reconnect, with a poll as the floor. */
async function logFromStore(url: string, o: Filters): Promise<number> {
  const store = await openPgReadOnly(url);
  try {
    let seq = 0;
    const print = (entries: Array<{ seq: number }>, raw: (i: number) => string) => {
      entries.forEach((e, i) => {
        seq = e.seq;
        const out = formatLine(raw(i), o);
        if (out !== undefined) process.stdout.write(`${out}\n`);
      });
    };
    for await (const l of store.readEntries()) print([{ seq: l.entry?.seq ?? seq }], () => l.raw);
    if (!o.follow) return 0;
    let busy = false;
    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        const newer = await store.since(seq);
        print(newer, (i) => JSON.stringify(newer[i]));
      } catch {
        /* the next notification or poll tries again */
      } finally {
        busy = false;
      }
    };
    const { CHANNEL_LOG } = await import("../../store/pg/pg-store.js");
    const sub = await store.sql.listen(CHANNEL_LOG, () => void pump(), () => void pump());
    const t = setInterval(() => void pump(), 2000);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    clearInterval(t);
    await sub.unlisten().catch(() => {});
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * `consensus log export [--output FILE]`: the log as JSONL in the file store's shape (one sealed line
 * per daemon entry, in seq order; from a folder, the log file as it is, agents' lines included), to
 * stdout or written atomically to FILE. `consensus log verify` checks the result.
 */
export async function exportLog(g: GlobalOptions, o: { output?: string }): Promise<number> {
  const out: string[] = [];
  let n = 0;
  const sink = o.output === undefined ? (l: string) => process.stdout.write(`${l}\n`) : (l: string) => void out.push(`${l}\n`);
  for await (const raw of logLines(g)) {
    sink(raw);
    n++;
  }
  if (o.output !== undefined) {
    const path = resolve(o.output);
    try {
      await writeAtomic(path, out.join(""), { durable: true });
    } catch (e) {
      throw new ConsensusError(issue("OUTPUT_UNWRITABLE", { message: `cannot write ${path}: ${(e as Error).message}`, file: path }));
    }
    process.stderr.write(`wrote ${n} lines to ${path}; check it with: consensus log verify --file ${o.output}\n`);
  }
  return 0;
}

function reportChain(r: ChainResult, path: string): number {
  if (r.ok) {
    process.stdout.write(`intact: ${r.lines} lines, ${r.daemonLines} daemon entries (seq 1..${r.lastSeq}), ${r.agentLines} agent lines; head ${r.head.slice(0, 16)}…\n`);
    return 0;
  }
  process.stdout.write(`${printable(`broken: ${path}:${r.broken!.line}: ${r.broken!.reason}`)}\n  fix: restore the log from a backup; lines before ${r.broken!.line} chain correctly (last good seq ${r.lastSeq}).\n`);
  return 1;
}
