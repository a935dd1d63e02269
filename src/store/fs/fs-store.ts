/**
 * The embedded store: everything in the root folder. The commit point is the fsync'd append to
 * current/decision_log.jsonl; the processed marks are part of those lines, so "accepted" and
 * "processed" can never disagree. Everything else (checkpoint, state.json, archive copies, notices)
 * is derived and rewritten idempotently after the commit.
 */
import { createReadStream, existsSync, lstatSync, readdirSync } from "node:fs";
import { link, lstat, mkdir, open, readFile, readdir, rmdir, stat, unlink, type FileHandle } from "node:fs/promises";
import { isDerivedFileOf } from "../../machine/effects.js";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fsyncPath, writeAtomic } from "./atomic-write.js";
import { GroupSync, eachLimited } from "./group-sync.js";
import { RECORD_BYTES, encodeMarks, type MarkKind } from "./key-index.js";
import { stateFileProblem } from "./state-file.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { GENESIS, chainHash, sealLine, unsealLine } from "../../log/chain.js";
import { applyEntry, emptyView, messageIdOf, type View } from "../../log/replay.js";
import { agentViewFromJson, agentViewToJson, type AgentViewJson } from "../../log/agent-jobs.js";
import { DigestTable, MarkSet } from "../../log/marks.js";
import type { LogEntry, StateFile } from "../../schemas/types.gen.js";
import type { Layout } from "./layout.js";
import type { AppendResult, CommittedEntry, EffectOptions, Holder, Lease, Notice, Recovery, Store, Txn } from "../port.js";

/**
 * The checkpoint (version 2; the marks live in the append-only checkpoint.keys, valid up to
 * `keys_bytes`). Anything else, such as the version 1 that kept the marks inline, is discarded and the
 * state rebuilt from the log.
 */
interface Checkpoint {
  version: 2;
  seq: number;
  hash: string;
  /** Byte offset just after the line with `seq`; recovery reads the log from here. */
  offset: number;
  /** Line number of that line. */
  lines: number;
  epics: StateFile["epics"];
  /** The consensus.yaml version the epics were decided under. */
  config_version?: string;
  /** The runner's part of the view (a checkpoint without it is rebuilt from the log). */
  agents: AgentViewJson;
  keys_bytes: number;
}

/** Marks digested between two turns of the event loop (~10 ms of SHA-256). */
const ENCODE_SLICE = 10_000;

/** How many files are fsync'd at once before a checkpoint (the libuv pool has 4 threads). */
const SYNC_PARALLEL = 16;

export interface FsStoreOptions {
  readOnly?: boolean;
  /** Lock staleness: a holder that has not refreshed its lock for this long is presumed dead. */
  staleMs?: number;
  onLeaseLost?: (err: Error) => void;
  /** Recover only the epics (status): skip the processed marks and message ids. Implies nothing else. */
  epicsOnly?: boolean;
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
  /** Marks committed since the last checkpoint: appended to checkpoint.keys by the next one. */
  private newMarks: Array<[MarkKind, string]> = [];
  /** Length of checkpoint.keys the last sound checkpoint refers to; bytes after it are cut. */
  private keysBytes = 0;
  /** Effect files and folders written without fsync: synced together before a checkpoint claims them. */
  private unsynced = new Set<string>();
  /** Folders known to exist (saves a mkdir per write). */
  private dirs = new Set<string>();
  private dirSync = new GroupSync();

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
        const loaded = await this.loadCheckpoint(cp, findings);
        if (loaded) {
          view = loaded;
          from = cp.offset;
          this.lines = cp.lines;
        }
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
          this.noteMarks(entry);
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
    const marks: LogEntry[] = [];
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
        marks.push(entry);
      });
    }
    const text = `${prefix}${out.join("\n")}\n`;
    const bytes = Buffer.from(text);
    await fd.write(bytes, 0, bytes.length);
    await fd.datasync();
    for (const e of marks) this.noteMarks(e);
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

  /**
   * Durable before the log entry that names it: the archive copy is made from the blob, and the file
   * in artifacts/ cannot stand in for it after a crash (the agent may already have replaced it with
   * the next iteration). The file's own fdatasync runs in parallel with the batch's other blobs; the
   * folder fsyncs after the renames are shared (group commit) by every blob of the batch in that folder.
   */
  async putBlob(sha256: string, bytes: Uint8Array): Promise<void> {
    const p = this.blobPath(sha256);
    // Content-addressed: a blob that is there has these bytes (it was renamed into place after its fdatasync).
    if (exists(p)) return;
    const created: string[] = [];
    await this.inDir(dirname(p), () => writeAtomic(p, Buffer.from(bytes), { durable: "file" }), (d) => created.push(d));
    await Promise.all([dirname(p), ...created].map((d) => this.dirSync.sync(d)));
  }

  async getBlob(sha256: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.blobPath(sha256));
    } catch {
      return undefined;
    }
  }

  /**
   * The archive copy is a hard link to the blob: no new file to create and no bytes to write (a new
   * inode costs ~20× a link here), and a link appears whole or not at all. Where a link cannot be made
   * (another file system, no link support) it is a copy. Not fsync'd here: a crash before the next
   * checkpoint re-runs it; the checkpoint syncs its folder first.
   */
  async publish(epicId: string, iteration: number, file: string, sha256: string): Promise<void> {
    const target = join(this.layout.archive, epicId, String(iteration), file);
    const blob = this.blobPath(sha256);
    const dir = dirname(target);
    // No stat on the way in: link() is the check. Only when a file is already there (a re-run after a
    // crash, or the same name accepted again) is it compared with the blob, and replaced if it differs
    // (a crash can leave a copy whose data never reached the disk: zero-length).
    try {
      await this.inDir(dir, () => link(blob, target), this.noteUnsynced);
    } catch (e) {
      // ENOENT after the retry is a missing blob (reported by the copy); EXDEV, EPERM…: no links here.
      if (errCode(e) !== "EEXIST") return this.copyBlob(target, sha256);
      if (!(await keepExisting(target, blob))) {
        await unlink(target).catch(ignoreEnoent);
        await link(blob, target).catch(() => this.copyBlob(target, sha256));
      }
    }
    this.unsynced.add(dir);
  }

  private async copyBlob(target: string, sha256: string): Promise<void> {
    const bytes = await this.getBlob(sha256);
    if (!bytes) throw new Error(`blob ${sha256} for ${target} is missing`);
    await this.writeEffect(target, bytes);
  }

  async published(epicId: string): Promise<Array<{ iteration: number; file: string; path: string }>> {
    const dir = join(this.layout.archive, epicId);
    const out: Array<{ iteration: number; file: string; path: string }> = [];
    // readdir on this thread: a few entries of a cached folder, per notice (a pool round trip costs more CPU: issue 17)
    for (const it of readdirQuiet(dir)) {
      if (!/^\d+$/.test(it)) continue;
      for (const file of readdirQuiet(join(dir, it))) {
        if (!file.startsWith(".")) out.push({ iteration: Number(it), file, path: `archive/${epicId}/${it}/${file}` });
      }
    }
    return out.sort((a, b) => a.iteration - b.iteration || a.file.localeCompare(b.file));
  }

  /**
   * Not fsync'd here: a crash before the next checkpoint re-runs it; the checkpoint syncs it first.
   * Live, a notice's name is new, so it is written without a stat. On replay (recovery re-running the
   * entries after the checkpoint) a notice already there with its full size is left alone: not
   * rewritten nor synced again; one missing or short (its data never reached the disk) is written.
   */
  async deliver(notice: Notice, opts: EffectOptions = {}): Promise<void> {
    const target = join(this.layout.inbox, notice.role, notice.name);
    const body = Buffer.from(notice.body);
    if (opts.replay && (await lstat(target).catch(() => undefined))?.size === body.length) return;
    await this.writeEffect(target, body);
  }

  async prune(epicId: string, files: readonly string[]): Promise<void> {
    const emptied = new Set<string>();
    for (const rel of files) {
      if (!isDerivedFileOf(epicId, rel)) continue;
      const target = join(this.layout.root, rel);
      // never through a folder an agent swapped for a link: the parent must be a real folder
      const parent = await lstat(dirname(target)).catch(() => undefined);
      if (!parent?.isDirectory()) continue;
      await unlink(target).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e;
      });
      if (rel.startsWith("logs/")) emptied.add(dirname(target));
    }
    // the epic's agent-log folders, once empty (logs/agents/<EPIC>/<iteration>, then logs/agents/<EPIC>)
    for (const d of [...emptied, ...[...emptied].map((x) => dirname(x))]) await rmdir(d).catch(() => {});
  }

  private async writeEffect(target: string, bytes: Uint8Array): Promise<void> {
    const dir = dirname(target);
    await this.inDir(dir, () => writeAtomic(target, bytes), this.noteUnsynced);
    this.unsynced.add(target);
    this.unsynced.add(dir);
  }

  private readonly noteUnsynced = (d: string): void => void this.unsynced.add(d);

  /**
   * Runs write in dir, making the folder first (cached). A folder removed while we run (an agent or a
   * person cleaned an inbox or an archive iteration) makes write fail with ENOENT: the folder is then
   * forgotten, made again and write retried once. Every folder whose entries changed is passed to created.
   */
  private async inDir<T>(dir: string, write: () => Promise<T>, created: (dir: string) => void): Promise<T> {
    for (const d of await this.ensureDir(dir)) created(d);
    try {
      return await write();
    } catch (e) {
      if (errCode(e) !== "ENOENT") throw e;
      this.dirs.delete(dir);
      for (const d of await this.ensureDir(dir)) created(d);
      return await write();
    }
  }

  /** mkdir -p with a cache; returns the folders whose entries changed (parents of what was created). */
  private async ensureDir(dir: string): Promise<string[]> {
    if (this.dirs.has(dir)) return [];
    const first = await mkdir(dir, { recursive: true });
    this.dirs.add(dir);
    if (!first) return [];
    const changed: string[] = [];
    for (let d = dir; ; d = dirname(d)) {
      changed.push(dirname(d));
      if (d === first || dirname(d) === d) break;
    }
    return changed;
  }

  /** Appends the marks since the last checkpoint to checkpoint.keys (cutting what a failed one left) and syncs it. */
  private async flushMarks(marks: Array<[MarkKind, string]>): Promise<void> {
    // Digested a slice at a time, letting the event loop run between: after a cold start these are
    // every mark of the log (2,000,000 at 1,000,000 lines, seconds of SHA-256), and the checkpoint
    // now runs beside the daemon's work.
    const bytes = Buffer.alloc(marks.length * RECORD_BYTES);
    for (let i = 0; i < marks.length; i += ENCODE_SLICE) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      encodeMarks(marks.slice(i, i + ENCODE_SLICE)).copy(bytes, i * RECORD_BYTES);
    }
    const path = this.layout.checkpointKeys;
    // Created here on first use: its name in .consensus is made durable by the checkpoint's write
    // right after (writeAtomic durable fsyncs that folder).
    const fh = await open(path, existsSync(path) ? "r+" : "w");
    try {
      if ((await fh.stat()).size !== this.keysBytes) await fh.truncate(this.keysBytes);
      if (bytes.length) await fh.write(bytes, 0, bytes.length, this.keysBytes);
      await fh.datasync();
      this.keysBytes += bytes.length;
    } finally {
      await fh.close();
    }
  }

  private noteMarks(e: LogEntry): void {
    if (e.input) this.newMarks.push(["p", e.input]);
    const id = messageIdOf(e);
    if (id !== undefined) this.newMarks.push(["m", id]);
  }

  /**
   * The checkpoint claims that every effect of the entries up to its seq is on disk (recovery re-runs
   * only the ones after it), so the effect files written since the last one are fsync'd first, together.
   */
  async checkpoint(view: View): Promise<void> {
    if (view.seq !== this.seq) throw new Error(`checkpoint of seq ${view.seq} while the log is at ${this.seq}`);
    // Everything it claims is taken now, before the first await: appends may run while it is
    // written (the daemon's next batch), and must find their marks and effects left for the next one.
    const epics = Object.fromEntries(view.epics);
    const base = { seq: view.seq, hash: view.hash, offset: this.offsetAfterHead, lines: this.linesAtHead, epics, ...(view.configVersion ? { config_version: view.configVersion } : {}), agents: agentViewToJson(view.agents) };
    const marks = this.newMarks;
    this.newMarks = [];
    const unsynced = [...this.unsynced];
    this.unsynced.clear();
    const keysBefore = this.keysBytes;
    try {
      await this.writeCheckpoint(base, marks, unsynced);
    } catch (e) {
      for (const p of unsynced) this.unsynced.add(p);
      // marks not yet in checkpoint.keys wait for the next checkpoint
      if (this.keysBytes === keysBefore) this.newMarks = [...marks, ...this.newMarks];
      throw e;
    }
  }

  private async writeCheckpoint(base: Omit<Checkpoint, "version" | "keys_bytes">, marks: Array<[MarkKind, string]>, unsynced: string[]): Promise<void> {
    await mkdir(this.layout.dot, { recursive: true });
    // A file or folder removed since it was written (an agent consumed its notice) has nothing to
    // sync; the folder it was in is in the set too.
    await eachLimited(unsynced, SYNC_PARALLEL, (p) => fsyncPath(p).catch(ignoreEnoent));
    await this.flushMarks(marks);
    const cp: Checkpoint = { version: 2, ...base, keys_bytes: this.keysBytes };
    await writeAtomic(this.layout.checkpoint, JSON.stringify(cp), { durable: true });
    const state: StateFile = { version: 1, seq: base.seq, hash: base.hash, ...(base.config_version ? { config_version: base.config_version } : {}), updated_at: new Date().toISOString(), epics: base.epics };
    await mkdir(this.layout.current, { recursive: true });
    // Synced here (file only, the folder needs no sync: it is rewritten from the log anyway) so that its
    // dirty pages are not flushed by the next drop's fsync on ext4, which made that drop pay for it.
    await writeAtomic(this.layout.state, `${JSON.stringify(state, null, 2)}\n`, { durable: "file" });
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
    const { state: st, problem } = stateFileProblem(text);
    if (!st) return `state.json ${problem}`;
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
    } catch (e) {
      // none yet is normal; one that is there but cannot be read is said, not silently skipped
      if (errCode(e) !== "ENOENT") findings.push({ decision: "checkpoint_discarded", details: { reason: `checkpoint cannot be read: ${errCode(e) ?? (e as Error).message}`, fix: `Check the owner and mode of ${this.layout.checkpoint}; state was rebuilt from the log.` } });
      return undefined;
    }
    try {
      const cp = JSON.parse(text) as Checkpoint;
      const sound = typeof cp.seq === "number" && typeof cp.offset === "number" && cp.epics && typeof cp.epics === "object" && typeof cp.agents === "object" && cp.agents !== null && cp.version === 2 && typeof cp.keys_bytes === "number";
      if (!sound) throw new Error("unexpected shape");
      return cp;
    } catch (e) {
      findings.push({ decision: "checkpoint_discarded", details: { reason: `checkpoint is unreadable: ${(e as Error).message}`, fix: "Nothing to do: state was rebuilt from the log." } });
      return undefined;
    }
  }

  /** The view a sound checkpoint gives, or undefined (with a finding) when its key index is short. */
  private async loadCheckpoint(cp: Checkpoint, findings: Recovery["findings"]): Promise<View | undefined> {
    const view: View = { seq: cp.seq, hash: cp.hash, epics: new Map(Object.entries(cp.epics)), processed: new Set(), messageIds: new Set(), agents: agentViewFromJson(cp.agents), ...(cp.config_version ? { configVersion: cp.config_version } : {}) };
    if (this.opts.epicsOnly) return view;
    if (cp.keys_bytes % RECORD_BYTES !== 0) {
      findings.push({ decision: "checkpoint_discarded", details: { reason: `the checkpoint refers to ${cp.keys_bytes} bytes of its key index, not a whole number of ${RECORD_BYTES}-byte records`, fix: "Nothing to do: state was rebuilt from the log." } });
      return undefined;
    }
    let buf = Buffer.alloc(0);
    if (cp.keys_bytes > 0) {
      try {
        buf = await readFile(this.layout.checkpointKeys);
      } catch {
        buf = Buffer.alloc(0);
      }
      if (buf.length < cp.keys_bytes) {
        findings.push({ decision: "checkpoint_discarded", details: { reason: `the checkpoint's key index ${this.layout.checkpointKeys} has ${buf.length} bytes, not the ${cp.keys_bytes} it refers to (deleted or truncated?)`, fix: "Nothing to do: state was rebuilt from the log." } });
        return undefined;
      }
    }
    const table = new DigestTable(cp.keys_bytes / RECORD_BYTES);
    table.addAll(buf.subarray(0, cp.keys_bytes));
    this.keysBytes = cp.keys_bytes;
    return { ...view, processed: new MarkSet("p", table), messageIds: new MarkSet("m", table) };
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

const errCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

function ignoreEnoent(e: unknown): void {
  if (errCode(e) !== "ENOENT") throw e;
}

function readdirQuiet(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** On this thread, without an error for a missing path: ~3 µs of CPU where a rejected fs.promises.lstat costs ~25 µs (issue 17). */
function exists(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Whether the archive file already there stands for the blob: the same inode (a link) or a copy of its
 * size (copies are written whole, by rename). Also when the blob is gone: there is nothing to replace it with.
 */
async function keepExisting(target: string, blob: string): Promise<boolean> {
  const [t, b] = await Promise.all([stat(target).catch(() => undefined), stat(blob).catch(() => undefined)]);
  if (!t) return false;
  if (!b) return true;
  return (t.dev === b.dev && t.ino === b.ino) || t.size === b.size;
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
