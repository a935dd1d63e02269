/**
 * The embedded store: everything in the root folder. The commit point is the fsync'd append to the
 * log of record, .consensus/log.jsonl (each daemon line hash-chained and sealed with the daemon key's
 * MAC; the first line of each transaction says how many lines it has, so a torn one is discarded
 * whole); the processed marks are part of those lines, so "accepted" and "processed" can never
 * disagree. Everything else (the readable mirror current/decision_log.jsonl, the checkpoint,
 * state.json, archive copies, notices) is derived and rewritten idempotently after the commit.
 */
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { closeSync, constants as fsc, existsSync, fstatSync, lstatSync, openSync, readSync, readdirSync, writeSync, type Stats } from "node:fs";
import { link, lstat, mkdir, open, readFile, readdir, rmdir, stat, unlink, type FileHandle } from "node:fs/promises";
import { isDerivedFileOf } from "../../machine/effects.js";
import { hostname } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { PRIVATE_FILE_MODE, SHARED_FILE_MODE, fsyncPath, writeAtomic } from "./atomic-write.js";
import { EffectFileError } from "./effect-file.js";
import { effectWriter, type EffectWriter } from "./effect-writer.js";
import { startedAtMs, sweepDaemonTemps, type TempSweep } from "./temp-sweep.js";
import { PRIVATE_DIR_MODE, SHARED_DIR_MODE, assertRealDirs, assertStillInsideSync, isRealDir, joinFast, lstatQuiet, safeMkdir, safeMkdirSync } from "./safe-dirs.js";
import { checkEpicId, checkFileName, checkIteration, checkRole, checkSha256 } from "./effect-names.js";
import { GroupSync, eachLimited } from "./group-sync.js";
import { RECORD_BYTES, encodeMarks, type MarkKind } from "./key-index.js";
import { stateFileProblem } from "./state-file.js";
import { CAP, kindOf, readGuarded, readGuardedText } from "./guarded-read.js";
import { assertPrivateArea } from "./private-area.js";
import { assertPrivateAreaReadable } from "./private-denied.js";
import { keyedCopyIn, noticeNameTaken, setAsideEntry } from "./entry-aside.js";
import { breakDeadLock, checkFence, holderProvablyDead, leaseLost, newToken, ownIdentity, readHolderFile, takeoverReason } from "./lease.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { GENESIS, sealLine, unsealLine, type LineCheck } from "../../log/chain.js";
import { RecordReader } from "../../log/record-reader.js";
import { chainWorkerBytes, startChainCheck } from "./chain-check.js";
import { ensureKeyring, keyFileOf, KeyFileError, readKeyring } from "../../trust/key-file.js";
import type { Keyring } from "../../trust/keyring.js";
import { keyedNoticeName } from "../../trust/notice-name.js";
import { adoptOldLog } from "./adopt.js";
import { Pack, SYNC_WRITE_MAX, packAddressOf, recordAt, type PackAddress } from "./pack.js";
import { compactWithLast, epicsTexts, prettyWithLast, putAgentView, putEpics, type EpicsMembers } from "./epics-json.js";
import { Mirror, mirrorTail, mirrorTailSync } from "./mirror.js";
import { EntryGroups, cursorHolds, linesOf, sameTrust, type ReadCursor, type ReadTrust, type WholeCheck } from "./read-entries.js";
import { keysInForce, logMacCheck, logSealer } from "./read-chain.js";
import { applyEntry, emptyView, usedIdsOf, type View } from "../../log/replay.js";
import { agentViewFromJson, type AgentViewJson } from "../../log/agent-jobs.js";
import { DigestTable, MarkSet } from "../../log/marks.js";
import type { Epic, LogEntry, StateFile } from "../../schemas/types.gen.js";
import type { Layout } from "./layout.js";
import type { AppendResult, CommittedEntry, EffectOptions, Holder, Lease, LogLine, MirrorRead, Notice, ReadFrom, RecoverOptions, Recovery, Store, Txn } from "../port.js";
import { afterSeqOf } from "../read-from.js";

/**
 * The checkpoint (version 3; the marks live in the append-only checkpoint.keys, valid up to
 * `keys_bytes`, whose SHA-256 is `keys_sha256`). The file is this object with `"mac"` appended last:
 * the daemon key's MAC ("checkpoint" purpose) of the text before it. One whose MAC does not check,
 * whose key index does not match its digest, or of another version, is discarded and the state
 * rebuilt from the log of record.
 */
interface Checkpoint {
  version: 4;
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
  keys_sha256: string;
  /** The readable mirror: where the next read of agents' lines starts, and lines not yet copied to it. */
  mirror: { read: { offset: number; line: number }; behind: Array<{ seq: number; text: string }> };
  /** End of the last pack record an entry up to `seq` refers to (absent: 0, a root from before the pack). */
  pack_end?: number;
}

/** Marks digested between two turns of the event loop (~10 ms of SHA-256). */
const ENCODE_SLICE = 10_000;

/** How long a daemon waits for a command holding the root (ms): commands hold it for a decision and a commit. */
const COMMAND_WAIT_MS = 30_000;

/** At most this many bytes (and records) just packed are kept for their archive copies (FsStore.forCopy). */
const FOR_COPY_MAX_BYTES = 64 * 1024 * 1024;
const FOR_COPY_MAX_COUNT = 8192;

/**
 * From this many files and folders to sync before a checkpoint, their file systems are synced whole
 * (syncfs(2), by coreutils `sync -f`) rather than each fsync'd: 8,000 paths (a burst of 2,000 drops)
 * cost 330–480 ms of the daemon's CPU one by one and ~5 ms as one child process (issue 17.2).
 */
const SYNCFS_MIN = 64;

/**
 * Archive copies over SYNC_WRITE_MAX made at once: each holds its bytes (up to max_file_bytes, 100 MiB;
 * on replay the copy already there too) and a file open in the pool until it is written. The bound the
 * 16 effect lanes gave before they became 128 for the small files (issue 17.2).
 */
const LARGE_COPIES = 16;

/** How many files are fsync'd at once before a checkpoint (the libuv pool has 4 threads). */
const SYNC_PARALLEL = 16;

export interface FsStoreOptions {
  readOnly?: boolean;
  /** Lock staleness: a holder that has not refreshed its lock for this long is presumed dead. */
  staleMs?: number;
  onLeaseLost?: (err: Error) => void;
  /** Recover only the epics (status): skip the processed marks and message ids. Implies nothing else. */
  epicsOnly?: boolean;
  /**
   * Told of an entry another user left at a notice's name (a folder, FIFO, link …) that was renamed
   * aside so the notice could be written (entry-aside.ts): paths relative to the root.
   */
  onNoticeNameFreed?: (a: { file: string; moved_to: string; uid: number; found: string }) => void;
  /**
   * Told when a notice was written at its keyed fallback name (trust/notice-name.ts) because its
   * regular name was taken again after being renamed aside, or could not be taken: the regular name
   * (`file`) and `written_to` relative to the root, the uid of what holds the regular name (undefined
   * when it was gone again before the daemon could look at it), what it is ("a folder"), and the error
   * the write at the regular name failed with.
   */
  onNoticeKeyedName?: (a: { file: string; written_to: string; uid: number | undefined; found: string; cause: string }) => void;
  /**
   * Small effect files (notices, archive copies) written on a worker thread (effect-writer.ts): the
   * daemon's choice, so their inodes are made on the second core. Without it, on the calling thread.
   */
  effectWorker?: boolean;
  /** Told once if that worker fails or exits on its own: its writes, and every later one, then run on the calling thread. */
  onEffectWorkerFailed?: (err: Error) => void;
  /**
   * Told what an archive folder held of a killed writer's temporaries when a copy was re-run into it
   * (recovery, or a failed copy tried again: publish on replay), once per folder and only when there
   * was something: those removed and the look-alikes left (temp-sweep.ts).
   */
  onTempSweep?: (s: TempSweep) => void;
}

export class FsStore implements Store {
  private fd?: FileHandle;
  private size = 0;
  private lines = 0;
  private seq = 0;
  private head = GENESIS;
  /** Raw text of agents' lines since the last daemon line: chained into the next daemon hash. */
  private foreignText = "";
  private offsetAfterHead = 0;
  private linesAtHead = 0;
  /** Marks committed since the last checkpoint: appended to checkpoint.keys by the next one. */
  private newMarks: Array<[MarkKind, string]> = [];
  /** Length of checkpoint.keys the last sound checkpoint refers to; bytes after it are cut. */
  private keysBytes = 0;
  /** SHA-256 of checkpoint.keys up to keysBytes, kept running (the checkpoint's MAC covers its digest). */
  private keysHash = createHash("sha256");
  /** Effect files and folders written without fsync: synced together before a checkpoint claims them. */
  private unsynced = new Set<string>();
  private dirSync = new GroupSync();
  /** The daemon key (loaded by recover; read lazily by readers). */
  private ring?: Keyring;
  private mirrorOf?: Mirror;
  private sealer?: (signed: string) => string;
  private checker?: LineCheck;
  /** The pack (pack.ts), opened at the first artifact a writer stores. */
  private pack?: Promise<Pack>;
  /** End of the last pack record a committed entry refers to: where the pack's next record may go after a restart. */
  private packEnd = 0;
  /**
   * Pack records by SHA-256: those the log's entries name (recovery, commits) and those found in the pack
   * when it was opened (pack.scan). Every use reads a record through its SHA-256 check, so one that is
   * not whole is never taken for the bytes (putBlob then writes a new one).
   */
  private records = new Map<string, PackAddress>();
  /** Records being written (putBlob in flight), by SHA-256. */
  private packing = new Map<string, Promise<PackAddress>>();
  /** Set by recover(): where the pack's next record goes is known. */
  private recovered = false;

  constructor(
    readonly layout: Layout,
    private readonly opts: FsStoreOptions = {},
  ) {
    this.effects = effectWriter({ worker: opts.effectWorker === true && !opts.readOnly, onFailed: opts.onEffectWorkerFailed });
  }

  /** The daemon keyring: made on first use by a writer (and said so), read by readers. */
  private async keyring(findings?: Recovery["findings"]): Promise<Keyring | undefined> {
    if (this.ring) return this.ring;
    try {
      if (this.opts.readOnly) {
        this.ring = await readKeyring(this.layout.dot);
      } else {
        const { keyring, created } = await ensureKeyring(this.layout.dot);
        this.ring = keyring;
        if (created) findings?.push({ decision: "daemon_key_created", details: { key_id: keyring.current.id, file: keyFileOf(this.layout.dot), reason: "there was no daemon key: one was made (the log of record and the checkpoint are sealed with it)", fix: "Back up .consensus/keys/daemon.key with the root; `consensus keys rotate` replaces it." } });
      }
    } catch (e) {
      if (this.opts.readOnly && (e instanceof KeyFileError || ["EACCES", "EPERM"].includes(errCode(e) ?? ""))) {
        // A reader that cannot use the daemon key (another user: CI, a person's own account) checks the
        // chain only; what it reads is in the private area, which only the daemon writes. Said, not hidden.
        this.macsUnchecked = e instanceof KeyFileError ? e.message : `${keyFileOf(this.layout.dot)}: ${errCode(e)}`;
        return undefined;
      }
      if (!(e instanceof KeyFileError)) throw e;
      throw new ConsensusError(issue(e.code, { message: e.message, file: e.file, fix: e.fix }));
    }
    return this.ring;
  }

  /** Set when this (read-only) store could not use the daemon key: why; lines were then checked by their chain only. */
  macsUnchecked?: string;

  private lineCheck(ring: Keyring | undefined): LineCheck | undefined {
    if (!ring) return undefined;
    this.checker ??= logMacCheck(ring);
    return this.checker;
  }

  /** Whether a mirror line that claims to be the daemon's is one of its sealed lines (MAC checks, seq already committed). */
  private genuine(ring: Keyring | undefined, text: string, upTo = this.seq): boolean {
    const s = unsealLine(text);
    // sealed by a key in force: a key id the ring does not hold proves nothing (anyone can write one)
    if (!s || s.mac === undefined || !ring || this.lineCheck(ring)!(s.signed, s.mac) !== true) return false;
    const seq = (JSON.parse(text) as { seq?: unknown }).seq;
    return typeof seq === "number" && seq <= upTo;
  }

  private mirror(ring: Keyring | undefined): Mirror {
    this.mirrorOf ??= new Mirror(this.layout.log, (t) => this.genuine(ring, t), mirrorSettleMs());
    return this.mirrorOf;
  }

  async recover(opts: RecoverOptions = {}): Promise<Recovery> {
    const L = this.layout;
    const prelude: Recovery["findings"] = [];
    const ring = await this.keyring(prelude);
    if (!this.opts.readOnly && ring) {
      const adopted = await adoptOldLog(L, (s) => ring.mac("log", s));
      if (adopted) prelude.push({ decision: "log_adopted", details: { from: "current/decision_log.jsonl", to: ".consensus/log.jsonl", lines: adopted.lines, daemon_lines: adopted.daemonLines, agent_lines: adopted.agentLines, last_seq: adopted.lastSeq, ...(adopted.tornBytes ? { torn_bytes_left_out: adopted.tornBytes } : {}), reason: "this root kept its log only in current/decision_log.jsonl: its verified chain is now the log of record, each daemon line sealed with the daemon key", fix: "Nothing to do. current/decision_log.jsonl stays as the readable copy; status, log and gate read .consensus/log.jsonl." } });
    }
    // one MAC for an intact log; a MAC per line (naming each forged one) when it is not (RecordReader deferMacs)
    const fast = await this.recoverFrom(ring, prelude, opts, true);
    if (fast) return fast;
    this.newMarks = [];
    this.packEnd = 0;
    this.records.clear();
    this.keysBytes = 0;
    this.keysHash = createHash("sha256");
    this.lines = 0;
    await this.mirrorOf?.close();
    this.mirrorOf = undefined;
    return (await this.recoverFrom(ring, prelude, opts, false))!;
  }

  /** recover() after the key and the adoption: undefined when deferMacs found the log not intact (nothing was changed on disk). */
  private async recoverFrom(ring: Keyring | undefined, prelude: Recovery["findings"], opts: RecoverOptions, deferMacs: boolean): Promise<Recovery | undefined> {
    const L = this.layout;
    const findings: Recovery["findings"] = [...prelude];
    let view = emptyView();
    let from = 0;
    // a reader that cannot use the key cannot tell a sealed checkpoint from an edited one: it rebuilds
    const cp = !ring && this.opts.readOnly ? undefined : await this.readCheckpoint(findings, ring);
    let logSize = 0;
    try {
      logSize = (await stat(L.record)).size;
    } catch {
      logSize = 0;
    }
    const mirror = this.opts.readOnly ? undefined : this.mirror(ring);
    let behind: Array<{ seq: number; text: string }> = [];
    if (cp) {
      if (cp.offset > logSize) {
        findings.push({ decision: "checkpoint_discarded", details: { reason: `checkpoint is at byte ${cp.offset} but the log of record has ${logSize} bytes (truncated?)`, fix: "Nothing to do: state was rebuilt from the log." } });
      } else if (!(await this.endsWithHash(cp.offset, cp.hash))) {
        findings.push({ decision: "checkpoint_discarded", details: { reason: `the log line before byte ${cp.offset} does not carry the checkpoint's hash (log edited?)`, fix: "Run `consensus log verify`; state was rebuilt from the log." } });
      } else {
        const loaded = await this.loadCheckpoint(cp, findings);
        if (loaded) {
          view = loaded;
          from = cp.offset;
          this.lines = cp.lines;
          this.packEnd = typeof cp.pack_end === "number" && Number.isSafeInteger(cp.pack_end) && cp.pack_end >= 0 ? cp.pack_end : 0;
          if (mirror) {
            mirror.readAt = { ...cp.mirror.read };
            behind = cp.mirror.behind;
          }
        }
      }
    }
    // the last of the daemon's lines the mirror has: what the record has after it is copied again
    // the daemon's lines at the mirror's end, believed only where byte-equal to the record's line of
    // their seq (checked as the record is read): what the record has after the last of them is copied again
    const tail = mirror ? await mirrorTail(L.log) : new Map<number, string[]>();
    let from0: number | undefined;
    for (const k of tail.keys()) if (from0 === undefined || k < from0) from0 = k;
    let mirrored = 0;
    const confirm = (seq: number, text: string): void => {
      if (seq > mirrored && tail.get(seq)?.includes(text)) mirrored = seq;
    };
    for (const b of behind) confirm(b.seq, b.text);
    if (from0 !== undefined) behind = behind.filter((b) => b.seq >= from0);
    const unapplied: CommittedEntry[] = [];
    let replayed = 0;
    const packCheck = logSize > from ? await this.packChecker(logSize, findings, (seq, text) => tail.get(seq)?.includes(text) === true) : undefined;
    // a big cold replay: the chain's SHA-256 on the second core, the one MAC here (chain-check.ts)
    const hashCheck = deferMacs && ring && logSize > from && logSize - from >= chainWorkerBytes() ? startChainCheck({ head: view.hash, foreign: "", lines: this.lines }) : undefined;
    const reader = new RecordReader({ seq: view.seq, head: view.hash, foreignText: "", foreignLines: [], offset: from, lines: this.lines }, this.lineCheck(ring), (txn) => {
      for (const l of txn) {
        const addr = packAddressOf(l.entry);
        if (addr) this.notePacked(addr);
        applyEntry(view, l.entry);
        this.noteMarks(l.entry);
        if (mirror) this.noteMirror(l.entry, mirror);
        if (mirror) {
          confirm(l.entry.seq, l.text);
          if (from0 === undefined || l.entry.seq >= from0) behind.push({ seq: l.entry.seq, text: l.text });
        }
        // the parsed line is ours: its hash is there already, the MAC goes (delete of the last
        // property keeps the object's shape fast); no copy per line (issue 17.4)
        const entry = l.entry as CommittedEntry & { mac?: string };
        delete entry.mac;
        replayed++;
        if (!opts.keep || opts.keep(entry)) unapplied.push(entry);
      }
    }, { ...(packCheck ? { whole: packCheck.whole } : {}), deferMacs, deferHashes: hashCheck !== undefined });
    let torn = 0;
    if (logSize > from) {
      const fh = await open(L.record, "r").catch((e: unknown) => {
        hashCheck?.stop();
        throw e;
      });
      try {
        const { tail } = await readLines(
          fh,
          from,
          logSize,
          (text, end) => {
            // a break the worker found already: what was taken unchecked up to it is not believed
            if (hashCheck?.broken !== undefined && !reader.needFull) reader.hashesChecked(hashCheck.broken);
            reader.push(text, end);
          },
          hashCheck &&
            ((bytes, length) => {
              // a full read follows whatever the worker says: it is not fed (nor waited for) any longer
              if (!reader.needFull) return hashCheck.feed(bytes, length);
              hashCheck.stop();
              return undefined;
            }),
        );
        torn = reader.finish(tail !== "");
        // nothing read is used before the worker has checked the chain hashes the reader took unchecked
        // (a break found here already reads again: the worker is not waited for)
        if (hashCheck && !reader.needFull) reader.hashesChecked(await hashCheck.verdict());
      } finally {
        hashCheck?.stop();
        await fh.close();
        packCheck?.close();
      }
    } else reader.finish(false);
    if (reader.needFull) return undefined;
    findings.push(...reader.findings);
    const c = reader.committed;
    if (torn && reader.stopped) {
      findings.push({ decision: "log_torn_transaction", details: { line: reader.stopped.line, seq: reader.stopped.seq, lines: torn, bytes: logSize - c.offset, pack: this.layout.pack, reason: "the last commit of the log of record reached the disk but the artifact bytes it accepted did not (.consensus/pack; a crash between the two flushes, which run together): nothing was acted on for it, so it was never committed; it was discarded from that transaction on, and its inputs are decided again", fix: "Nothing to do." } });
    } else if (torn) {
      findings.push({ decision: "log_torn_transaction", details: { line: c.lines + 1, lines: torn, bytes: logSize - c.offset, reason: "the last transaction of the log of record was not written whole (crash or disk full): it was discarded whole, and its input is decided again", fix: "Nothing to do. If the disk is full, free space (`df -h`)." } });
    }
    if (torn) {
      if (!this.opts.readOnly) {
        const fh = await open(L.record, "r+");
        try {
          await fh.truncate(c.offset);
          await fh.datasync();
        } finally {
          await fh.close();
        }
        logSize = c.offset;
      }
    }
    this.seq = c.seq;
    this.head = c.head;
    this.foreignText = c.foreignText;
    this.offsetAfterHead = c.offset;
    this.linesAtHead = c.lines;
    this.lines = c.lines;
    this.size = this.opts.readOnly ? logSize : c.offset;
    view.seq = this.seq;
    view.hash = this.head;
    this.recovered = true;
    if (!this.opts.readOnly && this.packEnd > 0 && !findings.some((f) => f.decision === "pack_record_damaged")) {
      // records the log refers to, before the checkpoint too: a pack cut or removed is said at start
      const size = lstatSync(L.pack, { throwIfNoEntry: false })?.size;
      if (size === undefined || size < this.packEnd) findings.push({ decision: "pack_record_damaged", details: { pack: L.pack, bytes: size ?? 0, refers_to: this.packEnd, reason: `${L.pack} ${size === undefined ? "is missing" : `has ${size} bytes`}, but the log of record refers to records up to byte ${this.packEnd}: accepted artifacts' bytes were removed, cut, or restored from an older backup`, fix: `Nothing was cut from the log of record, and archive/ holds the copies made. Restore ${L.pack} from a backup taken after the log's last artifact_accepted entry; never truncate or remove it (it is mostly zeros by design: preallocated).` } });
    }
    if (mirror) {
      // the mirror lacks what was committed but not copied before a crash (or was cut): copy it again
      mirror.copiedSeq = mirrored;
      const missing = behind.filter((b) => b.seq > mirrored);
      if (missing.length) await mirror.copy(missing);
    }
    if (!this.opts.readOnly) {
      const problem = await this.checkStateFile(view);
      if (problem) findings.push({ decision: "state_file_repaired", details: { file: this.layout.state, reason: problem, fix: "Nothing to do: state.json was rewritten from the log. Never edit it by hand; it is derived." } });
    }
    return { view, unapplied, replayed, findings };
  }

  /**
   * The check of the artifact bytes the log's entries accepted (issue 17.1), for recovery and readers.
   * The commit flushes the log and the pack together and acts only when both returned, so only the
   * log's last commit can hold an entry whose record did not reach the disk: such a transaction (its
   * lines carry the last line's timestamp, which every line of one commit shares) was never committed,
   * and it and all after it are cut (`whole` answers false) — unless the readable copy holds its lines
   * (`copied`), which are written only after both flushes. A record that is not whole otherwise is damage (the pack was cut, removed or overwritten): reported once per entry as
   * pack_record_damaged, nothing cut, so the log of record stays whole; the archive copy, if made, still
   * holds the bytes. `recordFd`: the log of record already open (a reader's: the file its lines come
   * from, not opened again by path at every read); without it the record is opened by path.
   */
  private async packChecker(logSize: number, findings: Recovery["findings"], copied: (seq: number, text: string) => boolean, recordFd?: number): Promise<{ whole: (lines: Array<{ entry: LogEntry & { seq: number }; line: number; text: string }>) => boolean; close: () => void }> {
    const last = await lastLineTimestamp(this.layout.record, logSize, recordFd);
    let fd: number | undefined;
    try {
      fd = openSync(this.layout.pack, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
      if (!fstatSync(fd).isFile()) {
        closeSync(fd);
        fd = undefined;
      }
    } catch {
      fd = undefined;
    }
    const whole = (lines: Array<{ entry: LogEntry & { seq: number }; line: number; text: string }>): boolean => {
      for (const l of lines) {
        const a = packAddressOf(l.entry);
        if (!a || (fd !== undefined && recordAt(fd, a) !== undefined)) continue;
        // the last commit, unless its lines are in the readable copy: that copy is written only after
        // both flushes returned, so a commit found there was acted on, and its record was damaged since
        if (l.entry.timestamp === last && !copied(l.entry.seq, l.text)) return false;
        findings.push({ decision: "pack_record_damaged", details: { line: l.line, seq: l.entry.seq, ...(l.entry.epic_id ? { epic_id: l.entry.epic_id } : {}), file: (l.entry.details as { file?: unknown }).file, sha256: a.sha256, pack: this.layout.pack, offset: a.offset, length: a.length, reason: `the artifact bytes this entry accepted are not whole in ${this.layout.pack} (${fd === undefined ? "the pack is missing or not a file" : "their SHA-256 does not match"}), though later commits prove they once were: the pack was cut, removed or overwritten`, fix: `Nothing was cut from the log of record. The archive copy (archive/${l.entry.epic_id ?? "<epic>"}/${l.entry.iteration ?? "<iteration>"}/) holds the bytes if it was made; restore .consensus/pack from a backup to have them here too.` } });
      }
      return true;
    };
    return { whole, close: () => void (fd !== undefined && closeSync(fd)) };
  }

  /** A record an entry (committed, or read by recovery) refers to: where the next may go, and where getBlob and publish find its bytes. */
  private notePacked(addr: PackAddress): void {
    this.packEnd = Math.max(this.packEnd, Pack.end(addr));
    this.records.set(addr.sha256, addr);
  }

  /** The read cursor of the mirror, as recorded by the entry that recorded what was read (details.mirror). */
  private noteMirror(e: LogEntry, mirror: Mirror): void {
    const m = (e.details as { mirror?: { offset?: unknown; line?: unknown } } | undefined)?.mirror;
    if (m && typeof m.offset === "number" && typeof m.line === "number" && m.offset >= mirror.readAt.offset) mirror.readAt = { offset: m.offset, line: m.line };
  }

  async append(txns: Txn[], timestamp: string, expectedSeq: number): Promise<AppendResult> {
    if (this.opts.readOnly) throw new Error("store opened read-only");
    if (expectedSeq !== this.seq) throw new Error(`log is at seq ${this.seq}, not ${expectedSeq}: another writer appended`);
    await this.fence();
    const ring = await this.keyring();
    if (!ring) throw new Error("no daemon key");
    this.sealer ??= logSealer(ring);
    const mac = this.sealer;
    const fd = await this.handle();
    const out: string[] = [];
    const entries: CommittedEntry[] = [];
    const daemonLines: Array<{ seq: number; text: string }> = [];
    /** Pack records these entries refer to: flushed with the log. */
    let records = 0;
    let seq = this.seq;
    let head = this.head;
    let foreign = this.foreignText;
    for (const t of txns) {
      for (const f of t.foreign ?? []) {
        out.push(f);
        foreign += `${f}\n`;
      }
      t.drafts.forEach((d, i) => {
        const last = i === t.drafts.length - 1;
        // the first line of a transaction says how many lines it has: a torn one is discarded whole
        const entry = { seq: ++seq, ...(i === 0 ? { txn: t.drafts.length } : {}), timestamp, agent: "orchestrator", decision: d.decision } as LogEntry;
        if (d.epic_id !== undefined) entry.epic_id = d.epic_id;
        if (d.iteration !== undefined) entry.iteration = d.iteration;
        entry.details = d.details;
        const rec = d.decision === "artifact_accepted" ? this.records.get(String((d.details as { sha256?: unknown } | undefined)?.sha256)) : undefined;
        if (rec) {
          // where recovery finds the accepted bytes, and checks them (pack.ts)
          entry.details = { ...d.details, pack: { offset: rec.offset, length: rec.length } };
          records++;
        }
        // an unchanged state is left out of the line (Txn.same), not out of the entry handed back
        if (last && t.state && !t.same) entry.state = t.state;
        if (last && t.input) entry.input = t.input;
        const sealed = sealLine(JSON.stringify(entry), head, foreign, mac);
        foreign = "";
        head = sealed.hash;
        out.push(sealed.line);
        daemonLines.push({ seq, text: sealed.line });
        entries.push({ ...entry, ...(last && t.state ? { state: t.state } : {}), hash: sealed.hash } as CommittedEntry);
      });
    }
    const bytes = Buffer.from(`${out.join("\n")}\n`);
    await this.writeWhole(fd, bytes, records ? await this.openPack() : undefined);
    for (const e of entries) {
      this.noteMarks(e);
      const addr = packAddressOf(e);
      if (addr) this.notePacked(addr);
    }
    const mirror = this.mirror(ring);
    for (const e of entries) this.noteMirror(e, mirror);
    this.size += bytes.length;
    this.lines += out.length;
    this.seq = seq;
    this.head = head;
    this.foreignText = "";
    this.offsetAfterHead = this.size;
    this.linesAtHead = this.lines;
    // the readable copy, after the commit (a failure here is repaired by the next copy or at recovery)
    await mirror.copy(daemonLines);
    return { entries, foreign: [] };
  }

  /**
   * The commit point: every byte written and fdatasync'd, or nothing. A short write or an error
   * (ENOSPC, EIO) cuts the file back to where it was and fails the batch (LOG_WRITE_FAILED); the
   * batch is decided again later. Were the cut to fail too, recovery discards the torn transaction.
   */
  private async writeWhole(fd: FileHandle, bytes: Buffer, pack?: Pack): Promise<void> {
    let off = 0;
    try {
      // a commit's lines (small) go into the page cache on this thread: through the pool the write
      // waited behind effects' I/O (p99 2.4 ms, up to 10 ms: issue 17.3); a large one in the pool
      const small = bytes.length <= SYNC_WRITE_MAX;
      while (off < bytes.length) {
        const bytesWritten = small ? writeSync(fd.fd, bytes, off, bytes.length - off) : (await fd.write(bytes, off, bytes.length - off)).bytesWritten;
        if (bytesWritten <= 0) throw Object.assign(new Error("no bytes written"), { code: "ENOSPC" });
        off += bytesWritten;
      }
      // the log and the pack records its entries refer to, flushed together: nothing is acted on
      // before both returned, and recovery cuts a last commit whose records did not reach the disk
      const flushed = await Promise.allSettled([fd.datasync(), pack?.flush()]);
      for (const f of flushed) if (f.status === "rejected") throw f.reason;
    } catch (e) {
      await fd.truncate(this.size).catch(() => {});
      await fd.datasync().catch(() => {});
      throw new ConsensusError(issue("LOG_WRITE_FAILED", { message: `could not append ${bytes.length} bytes to the log of record (${errCode(e) ?? (e as Error).message}; ${off} were written and cut back): nothing was committed`, file: this.layout.record }));
    }
  }

  async readMirror(): Promise<MirrorRead | undefined> {
    if (this.opts.readOnly) return undefined;
    const mirror = this.mirror(await this.keyring());
    const read = await mirror.read();
    const problem = mirror.takeProblem();
    const r: MirrorRead | undefined = problem ? { entries: [], forged: [], cursor: { ...mirror.readAt }, ...read, unusable: problem } : read;
    if (!r) return undefined;
    if (!r.entries.length && !r.forged.length && !r.oversized?.length && !r.shrunk && !r.unusable) {
      // only the daemon's own copies: nothing to record
      mirror.readAt = r.cursor;
      return undefined;
    }
    return r;
  }

  /**
   * The log of record in order: the daemon's sealed lines, whole transactions only (one still being
   * written, or torn, is left out), and the agents' lines the daemon recorded. Lines that claim to be
   * the daemon's but whose MAC does not check are left out (recovery and `log verify` report them).
   * With `from`, what follows the daemon's line of that seq (port.ts): read on from where an earlier
   * read of this store stopped when that is at or before it and still holds (read-entries.ts), else
   * from the start; either way the same lines, checked the same way.
   */
  async *readEntries(from?: ReadFrom): AsyncIterable<LogLine> {
    const after = afterSeqOf(from);
    if (!existsSync(this.layout.record)) return;
    const ring = await this.keyring();
    const check = this.lineCheck(ring);
    // judged now: a cursor made under other answers of the MAC check (a key retired since, or the key
    // unreadable then) is not read on from
    const trust = (): ReadTrust => ({ check, inForce: ring ? keysInForce(ring) : "" });
    const judged = trust();
    // gone since (a root being removed): as if it had not been there
    const fh = await open(this.layout.record, "r").catch((e: unknown) => {
      if (errCode(e) === "ENOENT") return undefined;
      throw e;
    });
    if (!fh) return;
    let pack: { whole: WholeCheck; close: () => void } | undefined;
    try {
      const st = await fh.stat();
      const size = st.size;
      // the furthest cursor at or before `after` (a wait that is behind another reads on from its own,
      // not from the start; one ahead reads on from the furthest, not from a laggard's)
      const c = this.readAt.reduce<ReadCursor | undefined>((best, r) => (r.seq <= after && r.dev === st.dev && r.ino === st.ino && sameTrust(r.trust, judged) && (!best || r.offset >= best.offset) ? r : best), undefined);
      const start = c && (await cursorHolds(fh, c, size)) ? c : undefined;
      // its line is not where it was (the log was cut back or rewritten at or before it): no cursor after it holds either
      if (c && !start) this.readAt = this.readAt.filter((r) => r.offset < c.offset);
      // the last commit's artifact bytes must be whole in the pack, as recovery requires (packChecker);
      // the readable copy's end is read only if a record is not whole (rare), not at every read; a
      // cursor at the end (a wait woken with nothing new) has no line to check: no pack opened
      let tail: Map<number, string[]> | undefined;
      pack = size > (start?.offset ?? 0) ? await this.packChecker(size, [], (seq, text) => (tail ??= mirrorTailSync(this.layout.log)).get(seq)?.includes(text) === true, fh.fd) : undefined;
      let fromSeq = after;
      if (start) {
        const g = new EntryGroups(check, pack?.whole, after, start);
        yield* this.readGroups(fh, g, start.offset, size, st, judged, trust);
        if (!g.broken) return;
        // cut back, rewritten or edited after the cursor: read from the start, after what was given out
        fromSeq = Math.max(after, g.givenTo);
      }
      yield* this.readGroups(fh, new EntryGroups(check, pack?.whole, fromSeq), 0, size, st, judged, trust);
    } finally {
      pack?.close();
      await fh.close();
    }
  }

  /**
   * Where the latest reads of the log of record stopped, oldest first (at most READ_CURSORS, one per
   * offset): readEntries reads on from the furthest one at or before its `afterSeq`, so waits that read
   * after different seqs (several on one store) each read what is new to them.
   */
  private readAt: ReadCursor[] = [];

  /** Bytes of the log of record readEntries has read, in all (what a wait on the log costs: a measure, nothing depends on it). */
  bytesRead = 0;

  /**
   * Feeds [from, size) of the log of record to `g`, yields what it gives out, and keeps where it stopped
   * as the next read's cursor: judged under `judged`, kept only if `now()` still judges alike at the end
   * (a key that retired during the read leaves no cursor).
   */
  private async *readGroups(fh: FileHandle, g: EntryGroups, from: number, size: number, st: Stats, judged: ReadTrust, now: () => ReadTrust): AsyncIterable<LogLine> {
    try {
      for await (const lines of linesOf(fh, from, size)) {
        this.bytesRead += (lines.at(-1)!.end ?? size) - from;
        from = lines.at(-1)!.end ?? size;
        // a plain loop: yield* over each line's (mostly empty) array would wait a turn per line
        for (const l of lines) for (const out of g.push(l.text, l.end)) yield out;
        if (g.broken) return;
      }
      for (const out of g.finish()) yield out;
    } finally {
      if (g.end && !g.broken && sameTrust(judged, now())) {
        const kept = this.readAt.filter((r) => r.offset !== g.end!.offset || r.dev !== st.dev || r.ino !== st.ino);
        kept.push({ ...g.end, last: Buffer.from(`${g.end.lastText}\n`), dev: st.dev, ino: st.ino, trust: judged });
        this.readAt = kept.slice(-READ_CURSORS);
      }
    }
  }

  private blobPath(sha256: string): string {
    checkSha256(sha256);
    return join(this.layout.blobs, sha256.slice(0, 2), sha256);
  }

  /**
   * Writes the artifact's bytes as a record of the pack (pack.ts), not yet durable: the append that
   * commits the entry accepting them flushes the pack together with the log (one flush on the critical
   * path, not three in series: issue 17.1), and the entry carries the record's address (details.pack)
   * for recovery to check. Bytes already in the pack (a record found when it was opened, or named by an
   * entry since) are not written again: that record is used, once checked whole.
   * Throws when the store was not recovered first (where the pack's next record goes is learnt there).
   */
  async putBlob(sha256: string, bytes: Uint8Array): Promise<void> {
    checkSha256(sha256);
    let p = this.packing.get(sha256);
    if (!p) {
      const writing = new Promise<PackAddress>((resolve, reject) => {
        // a batch asks for its blobs in one turn (Engine.processOnce): written together, with one write
        if (!this.blobQueue.length) queueMicrotask(() => void this.packQueued());
        this.blobQueue.push({ sha256, bytes, resolve, reject });
      });
      p = writing;
      this.packing.set(sha256, writing);
      writing.then(
        (addr) => {
          if (this.packing.get(sha256) === writing) this.packing.delete(sha256);
          this.records.set(sha256, addr);
        },
        () => {
          if (this.packing.get(sha256) === writing) this.packing.delete(sha256);
        },
      );
    }
    await p;
  }

  /** Blobs asked for in this turn of the event loop, not yet handed to the pack. */
  private blobQueue: Array<{ sha256: string; bytes: Uint8Array; resolve: (a: PackAddress) => void; reject: (e: unknown) => void }> = [];

  /**
   * The queued blobs, appended to the pack in one call (one write for a batch, not a thread-pool
   * round trip per blob: issue 17.2). Bytes already in the pack (accepted before, in this process or
   * another) are not written again: that record, once checked whole.
   */
  private async packQueued(): Promise<void> {
    const queued = this.blobQueue.splice(0);
    try {
      const pack = await this.openPack();
      const fresh: typeof queued = [];
      for (const q of queued) {
        const there = this.records.get(q.sha256);
        if (there && (await pack.read(there))) q.resolve(there);
        else fresh.push(q);
      }
      if (!fresh.length) return;
      const addrs = await pack.append(fresh);
      fresh.forEach((q, i) => {
        this.keepForCopy(q.sha256, q.bytes);
        q.resolve(addrs[i]!);
      });
    } catch (e) {
      for (const q of queued) q.reject(e); // those resolved already stay so
    }
  }

  /**
   * Bytes this process just appended to the pack, by SHA-256, until their archive copy is written
   * (publishFromPack): the copy is made from them, not read back from the pack and hashed again (a
   * thread-pool round trip and a SHA-256 per accepted artifact: issue 17.2). They are the very bytes
   * the record holds (the reader hashed them into the SHA-256 the record and the entry carry). Bounded:
   * bytes whose commit failed, or whose copy is never asked for, are dropped oldest first.
   */
  private forCopy = new Map<string, Uint8Array>();
  private forCopyBytes = 0;

  private keepForCopy(sha256: string, bytes: Uint8Array): void {
    if (this.forCopy.has(sha256) || bytes.length > FOR_COPY_MAX_BYTES) return;
    // what is held is what is counted: a view into a larger buffer (a file that shrank between its
    // fstat and its read) is kept as a copy of its own bytes (review)
    this.forCopy.set(sha256, bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes));
    this.forCopyBytes += bytes.length;
    for (const [sha, b] of this.forCopy) {
      if (this.forCopyBytes <= FOR_COPY_MAX_BYTES && this.forCopy.size <= FOR_COPY_MAX_COUNT) break;
      this.forCopy.delete(sha);
      this.forCopyBytes -= b.length;
    }
  }

  private takeForCopy(sha256: string): Uint8Array | undefined {
    const b = this.forCopy.get(sha256);
    if (b) {
      this.forCopy.delete(sha256);
      this.forCopyBytes -= b.length;
    }
    return b;
  }

  /** The pack, opened (made, when there is none) where the last record a committed entry refers to ends. */
  private async openPack(): Promise<Pack> {
    if (this.opts.readOnly) throw new Error("store opened read-only");
    if (!this.recovered) throw new Error("recover() the store before writing to it: the pack's next record goes after the last one the log refers to");
    this.pack ??= (async () => {
      await safeMkdir(this.layout.root, this.layout.dot, PRIVATE_DIR_MODE);
      const pack = await Pack.open(this.layout.pack, this.packEnd, { extend: true });
      for (const [sha, a] of pack.scan(this.packEnd)) if (!this.records.has(sha)) this.records.set(sha, a);
      return pack;
    })();
    try {
      return await this.pack;
    } catch (e) {
      this.pack = undefined;
      throw e;
    }
  }

  async getBlob(sha256: string): Promise<Uint8Array | undefined> {
    const rec = this.records.get(sha256);
    if (rec && !this.opts.readOnly) {
      const bytes = await (await this.openPack()).read(rec);
      if (bytes) return bytes;
    }
    try {
      return (await readGuarded(this.blobPath(sha256), { maxBytes: CAP.state })).bytes;
    } catch {
      return undefined;
    }
  }

  /**
   * The archive copy of accepted bytes: written from their pack record (publishFromPack); in a root
   * from before the pack, a hard link to the blob file (a copy where a link cannot be made: another file
   * system, no link support). Not fsync'd here: a crash before the next checkpoint re-runs it; the
   * checkpoint syncs it and its folder first.
   */
  async publish(epicId: string, iteration: number, file: string, sha256: string, opts: EffectOptions = {}): Promise<void> {
    // checked again here, live and on replay: the entry may be forged (issue 12.2)
    const target = joinFast(this.layout.archive, `${checkEpicId(epicId)}/${String(checkIteration(iteration))}/${checkFileName(file)}`);
    checkSha256(sha256);
    // re-run (recovery after a kill): the copy the killed writer was making may have left its temporary
    if (opts.replay) this.sweepOnce(dirname(target));
    const rec = this.records.get(sha256);
    // a large copy holds its bytes (and on replay the copy there) and a file open in the pool until it
    // is written: LARGE_COPIES at once, however many epics' effects run at once (EFFECT_LANES)
    const large = rec !== undefined && rec.length > SYNC_WRITE_MAX;
    if (large) await this.largeCopy();
    let fresh: boolean;
    try {
      fresh = rec ? await this.publishFromPack(target, sha256, opts) : await this.publishBlob(target, sha256);
    } finally {
      if (large) this.largeCopyDone();
    }
    this.notePublished(epicId, iteration, file, fresh);
  }

  /** Archive folders swept of a killed writer's temporaries by this process (sweepOnce). */
  private readonly swept = new Set<string>();

  /** Removes the daemon's temporaries a killed writer left in `dir` (temp-sweep.ts), once per folder per process; onTempSweep is told what was found. */
  private sweepOnce(dir: string): void {
    if (this.opts.readOnly || this.swept.has(dir)) return;
    this.swept.add(dir);
    const s = sweepDaemonTemps(this.layout.root, [dir], startedAtMs());
    if (s.removedCount || s.left.length) this.opts.onTempSweep?.(s);
  }

  /** Large archive copies being made, and those waiting for one of the LARGE_COPIES places. */
  private largeCopies = 0;
  private largeWaiting: Array<() => void> = [];

  private async largeCopy(): Promise<void> {
    if (this.largeCopies < LARGE_COPIES) {
      this.largeCopies++;
      return;
    }
    // the place is handed over by the copy that ends (largeCopyDone), the count unchanged
    await new Promise<void>((r) => this.largeWaiting.push(r));
  }

  private largeCopyDone(): void {
    const next = this.largeWaiting.shift();
    if (next) next();
    else this.largeCopies--;
  }

  /** A root from before the pack: the archive copy as a hard link to the blob file. Never reports a new epic folder. */
  private async publishBlob(target: string, sha256: string): Promise<false> {
    const blob = this.blobPath(sha256);
    const dir = dirname(target);
    // No stat on the way in: link() is the check. Only when a file is already there (a re-run after a
    // crash, or the same name accepted again) is it compared with the blob, and replaced if it differs
    // (a crash can leave a copy whose data never reached the disk: zero-length).
    try {
      await this.inDir(dir, () => link(blob, target), this.noteUnsynced);
    } catch (e) {
      // ENOENT after the retry is a missing blob (reported by the copy); EXDEV, EPERM…: no links here.
      if (errCode(e) !== "EEXIST") {
        await this.copyBlob(target, sha256);
        return false;
      }
      if (!(await keepExisting(target, blob))) {
        await unlink(target).catch(ignoreEnoent);
        await link(blob, target).catch(() => this.copyBlob(target, sha256));
      }
    }
    this.unsynced.add(dir);
    return false;
  }

  /**
   * The archive copy of a pack record: a file written from the record's bytes (checked by SHA-256), by
   * rename like a notice, synced by the next checkpoint. On replay a copy already there with the same
   * SHA-256 is left alone; one that differs (its data never reached the disk) is written again.
   * Resolves whether this write made the epic's archive folder (it held nothing before).
   */
  private async publishFromPack(target: string, sha256: string, opts: EffectOptions): Promise<boolean> {
    if (opts.replay) {
      const there = await readGuarded(target, { maxBytes: CAP.state }).catch(() => undefined);
      if (there && createHash("sha256").update(there.bytes).digest("hex") === sha256) return false;
    }
    const bytes = (!opts.replay && this.takeForCopy(sha256)) || (await this.getBlob(sha256));
    if (!bytes) throw new Error(`the bytes of ${sha256} for ${target} are not whole in ${this.layout.pack}`);
    let fresh = false;
    await this.writeEffect(target, bytes, (d) => (fresh ||= d === this.layout.archive));
    return fresh;
  }

  /**
   * What publish() wrote, per epic (iteration → file names), so a notice's read list (published) needs
   * no listing of the archive: filled by the first listing of an epic's folder, or at once when this
   * publish made the epic's folder (it held nothing before). Archive copies are never pruned.
   */
  private archived = new Map<string, Map<number, Set<string>>>();

  private notePublished(epicId: string, iteration: number, file: string, fresh: boolean): void {
    let epic = this.archived.get(epicId);
    if (!epic && fresh) this.archived.set(epicId, (epic = new Map()));
    if (!epic) return;
    const files = epic.get(iteration);
    if (files) files.add(file);
    else epic.set(iteration, new Set([file]));
  }

  private async copyBlob(target: string, sha256: string): Promise<void> {
    const bytes = await this.getBlob(sha256);
    if (!bytes) throw new Error(`blob ${sha256} for ${target} is missing`);
    await this.writeEffect(target, bytes);
  }

  /**
   * What publish() has published for the epic (the port's contract). Listed from its archive folder the
   * first time it is asked after a start, then kept as publish() writes (notePublished): a notice's read
   * list costs no listing (twelve system calls per notice: issue 17.2), and names only copies this
   * daemon wrote, never a file an agent added to the folder since. A read-only store (an MCP session's,
   * kept for the whole session) publishes nothing itself: it lists every time, or it would never see
   * what the daemon published after it first asked (review rv6).
   */
  async published(epicId: string): Promise<Array<{ iteration: number; file: string; path: string }>> {
    let epic = this.opts.readOnly ? undefined : this.archived.get(checkEpicId(epicId));
    if (!epic) {
      epic = this.listArchive(checkEpicId(epicId));
      if (!this.opts.readOnly) this.archived.set(epicId, epic);
    }
    const out: Array<{ iteration: number; file: string; path: string }> = [];
    for (const [iteration, files] of epic) for (const file of files) out.push({ iteration, file, path: `archive/${epicId}/${iteration}/${file}` });
    return out.sort((a, b) => a.iteration - b.iteration || a.file.localeCompare(b.file));
  }

  private listArchive(epicId: string): Map<number, Set<string>> {
    const dir = join(this.layout.archive, epicId);
    const epic = new Map<number, Set<string>>();
    // never list through a folder swapped for a link (its names would be another folder's): two lstats
    // on this thread, like the readdir below
    if (!isRealDir(this.layout.archive) || !isRealDir(dir)) return epic;
    // readdir on this thread: a few entries of a cached folder (a pool round trip costs more CPU: issue 17)
    for (const it of readdirQuiet(dir)) {
      // only a name publish() gives an iteration (String(n), n ≥ 1): "01" is not iteration 1
      if (!/^[1-9]\d{0,15}$/.test(it)) continue;
      const files = readdirQuiet(join(dir, it)).filter((f) => !f.startsWith("."));
      if (files.length) epic.set(Number(it), new Set(files));
    }
    return epic;
  }

  /**
   * Not fsync'd here: a crash before the next checkpoint re-runs it; the checkpoint syncs it first.
   * Its name is lstat'd once on this thread (~3 µs), live too: an entry another user made at the
   * predictable name (a folder, FIFO, link) is renamed aside first (setAsideEntry). When the name is
   * taken again before the daemon's rename (an agent re-making its folder in a loop wins that window
   * every time), or cannot be taken (root's entry, a folder of another user on the way), the notice is
   * written at its keyed fallback name instead (trust/notice-name.ts: a name no agent can know first),
   * and onNoticeKeyedName is told. On replay (recovery re-running the entries after the checkpoint, or
   * a failed notice retried) a notice already there with its full size, of the daemon's user, at its
   * regular name or at its keyed name under any key of the ring, is left alone: not rewritten nor
   * synced again; one missing or short (its data never reached the disk), or another user's, is written.
   */
  async deliver(notice: Notice, opts: EffectOptions = {}): Promise<void> {
    const dir = joinFast(this.layout.inbox, checkRole(notice.role));
    const target = joinFast(dir, checkFileName(notice.name, "name"));
    const body = Buffer.from(notice.body);
    // on this thread: a stat of a cached folder costs a few µs here, a pool round trip 25 µs of CPU
    // (a cold start re-checks every notice of the log: issue 17.4)
    const st = lstatQuiet(target);
    // only the daemon's own file: a failed notice is retried with replay, and an agent that made the
    // first write fail could otherwise put its own file of the notice's length there and keep it
    if (opts.replay && ownWhole(st, body.length)) return;
    // written at its keyed name before (the regular one was taken): found there, never written twice.
    // Only when the regular name does not hold it: a cold start pays no lstat more per notice
    // One of the daemon's user there, short (a crash before its data reached the disk) or of another
    // length (its read list and absolute paths are derived again at the replay), is the notice's copy
    // too: rewritten there, never a second copy at the regular name (free again, the squatter gone)
    const keys = this.ring?.keysForFile() ?? [];
    const copy = opts.replay ? keyedCopyIn(dir, notice.role, notice.name, keys) : undefined;
    if (copy) return copy.st.size === body.length ? undefined : this.writeEffect(copy.path, body, undefined, { hideName: true });
    // the notice's name is predictable (its seq): an agent's folder, FIFO or link made there first would
    // fail the write for good (and with it every checkpoint). It is renamed aside, unread; the
    // daemon's or root's is left (the write then fails, and the keyed name below is used).
    if (st && !st.isFile()) {
      const aside = await setAsideEntry(this.layout.root, target, "notice", st);
      if (aside) this.opts.onNoticeNameFreed?.({ file: relative(this.layout.root, target), moved_to: relative(this.layout.root, aside.to), uid: aside.uid, found: aside.found });
    }
    try {
      await this.writeEffect(target, body);
    } catch (e) {
      // taken by what another user keeps there (noticeNameTaken): the keyed name, which no agent can know first
      const now = lstatQuiet(target);
      const key = keys.at(-1);
      if (!key || !noticeNameTaken(e, now)) throw e;
      const keyed = join(dir, keyedNoticeName(key, notice.role, notice.name));
      const there = lstatQuiet(keyed);
      // nobody can know the keyed name first; still never written through what is there
      if (there && !there.isFile()) await setAsideEntry(this.layout.root, keyed, "notice", there);
      // a temporary whose name does not give the keyed one away (an agent watching the folder would
      // otherwise read it off the temporary and take it before the rename)
      await this.writeEffect(keyed, body, undefined, { hideName: true });
      this.opts.onNoticeKeyedName?.({ file: relative(this.layout.root, target), written_to: relative(this.layout.root, keyed), uid: now?.uid ?? st?.uid, found: now ? kindOf(now) : "a folder", cause: (e as Error)?.message ?? String(e) });
    }
  }

  async prune(epicId: string, files: readonly string[]): Promise<void> {
    const emptied = new Set<string>();
    for (const rel of files) {
      if (!isDerivedFileOf(epicId, rel)) continue;
      const target = join(this.layout.root, rel);
      // never through a folder an agent swapped for a link: every folder from the root down must be real
      if (!(await assertRealDirs(this.layout.root, dirname(target)).then(() => true, () => false))) continue;
      // only a file: an agent's folder at a notice's name (inboxes are drop zones) would fail the unlink
      // (EISDIR), the effect with it and every checkpoint after; it is left for its owner
      const st = lstatQuiet(target);
      if (st && !st.isFile()) continue;
      await unlink(target).catch((e: NodeJS.ErrnoException) => {
        // a folder by now (its owner swapped its file for one after the look above: EISDIR, EPERM on
        // some systems): left for its owner, the same as one seen by the look
        if (e.code === "ENOENT" || lstatQuiet(target)?.isDirectory()) return;
        throw e;
      });
      if (rel.startsWith("logs/")) emptied.add(dirname(target));
    }
    // the epic's agent-log folders, once empty (logs/agents/<EPIC>/<iteration>, then logs/agents/<EPIC>)
    for (const d of [...emptied, ...[...emptied].map((x) => dirname(x))]) await rmdir(d).catch(() => {});
  }

  /** opts.hideName: the temporary's name does not give the target's away (WriteOptions.hideName); written on the pool. */
  private async writeEffect(target: string, bytes: Uint8Array, made?: (dir: string) => void, opts: { hideName?: boolean } = {}): Promise<void> {
    const dir = dirname(target);
    const created = made ? (d: string) => (this.noteUnsynced(d), made(d)) : this.noteUnsynced;
    if (bytes.length <= SYNC_WRITE_MAX && !opts.hideName) {
      // a notice or a small archive copy: on the daemon's effect writer thread, else on this one
      // (effect-writer.ts, issue 17.2); a large one in the pool below, so no loop waits for megabytes
      let changed: string[];
      try {
        changed = await this.effects.write(this.layout.root, target, bytes, this.dirModeOf(dir));
      } catch (e) {
        this.dirs.delete(dir);
        if (!(e instanceof EffectFileError)) throw e;
        for (const d of e.changed) created(d);
        throw e.cause;
      }
      for (const d of changed) created(d);
      this.dirs.add(dir);
    } else {
      // checks where its file really is before the rename (writeAtomic's root option), so a folder
      // known here is walked by name, not checked again by its real path first
      await this.inDir(dir, () => writeAtomic(target, bytes, { root: this.layout.root, ...(opts.hideName ? { hideName: true } : {}) }), created, { checksItself: true });
    }
    this.unsynced.add(target);
    this.unsynced.add(dir);
  }

  /** Where small effect files are written (the daemon's: a worker thread). */
  private readonly effects: EffectWriter;

  private dirModeOf(dir: string): number {
    const L = this.layout;
    return dir === L.dot || dir.startsWith(L.dot + sep) ? PRIVATE_DIR_MODE : SHARED_DIR_MODE;
  }

  private readonly noteUnsynced = (d: string): void => void this.unsynced.add(d);

  /**
   * Runs write in dir, making the folder first. A folder removed while we run (an agent or a person
   * cleaned an inbox or an archive iteration) makes write fail with ENOENT: the folder is made again
   * and write retried once. Every folder whose entries changed is passed to created. `checksItself`:
   * write checks that what it wrote is inside the root (writeAtomic's root option), so a folder known
   * here is walked by name (an lstat per folder below the root) rather than by its real path; any
   * failure forgets the folder.
   */
  private async inDir<T>(dir: string, write: () => Promise<T>, created: (dir: string) => void, opts: { checksItself?: boolean } = {}): Promise<T> {
    for (const d of this.ensureDir(dir, !opts.checksItself)) created(d);
    try {
      return await write();
    } catch (e) {
      this.dirs.delete(dir);
      if (errCode(e) !== "ENOENT") throw e;
      for (const d of this.ensureDir(dir, true)) created(d);
      return await write();
    }
  }

  /**
   * mkdir -p that refuses links (safe-dirs.ts), on this thread (a few lstats and mkdirs: issue 17.2).
   * A folder made or walked before, with `recheck`, is checked by its real path (one realpath(3): any
   * component swapped for a link since shows); else it is walked from the root, by name: an lstat per
   * folder below the root, a link refused before anything is created through it. Never left to the
   * write's own check alone: that check runs after the temporary is made, so a known folder swapped
   * for a link would have the daemon create the temporary (the notice, an agent's artifact bytes) in
   * whatever folder the link names, the private area included, before refusing it (review rv6). A
   * folder not known yet is walked from the root. Returns the folders whose entries changed.
   */
  private ensureDir(dir: string, recheck: boolean): string[] {
    const L = this.layout;
    if (this.dirs.has(dir) && recheck) {
      try {
        assertStillInsideSync(L.root, dir);
        return [];
      } catch (e) {
        this.dirs.delete(dir);
        if (errCode(e) !== "ENOENT") throw e;
      }
    }
    // the whole walk from the root: an lstat per folder known to exist, then mkdir for what is missing
    // (cheaper than realpath(3) of a known folder above it, which reads every component of the path)
    const changed = safeMkdirSync(L.root, dir, this.dirModeOf(dir));
    this.dirs.add(dir);
    return changed;
  }

  /** Folders made or walked (safe-dirs.ts) before: checked again by their real path at each write. */
  private dirs = new Set<string>();

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
    const fh = await openKeyIndex(path);
    try {
      if ((await fh.stat()).size !== this.keysBytes) await fh.truncate(this.keysBytes);
      if (bytes.length) await fh.write(bytes, 0, bytes.length, this.keysBytes);
      await fh.datasync();
      this.keysBytes += bytes.length;
      this.keysHash.update(bytes);
    } finally {
      await fh.close();
    }
  }

  private noteMarks(e: LogEntry): void {
    if (e.input) this.newMarks.push(["p", e.input]);
    for (const id of usedIdsOf(e)) this.newMarks.push(["m", id]);
  }

  /**
   * The checkpoint claims that every effect of the entries up to its seq is on disk (recovery re-runs
   * only the ones after it), so the effect files written since the last one are fsync'd first, together.
   * It is sealed with the daemon key ("checkpoint" purpose), and so is the key index through its digest.
   */
  async checkpoint(view: View): Promise<void> {
    // The key is loaded by recover; awaited only when it is not (a reader's store never checkpoints).
    const ring = this.ring ?? (await this.keyring());
    if (!ring) throw new Error("no daemon key");
    if (view.seq !== this.seq) throw new Error(`checkpoint of seq ${view.seq} while the log is at ${this.seq}`);
    // Everything it claims is taken now, before the next await: appends may run while it is written
    // (the daemon's next batch), and must find their marks and effects left for the next one.
    // the epics as they are now (each state an immutable value), serialised below a slice at a time
    // (only those changed since the last checkpoint are serialised again: epics-json.ts)
    const ids = new Array<string>(view.epics.size);
    const states = new Array<Epic>(view.epics.size);
    let n = 0;
    view.epics.forEach((e, id) => void ((ids[n] = id), (states[n++] = e)));
    const mirror = this.mirror(ring);
    const mirrorAt = { read: { ...mirror.readAt }, behind: [...mirror.behind] };
    const base = { seq: view.seq, hash: view.hash, offset: this.offsetAfterHead, lines: this.linesAtHead, ...(view.configVersion ? { config_version: view.configVersion } : {}), pack_end: this.packEnd };
    const agents: Buffer[] = [];
    putAgentView(agents, view.agents);
    const marks = this.newMarks;
    this.newMarks = [];
    const unsynced = [...this.unsynced];
    this.unsynced.clear();
    const keysBefore = this.keysBytes;
    try {
      await this.writeCheckpoint(ring, base, agents, await epicsTexts(ids, states, () => new Promise((r) => setImmediate(r))), mirrorAt, marks, unsynced);
    } catch (e) {
      for (const p of unsynced) this.unsynced.add(p);
      // marks not yet in checkpoint.keys wait for the next checkpoint
      if (this.keysBytes === keysBefore) this.newMarks = [...marks, ...this.newMarks];
      throw e;
    }
  }

  private async writeCheckpoint(ring: Keyring, base: Omit<Checkpoint, "version" | "keys_bytes" | "keys_sha256" | "mirror" | "epics" | "agents">, agents: Buffer[], epics: EpicsMembers, mirrorAt: Checkpoint["mirror"], marks: Array<[MarkKind, string]>, unsynced: string[]): Promise<void> {
    // still the writer (the lease), before anything is written
    await this.fence();
    await safeMkdir(this.layout.root, this.layout.dot, PRIVATE_DIR_MODE);
    // A file or folder removed since it was written (an agent consumed its notice) has nothing to
    // sync; the folder it was in is in the set too.
    if (!(unsynced.length >= SYNCFS_MIN && (await syncFileSystems([this.layout.root, this.layout.inbox, this.layout.archive, this.layout.agentLogs, this.layout.current]))))
      await eachLimited(unsynced, SYNC_PARALLEL, (p) => fsyncPath(p).catch(ignoreEnoent));
    await this.flushMarks(marks);
    // agents and epics last, spliced in as bytes (epics-json.ts): the same JSON as JSON.stringify of the whole
    const cp: Omit<Checkpoint, "epics" | "agents"> = { version: 4, ...base, keys_bytes: this.keysBytes, keys_sha256: this.keysHash.copy().digest("hex"), mirror: mirrorAt };
    const body = compactWithLast(cp as unknown as Record<string, unknown>, [
      ["agents", (out) => void agents.forEach((b) => out.push(b))],
      ["epics", (out) => putEpics(out, epics, "compact")],
    ]);
    // its last part is the closing brace (compactWithLast): the MAC goes in before it
    body[body.length - 1] = Buffer.from(`,"mac":"${ring.mac("checkpoint", body)}"}`);
    await writeAtomic(this.layout.checkpoint, body, { durable: true, mode: PRIVATE_FILE_MODE, root: this.layout.root });
    const state: Omit<StateFile, "epics"> = { version: 1, seq: base.seq, hash: base.hash, ...(base.config_version ? { config_version: base.config_version } : {}), updated_at: new Date().toISOString() };
    await safeMkdir(this.layout.root, this.layout.current);
    // Synced here (file only, the folder needs no sync: it is rewritten from the log anyway) so that its
    // dirty pages are not flushed by the next drop's fsync on ext4, which made that drop pay for it.
    const text = prettyWithLast(state as Record<string, unknown>, "epics", (out) => putEpics(out, epics, "pretty"));
    text.push(NEWLINE);
    await writeAtomic(this.layout.state, text, { durable: "file", root: this.layout.root });
  }

  /**
   * The writer lock (proper-lockfile: a folder whose mtime the holder refreshes) plus the two parts of
   * lease.ts: a holder provably dead (same host, its pid gone or reused) is taken over at once; one
   * that only stopped refreshing (paused, hung, another host) after the staleness. The holder file
   * carries a fresh fencing token that append() and checkpoint() check first (12.7).
   */
  async lease(kind: Holder["kind"], command?: string, extra: Pick<Holder, "metrics"> = {}): Promise<Lease> {
    const L = this.layout;
    // a command run by a user that may not read the private area is told so, not that the area is unsafe
    // (its fix would hand the area to that user); a daemon must own it, and is told PRIVATE_AREA_UNSAFE
    if (kind === "command") assertPrivateAreaReadable(L, "the writer lock", { path: L.lock });
    await safeMkdir(L.root, L.dot, PRIVATE_DIR_MODE);
    // like sshd's StrictModes: never hold the root with a private area others can write (12.11)
    await assertPrivateArea(L.dot);
    const stale = this.opts.staleMs ?? lockStaleMs();
    // A holder being taken over by another process (its lock removed, the new one not named yet):
    // wait a moment rather than fail. A live holder is named and we stop at once (a daemon) or after
    // a short wait (a command: the other command is about to finish).
    const deadline = Date.now() + 3_000;
    const commandDeadline = Date.now() + COMMAND_WAIT_MS;
    // loaded here, not at the top: read-only commands (status, log) never lock
    const { default: lockfile } = await import("proper-lockfile");
    let release: () => Promise<void>;
    let broke = false;
    const token = newToken();
    for (;;) {
      try {
        release = await lockfile.lock(L.lock, {
          realpath: false,
          lockfilePath: lockPathOf(L),
          stale,
          update: Math.max(1000, Math.floor(stale / 3)),
          retries: kind === "command" ? { retries: 40, minTimeout: 25, maxTimeout: 250 } : 0,
          onCompromised: (err) => {
            // paused past the staleness (or starved): another may hold the root now; step down
            const lost = leaseLost(undefined, `the lock could not be refreshed within ${stale} ms: ${err.message}`);
            (this.opts.onLeaseLost ?? ((e: Error) => { throw e; }))(lost);
          },
        });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ELOCKED") throw e;
        const h = await readHolder(L.holder);
        const dead = h !== undefined && h.pid !== process.pid && holderProvablyDead(h);
        if (dead && !broke) {
          // its process is gone: no need to wait for the staleness (once: a lock made again since is another's)
          broke = true;
          await breakDeadLock(lockPathOf(L));
          continue;
        }
        // a command holds the root only for its decision and commit: a daemon starting meanwhile waits
        // for it (up to COMMAND_WAIT_MS) instead of exiting LOCK_HELD because a `start` was a moment faster
        const passing = kind === "daemon" && (h === undefined || h.kind === "command") && Date.now() < commandDeadline;
        if ((dead && Date.now() < deadline) || passing) {
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
    // A clean release removes writer.json, so finding one now means its holder died holding the lock,
    // or stopped refreshing it (then it is not called dead: it may resume, and then steps down).
    const prior = await readHolder(L.holder);
    if (prior && prior.pid !== process.pid) {
      const { token: _t, ...named } = prior;
      this.takenOver = named;
      this.takenOverReason = takeoverReason(prior, stale).reason;
    } else this.takenOver = undefined;
    const holder: Holder = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), kind, ...(command ? { command } : {}), ...extra, ...ownIdentity(), token };
    await writeAtomic(L.holder, JSON.stringify(holder), { mode: PRIVATE_FILE_MODE, root: L.root });
    this.fenceToken = token;
    let released = false;
    return {
      holder,
      release: async () => {
        if (released) return;
        released = true;
        this.fenceToken = undefined;
        // never remove what a process that took the root over has made its own
        if ((await readHolder(L.holder))?.token !== token) return;
        await unlink(L.holder).catch(() => {});
        await release().catch(() => {});
      },
    };
  }

  /** The holder whose stale lock this store took over, if any (reported by the engine). */
  takenOver?: Holder;
  takenOverReason?: string;
  /** Our lease's fencing token (lease.ts); undefined when no lease is held (read-only use, tests). */
  private fenceToken?: string;

  /** Before a write that claims the root: the holder file must still carry our token. */
  private async fence(): Promise<void> {
    if (this.fenceToken !== undefined) await checkFence(this.layout.holder, this.fenceToken);
  }

  async close(): Promise<void> {
    await this.effects.close();
    const pack = this.pack;
    this.pack = undefined;
    await pack?.then((p) => p.close(), () => {});
    await this.mirrorOf?.close();
    await this.fd?.close();
    this.fd = undefined;
  }

  private async handle(): Promise<FileHandle> {
    if (!this.fd) {
      await mkdir(this.layout.dot, { recursive: true });
      this.fd = await open(this.layout.record, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT | fsc.O_NOFOLLOW, 0o600);
      // the record is the daemon's alone: whatever made it, nobody else reads or writes it
      const st = await this.fd.stat();
      if ((st.mode & 0o077) !== 0) await this.fd.chmod(0o600).catch(() => {});
    }
    return this.fd;
  }

  /** state.json is derived; say so when it was truncated or edited (a lagging one is normal after a crash). */
  private async checkStateFile(view: View): Promise<string | undefined> {
    let text: string;
    try {
      text = await readGuardedText(this.layout.state, { maxBytes: CAP.state });
    } catch (e) {
      // deleted (the runbook says a deleted state.json is rebuilt): rebuilt at start and by watch --once
      if (errCode(e) === "ENOENT") return view.seq > 0 ? "state.json is missing" : undefined;
      return `state.json cannot be used: ${(e as Error).message}`;
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

  private async readCheckpoint(findings: Recovery["findings"], ring: Keyring | undefined): Promise<Checkpoint | undefined> {
    let text: string;
    try {
      text = await readGuardedText(this.layout.checkpoint, { maxBytes: CAP.state });
    } catch (e) {
      // none yet is normal; one that is there but cannot be read is said, not silently skipped
      if (errCode(e) !== "ENOENT") findings.push({ decision: "checkpoint_discarded", details: { reason: `checkpoint cannot be read: ${errCode(e) ?? (e as Error).message}`, fix: `Check the owner and mode of ${this.layout.checkpoint}; state was rebuilt from the log.` } });
      return undefined;
    }
    try {
      const m = /,"mac":"([^"\\]{0,200})"\}$/.exec(text);
      if (!m) throw new Error("it carries no MAC (made by an older version, or not by the daemon)");
      const body = `${text.slice(0, m.index)}}`;
      const checked = ring?.check("checkpoint", body, m[1]);
      if (!checked?.ok) throw new Error(`its MAC does not check (${checked?.reason ?? "no daemon key"}): it was edited, or made without the daemon key`);
      const cp = JSON.parse(body) as Checkpoint;
      // version 3 kept no launch-token nonces in its key index: a signature used before it could be used again
      if ((cp as { version: unknown }).version === 3) throw new Error("it was made before launch-token nonces were kept in its key index (version 3); the log of record is read once to find them");
      const sound = typeof cp.seq === "number" && typeof cp.offset === "number" && cp.epics && typeof cp.epics === "object" && typeof cp.agents === "object" && cp.agents !== null && cp.version === 4 && typeof cp.keys_bytes === "number" && typeof cp.keys_sha256 === "string" && typeof cp.mirror === "object" && cp.mirror !== null;
      if (!sound) throw new Error("unexpected shape");
      return cp;
    } catch (e) {
      findings.push({ decision: "checkpoint_discarded", details: { reason: `checkpoint is not usable: ${(e as Error).message}`, fix: "Nothing to do: state was rebuilt from the log of record." } });
      return undefined;
    }
  }

  /** The view a sound checkpoint gives, or undefined (with a finding) when its key index is short or was changed. */
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
        buf = (await readGuarded(this.layout.checkpointKeys, { maxBytes: CAP.state })).bytes;
      } catch {
        buf = Buffer.alloc(0);
      }
      if (buf.length < cp.keys_bytes) {
        findings.push({ decision: "checkpoint_discarded", details: { reason: `the checkpoint's key index ${this.layout.checkpointKeys} has ${buf.length} bytes, not the ${cp.keys_bytes} it refers to (deleted or truncated?)`, fix: "Nothing to do: state was rebuilt from the log." } });
        return undefined;
      }
    }
    const keys = buf.subarray(0, cp.keys_bytes);
    const hash = createHash("sha256").update(keys);
    if (hash.copy().digest("hex") !== cp.keys_sha256) {
      findings.push({ decision: "checkpoint_discarded", details: { reason: `the checkpoint's key index ${this.layout.checkpointKeys} was changed (its digest is not the one the sealed checkpoint names): a mark was planted or removed`, fix: "Nothing to do: state was rebuilt from the log of record. Check who can write .consensus/ (`consensus doctor`)." } });
      return undefined;
    }
    const table = new DigestTable(cp.keys_bytes / RECORD_BYTES);
    table.addAll(keys);
    this.keysBytes = cp.keys_bytes;
    this.keysHash = hash;
    return { ...view, processed: new MarkSet("p", table), messageIds: new MarkSet("m", table) };
  }

  private async endsWithHash(offset: number, hash: string): Promise<boolean> {
    if (offset === 0) return hash === GENESIS;
    const fh = await open(this.layout.record, "r");
    try {
      const n = Math.min(offset, 512);
      const buf = Buffer.alloc(n);
      await fh.read(buf, 0, n, offset - n);
      const tail = buf.toString("latin1");
      return new RegExp(`"hash":"${hash}"(?:,"mac":"[^"\\\\]{0,200}")?\\}\\n$`).test(tail);
    } finally {
      await fh.close();
    }
  }
}

/** coreutils sync, by its absolute path (never whatever PATH names), where this system has one. */
const SYNC_BIN = process.platform === "linux" ? ["/usr/bin/sync", "/bin/sync"].find((p) => existsSync(p)) : undefined;

/**
 * syncfs(2) of the file systems holding `paths` (those that exist), by `sync -f`: every file and
 * folder written there is durable when it resolves true. False (the caller fsyncs each path) where
 * there is no such program or it fails.
 */
async function syncFileSystems(paths: string[]): Promise<boolean> {
  if (!SYNC_BIN) return false;
  const there = paths.filter((p) => existsSync(p));
  if (!there.length) return false;
  return new Promise((resolve) => execFile(SYNC_BIN, ["-f", "--", ...there], { timeout: 120_000 }, (err) => resolve(!err)));
}

const NEWLINE = Buffer.from("\n");

/** The daemon's user (geteuid(2) once: it never changes while the daemon runs). */
const SELF_UID = process.geteuid?.();

/**
 * Whether the lstat `st` is a regular file of the daemon's user (where it has one) with one name, of
 * `size` bytes: a notice already delivered whole. A second name is another file of that user an agent
 * linked at the notice's name (the readable log is its group's to write: protected_hardlinks allows it).
 */
const ownWhole = (st: Stats | undefined, size: number): boolean => !!st?.isFile() && (SELF_UID === undefined || st.uid === SELF_UID) && st.nlink === 1 && st.size === size;

/**
 * Opens the checkpoint's key index for writing, never through what an agent may have planted in its
 * place (a symbolic link out of the root, a hard link to another file, a FIFO): such a name is removed
 * and a fresh private file (0600) made. Its marks are then short of what the checkpoint names, so the next
 * start discards the checkpoint and rebuilds from the log of record (fs-store recovery), as for any edit.
 */
async function openKeyIndex(path: string): Promise<FileHandle> {
  const flags = fsc.O_RDWR | fsc.O_CREAT | fsc.O_NOFOLLOW | fsc.O_NONBLOCK;
  const fh = await open(path, flags, PRIVATE_FILE_MODE).catch((e: unknown) => (errCode(e) === "ELOOP" ? undefined : Promise.reject(e)));
  if (fh) {
    const st = await fh.stat();
    if (st.isFile() && st.nlink === 1) {
      if (st.mode & 0o077) await fh.chmod(PRIVATE_FILE_MODE); // made 0644 by earlier versions
      return fh;
    }
    await fh.close();
  }
  await unlink(path);
  return open(path, flags | fsc.O_EXCL, PRIVATE_FILE_MODE);
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

/**
 * Reads [from, to) of a file line by line; returns the trailing text that has no newline. With
 * `feed`, each block read (1 MiB) is handed over after its lines, in order: a buffer of its own each
 * time, which `feed` may transfer to another thread; a promise it returns is awaited before reading on.
 */
async function readLines(fh: FileHandle, from: number, to: number, onLine: (text: string, endOffset: number) => void, feed?: (bytes: ArrayBuffer, length: number) => Promise<void> | undefined): Promise<{ tail: string }> {
  let chunk = Buffer.alloc(1 << 20);
  let pos = from;
  let carry: Buffer = Buffer.alloc(0);
  while (pos < to) {
    if (feed) chunk = Buffer.allocUnsafeSlow(1 << 20);
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
    const behind = feed?.(chunk.buffer as ArrayBuffer, bytesRead);
    if (behind) await behind;
    pos += bytesRead;
  }
  return { tail: carry.toString("utf8") };
}

/**
 * The timestamp of the log's last line (a torn one too, when its first bytes carry it; else the line
 * before): every line of one commit carries the same one, so it names the last commit's lines. Daemon
 * lines begin {"seq":…,"txn":…,"timestamp":"…": only the first bytes of a line are looked at. Read
 * from `recordFd` (a descriptor of that log, left open) when given, else from `path` opened here (throws
 * as openSync does).
 */
async function lastLineTimestamp(path: string, size: number, recordFd?: number): Promise<string | undefined> {
  const fd = recordFd ?? openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    const stamp = (at: number): string | undefined => {
      const head = Buffer.alloc(Math.max(0, Math.min(256, size - at)));
      readSync(fd, head, 0, head.length, at);
      return /^\{"seq":\d+,(?:"txn":\d+,)?"timestamp":"([^"\\]{1,64})"/.exec(head.toString("latin1"))?.[1];
    };
    // the starts of the last two lines, scanning back a block at a time; the file's last byte, a
    // newline, ends the last line and begins none
    const starts: number[] = [];
    const block = Buffer.alloc(64 * 1024);
    for (let end = size; end > 0 && starts.length < 2; ) {
      const from = Math.max(0, end - block.length);
      readSync(fd, block, 0, end - from, from);
      for (let i = end - from - 1; i >= 0 && starts.length < 2; i--) if (block[i] === 10 && from + i !== size - 1) starts.push(from + i + 1);
      end = from;
    }
    if (starts.length < 2) starts.push(0);
    return stamp(starts[0]!) ?? stamp(starts[1]!);
  } finally {
    if (recordFd === undefined) closeSync(fd);
  }
}

/** How many read cursors a file store keeps (FsStore.readAt): as many waits on one store read on each from its own. */
const READ_CURSORS = 8;

/** How long the daemon waits for an agent's half-written line in the mirror before its copies go in (CONSENSUS_MIRROR_SETTLE_MS, default 1 s). */
function mirrorSettleMs(): number {
  const v = Number(process.env.CONSENSUS_MIRROR_SETTLE_MS);
  return Number.isFinite(v) && v >= 0 ? v : 1000;
}

/** The holder file (guarded read: a regular file, no link, size cap); undefined if missing or not a holder. */
export const readHolder = readHolderFile;

/** The folder proper-lockfile makes (and keeps refreshing the mtime of) while the lease is held. */
export const lockPathOf = (L: Layout): string => `${L.lock}.lock`;

/** A lock not refreshed for this long is presumed abandoned (CONSENSUS_LOCK_STALE_MS, default 10 s). */
export function lockStaleMs(): number {
  const v = Number(process.env.CONSENSUS_LOCK_STALE_MS);
  return Number.isFinite(v) && v >= 2000 ? v : 10_000;
}

/** True only when we can tell: same host, and its pid gone, a zombie, or reused (lease.ts). */
export const holderIsDead = holderProvablyDead;
