/**
 * The embedded store: everything in the root folder. The commit point is the fsync'd append to
 * current/decision_log.jsonl; the processed marks are part of those lines, so "accepted" and
 * "processed" can never disagree. Everything else (checkpoint, state.json, archive copies, notices)
 * is derived and rewritten idempotently after the commit.
 */
import { createReadStream, existsSync } from "node:fs";
import { mkdir, open, readFile, readdir, stat, unlink, type FileHandle } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { writeAtomic } from "./atomic-write.js";
import { ConsensusError, issue } from "../errors/issue.js";
import { GENESIS, chainHash, sealLine, unsealLine } from "../log/chain.js";
import { applyEntry, emptyView, type View } from "../log/replay.js";
import { agentViewFromJson, agentViewToJson, type AgentViewJson } from "../log/agent-jobs.js";
import type { LogEntry, StateFile } from "../schemas/types.gen.js";
import type { Layout } from "./layout.js";
import type { AppendResult, CommittedEntry, Holder, Lease, Notice, Recovery, Store, Txn } from "./port.js";

interface Checkpoint {
  version: 1;
  seq: number;
  hash: string;
  /** Byte offset just after the line with `seq`; recovery reads the log from here. */
  offset: number;
  /** Line number of that line. */
  lines: number;
  epics: StateFile["epics"];
  processed: string[];
  message_ids: string[];
  config_version?: string;
  /** The runner's part of the view (a checkpoint without it is rebuilt from the log). */
  agents: AgentViewJson;
}

export interface FsStoreOptions {
  readOnly?: boolean;
  /** Lock staleness: a holder that has not refreshed its lock for this long is presumed dead. */
  staleMs?: number;
  onLeaseLost?: (err: Error) => void;
}

export class FsStore implements Store {
  private fd?: FileHandle;
  private size = 0;
  private lines = 0;
  private seq = 0;
  private head = GENESIS;
  /** Raw text of agents' lines since the last daemon line: chained into the next daemon hash. */
  private foreignText = "";
  private foreignLines: Array<{ line: number; text: string }> = [];
  /** The file does not end with a newline (a torn write, or an agent mid-append). */
  private partial = "";
  private offsetAfterHead = 0;
  private linesAtHead = 0;

  constructor(
    readonly layout: Layout,
    private readonly opts: FsStoreOptions = {},
  ) {}

  async recover(): Promise<Recovery> {
    const L = this.layout;
    const findings: Recovery["findings"] = [];
    let view = emptyView();
    let from = 0;
    const cp = await this.readCheckpoint(findings);
    let logSize = 0;
    try {
      logSize = (await stat(L.log)).size;
    } catch {
      logSize = 0;
    }
    if (cp) {
      if (cp.offset > logSize) {
        findings.push({ decision: "checkpoint_discarded", details: { reason: `checkpoint is at byte ${cp.offset} but the log has ${logSize} bytes (truncated?)`, fix: "Nothing to do: state was rebuilt from the log." } });
      } else if (!(await this.endsWithHash(cp.offset, cp.hash))) {
        findings.push({ decision: "checkpoint_discarded", details: { reason: `the log line before byte ${cp.offset} does not carry the checkpoint's hash (log edited?)`, fix: "Run `consensus log verify`; state was rebuilt from the log." } });
      } else {
        view = { seq: cp.seq, hash: cp.hash, epics: new Map(Object.entries(cp.epics)), processed: new Set(cp.processed), messageIds: new Set(cp.message_ids), agents: agentViewFromJson(cp.agents), ...(cp.config_version ? { configVersion: cp.config_version } : {}) };
        from = cp.offset;
        this.lines = cp.lines;
      }
    }
    this.seq = view.seq;
    this.head = view.hash;
    this.offsetAfterHead = from;
    this.linesAtHead = this.lines;
    const unapplied: CommittedEntry[] = [];
    let brokenReported = false;
    if (logSize > from) {
      const fh = await open(L.log, "r");
      try {
        const { tail } = await readLines(fh, from, logSize, (text, endOffset) => {
          this.lines++;
          const sealed = unsealLine(text);
          let entry: LogEntry | undefined;
          if (sealed) {
            try {
              entry = JSON.parse(text) as LogEntry;
            } catch {
              entry = undefined;
            }
          }
          if (!sealed || !entry || typeof entry.seq !== "number") {
            this.foreignText += `${text}\n`;
            this.foreignLines.push({ line: this.lines, text });
            return;
          }
          if (!brokenReported && (entry.seq !== this.seq + 1 || chainHash(this.head, this.foreignText, sealed.body) !== sealed.hash)) {
            brokenReported = true;
            findings.push({ decision: "log_chain_broken", details: { line: this.lines, seq: entry.seq, reason: entry.seq !== this.seq + 1 ? `seq ${entry.seq} where ${this.seq + 1} was due` : "hash does not match", fix: "Run `consensus log verify` and restore the log from a backup if lines were edited; new entries chain from the last line." } });
          }
          this.seq = entry.seq;
          this.head = sealed.hash;
          this.foreignText = "";
          this.foreignLines = [];
          this.offsetAfterHead = endOffset;
          this.linesAtHead = this.lines;
          applyEntry(view, entry);
          unapplied.push(entry as CommittedEntry);
        });
        if (tail) {
          this.partial = tail;
          findings.push({ decision: "log_torn_line", details: { line: this.lines + 1, bytes: Buffer.byteLength(tail), reason: "the last line has no newline: a write was cut short (crash or disk full)", fix: "Nothing to do: the line is kept as written, closed with a newline, and never counted as a decision." } });
        }
      } finally {
        await fh.close();
      }
    }
    this.size = logSize;
    view.seq = this.seq;
    view.hash = this.head;
    if (!this.opts.readOnly) {
      const problem = await this.checkStateFile(view);
      if (problem) findings.push({ decision: "state_file_repaired", details: { file: this.layout.state, reason: problem, fix: "Nothing to do: state.json was rewritten from the log. Never edit it by hand; it is derived." } });
    }
    return { view, unapplied, findings };
  }

  async append(txns: Txn[], timestamp: string, expectedSeq: number): Promise<AppendResult> {
    if (this.opts.readOnly) throw new Error("store opened read-only");
    if (expectedSeq !== this.seq) throw new Error(`log is at seq ${this.seq}, not ${expectedSeq}: another writer appended`);
    const fd = await this.handle();
    await this.catchUpForeign(fd);
    let prefix = "";
    if (this.partial) {
      // Close the torn line so ours starts on a line of its own; the newline is chained like any byte.
      prefix = "\n";
      this.foreignText += `${this.partial}\n`;
      this.lines++;
      this.foreignLines.push({ line: this.lines, text: this.partial });
      this.partial = "";
    }
    const out: string[] = [];
    const entries: CommittedEntry[] = [];
    let seq = this.seq;
    let head = this.head;
    let foreign = this.foreignText;
    for (const t of txns) {
      t.drafts.forEach((d, i) => {
        const last = i === t.drafts.length - 1;
        const entry: LogEntry = { seq: ++seq, timestamp, agent: "orchestrator", decision: d.decision };
        if (d.epic_id !== undefined) entry.epic_id = d.epic_id;
        if (d.iteration !== undefined) entry.iteration = d.iteration;
        entry.details = d.details;
        if (last && t.state) entry.state = t.state;
        if (last && t.input) entry.input = t.input;
        const sealed = sealLine(JSON.stringify(entry), head, foreign);
        foreign = "";
        head = sealed.hash;
        out.push(sealed.line);
        entries.push({ ...entry, hash: sealed.hash } as CommittedEntry);
      });
    }
    const text = `${prefix}${out.join("\n")}\n`;
    const bytes = Buffer.from(text);
    await fd.write(bytes, 0, bytes.length);
    await fd.datasync();
    this.size += bytes.length;
    this.lines += out.length;
    this.seq = seq;
    this.head = head;
    this.foreignText = "";
    this.offsetAfterHead = this.size;
    this.linesAtHead = this.lines;
    const foreignLines = this.foreignLines;
    this.foreignLines = [];
    return { entries, foreign: foreignLines };
  }

  /** Reads what agents appended since our last write, so it is chained and reported. */
  private async catchUpForeign(fd: FileHandle): Promise<void> {
    const { size } = await fd.stat();
    if (size === this.size) return;
    if (size < this.size) throw new ConsensusError(issue("LOG_BROKEN", { message: `decision log shrank from ${this.size} to ${size} bytes while the daemon ran`, file: this.layout.log }));
    const { tail } = await readLines(fd, this.size, size, (text) => {
      const line = this.partial ? `${this.partial}${text}` : text;
      this.partial = "";
      this.lines++;
      this.foreignText += `${line}\n`;
      this.foreignLines.push({ line: this.lines, text: line });
    });
    if (tail) this.partial = `${this.partial}${tail}`;
    this.size = size;
  }

  async *readEntries(): AsyncIterable<{ line: number; raw: string; entry?: LogEntry }> {
    if (!existsSync(this.layout.log)) return;
    const rl = createInterface({ input: createReadStream(this.layout.log, { encoding: "utf8" }), crlfDelay: Infinity });
    let line = 0;
    for await (const raw of rl) {
      line++;
      let entry: LogEntry | undefined;
      try {
        const v = JSON.parse(raw) as unknown;
        if (v && typeof v === "object" && !Array.isArray(v)) entry = v as LogEntry;
      } catch {
        entry = undefined;
      }
      yield entry ? { line, raw, entry } : { line, raw };
    }
  }

  private blobPath(sha256: string): string {
    return join(this.layout.blobs, sha256.slice(0, 2), sha256);
  }

  async putBlob(sha256: string, bytes: Uint8Array): Promise<void> {
    const p = this.blobPath(sha256);
    if (existsSync(p)) return;
    await mkdir(dirname(p), { recursive: true });
    await writeAtomic(p, Buffer.from(bytes), { durable: true });
  }

  async getBlob(sha256: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.blobPath(sha256));
    } catch {
      return undefined;
    }
  }

  async publish(epicId: string, iteration: number, file: string, sha256: string): Promise<void> {
    const target = join(this.layout.archive, epicId, String(iteration), file);
    if (existsSync(target)) return;
    const bytes = await this.getBlob(sha256);
    if (!bytes) throw new Error(`blob ${sha256} for ${target} is missing`);
    await mkdir(dirname(target), { recursive: true });
    await writeAtomic(target, Buffer.from(bytes));
  }

  async published(epicId: string): Promise<Array<{ iteration: number; file: string; path: string }>> {
    const dir = join(this.layout.archive, epicId);
    const out: Array<{ iteration: number; file: string; path: string }> = [];
    for (const it of await readdir(dir).catch(() => [] as string[])) {
      if (!/^\d+$/.test(it)) continue;
      for (const file of await readdir(join(dir, it)).catch(() => [] as string[])) {
        if (!file.startsWith(".")) out.push({ iteration: Number(it), file, path: `archive/${epicId}/${it}/${file}` });
      }
    }
    return out.sort((a, b) => a.iteration - b.iteration || a.file.localeCompare(b.file));
  }

  async deliver(notice: Notice): Promise<void> {
    const target = join(this.layout.inbox, notice.role, notice.name);
    if (existsSync(target)) return;
    await mkdir(dirname(target), { recursive: true });
    await writeAtomic(target, notice.body);
  }

  async checkpoint(view: View): Promise<void> {
    if (view.seq !== this.seq) throw new Error(`checkpoint of seq ${view.seq} while the log is at ${this.seq}`);
    const epics = Object.fromEntries(view.epics);
    const cp: Checkpoint = { version: 1, seq: view.seq, hash: view.hash, offset: this.offsetAfterHead, lines: this.linesAtHead, epics, processed: [...view.processed], message_ids: [...view.messageIds], agents: agentViewToJson(view.agents), ...(view.configVersion ? { config_version: view.configVersion } : {}) };
    await mkdir(this.layout.dot, { recursive: true });
    await writeAtomic(this.layout.checkpoint, JSON.stringify(cp), { durable: true });
    const state: StateFile = { version: 1, seq: view.seq, hash: view.hash, ...(view.configVersion ? { config_version: view.configVersion } : {}), updated_at: new Date().toISOString(), epics };
    await mkdir(this.layout.current, { recursive: true });
    await writeAtomic(this.layout.state, `${JSON.stringify(state, null, 2)}\n`);
  }

  async lease(kind: Holder["kind"], command?: string, extra: Pick<Holder, "metrics"> = {}): Promise<Lease> {
    const L = this.layout;
    await mkdir(L.dot, { recursive: true });
    const stale = this.opts.staleMs ?? lockStaleMs();
    // A holder that died (same host, no such pid) leaves its lock until it goes stale: wait for that
    // rather than fail, and say so. A live holder is named and we stop at once (a daemon) or after
    // a short wait (a command: the other command is about to finish).
    const deadline = Date.now() + stale + 3_000;
    // loaded here, not at the top: read-only commands (status, log) never lock
    const { default: lockfile } = await import("proper-lockfile");
    let release: () => Promise<void>;
    for (;;) {
      try {
        release = await lockfile.lock(L.lock, {
          realpath: false,
          lockfilePath: lockPathOf(L),
          stale,
          update: Math.max(1000, Math.floor(stale / 3)),
          retries: kind === "command" ? { retries: 40, minTimeout: 25, maxTimeout: 250 } : 0,
          onCompromised: (err) => (this.opts.onLeaseLost ?? ((e: Error) => { throw e; }))(err),
        });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ELOCKED") throw e;
        const h = await readHolder(L.holder);
        if (h && holderIsDead(h) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        throw new ConsensusError(
          issue("LOCK_HELD", {
            message: h ? `root ${L.root} is held by a ${h.kind} (pid ${h.pid} on ${h.host}, since ${h.started_at}${h.command ? `, running ${h.command}` : ""})` : `root ${L.root} is held by another process`,
            file: lockPathOf(L),
            fix: h?.kind === "daemon" ? "A daemon already watches this root: stop it (SIGTERM) before starting another, or run your command against it." : "Wait for the other command to finish, then retry.",
          }),
        );
      }
    }
    // A clean release removes writer.json, so finding one now means its holder died holding the lock.
    const prior = await readHolder(L.holder);
    this.takenOver = prior && prior.pid !== process.pid ? prior : undefined;
    const holder: Holder = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), kind, ...(command ? { command } : {}), ...extra };
    await writeAtomic(L.holder, JSON.stringify(holder));
    let released = false;
    return {
      holder,
      release: async () => {
        if (released) return;
        released = true;
        await unlink(L.holder).catch(() => {});
        await release().catch(() => {});
      },
    };
  }

  /** The holder whose stale lock this store took over, if any (reported by the engine). */
  takenOver?: Holder;

  async close(): Promise<void> {
    await this.fd?.close();
    this.fd = undefined;
  }

  private async handle(): Promise<FileHandle> {
    if (!this.fd) {
      await mkdir(this.layout.current, { recursive: true });
      this.fd = await open(this.layout.log, "a");
    }
    return this.fd;
  }

  /** state.json is derived; say so when it was truncated or edited (a lagging one is normal after a crash). */
  private async checkStateFile(view: View): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.layout.state, "utf8");
    } catch {
      return undefined;
    }
    let st: StateFile;
    try {
      st = JSON.parse(text) as StateFile;
    } catch (e) {
      return `state.json is not valid JSON (${(e as Error).message}): truncated or edited`;
    }
    if (!st || typeof st !== "object" || typeof st.seq !== "number" || !st.epics || typeof st.epics !== "object") return "state.json does not have the state file's shape";
    if (st.seq > view.seq) return `state.json claims seq ${st.seq} but the log ends at ${view.seq}`;
    if (st.seq === view.seq) {
      const want = JSON.stringify(Object.fromEntries(view.epics));
      if (JSON.stringify(st.epics) !== want || st.hash !== view.hash) return "state.json differs from the state the log gives at the same seq: it was edited";
    }
    return undefined;
  }

  private async readCheckpoint(findings: Recovery["findings"]): Promise<Checkpoint | undefined> {
    let text: string;
    try {
      text = await readFile(this.layout.checkpoint, "utf8");
    } catch {
      return undefined;
    }
    try {
      const cp = JSON.parse(text) as Checkpoint;
      if (cp.version !== 1 || typeof cp.seq !== "number" || typeof cp.offset !== "number" || !Array.isArray(cp.processed) || typeof cp.agents !== "object" || cp.agents === null) throw new Error("unexpected shape");
      return cp;
    } catch (e) {
      findings.push({ decision: "checkpoint_discarded", details: { reason: `checkpoint is unreadable: ${(e as Error).message}`, fix: "Nothing to do: state was rebuilt from the log." } });
      return undefined;
    }
  }

  private async endsWithHash(offset: number, hash: string): Promise<boolean> {
    if (offset === 0) return hash === GENESIS;
    const want = `"hash":"${hash}"}\n`;
    if (offset < want.length) return false;
    const fh = await open(this.layout.log, "r");
    try {
      const buf = Buffer.alloc(want.length);
      await fh.read(buf, 0, want.length, offset - want.length);
      return buf.toString() === want;
    } finally {
      await fh.close();
    }
  }
}

/** Reads [from, to) of a file line by line; returns the trailing text that has no newline. */
async function readLines(fh: FileHandle, from: number, to: number, onLine: (text: string, endOffset: number) => void): Promise<{ tail: string }> {
  const chunk = Buffer.alloc(1 << 20);
  let pos = from;
  let carry: Buffer = Buffer.alloc(0);
  while (pos < to) {
    const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, to - pos), pos);
    if (bytesRead === 0) break;
    const buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
    const base = pos - carry.length;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      onLine(buf.toString("utf8", start, nl), base + nl + 1);
      start = nl + 1;
    }
    carry = Buffer.from(buf.subarray(start));
    pos += bytesRead;
  }
  return { tail: carry.toString("utf8") };
}

export async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as Holder;
  } catch {
    return undefined;
  }
}

/** The folder proper-lockfile makes (and keeps refreshing the mtime of) while the lease is held. */
export const lockPathOf = (L: Layout): string => `${L.lock}.lock`;

/** A lock not refreshed for this long is presumed abandoned (CONSENSUS_LOCK_STALE_MS, default 10 s). */
export function lockStaleMs(): number {
  const v = Number(process.env.CONSENSUS_LOCK_STALE_MS);
  return Number.isFinite(v) && v >= 2000 ? v : 10_000;
}

/** True only when we can tell: same host, and no process with that pid. */
export function holderIsDead(h: Holder): boolean {
  if (h.host !== hostname()) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}
