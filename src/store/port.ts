/**
 * The storage port: the one narrow interface between the pipeline and where its records live. The
 * embedded default is the filesystem (fs/fs-store.ts, one writer per root); PostgreSQL (pg/pg-store.ts)
 * commits the log, state and processed marks in one database transaction and lets several daemons
 * write at once. Nothing above this file knows which one it talks to.
 *
 * Several writers: a caller decides against its view of the log up to `basis` (the last seq it folded
 * in). A store that admits other writers refuses a commit whose transactions decide about an epic (or
 * use an input mark or message id) that another writer's entries after `basis` touched: it returns a
 * Conflict with those entries, the caller folds them into its view and decides again. A store with one
 * writer never conflicts.
 */
import type { Epic, LogEntry } from "../schemas/types.gen.js";
import type { View } from "../log/replay.js";
import type { Draft } from "../machine/decide.js";

/** One input's decisions: committed together, and the input marked processed with them. */
export interface Txn {
  drafts: Draft[];
  /** The epic's state after the transaction, if it touched an epic. */
  state?: Epic;
  /**
   * `state` equals the epic's state before the transaction (an info message, a question): the log
   * line leaves it out, and readers keep the epic as it was (an entry without `state` changes no
   * epic: replay.ts, PROTOCOL §7). The committed entries handed back still carry it. About a third of
   * such a line's bytes, and about half the cost of parsing it again at a cold start (issue 17.4).
   */
  same?: true;
  /** The processed mark (path@sha256, request:id …). */
  input?: string;
  /** Agents' entries (one line each) accepted from the readable log: recorded just before this transaction. */
  foreign?: string[];
}

/**
 * What agents appended to the readable log (current/decision_log.jsonl) since the last read: entries
 * to judge (each whole, pretty-printed ones joined), and lines that claim to be the daemon's but are
 * not its sealed lines (forged). `cursor` is where the next read starts once these are recorded (the
 * last entry of the transaction that records them carries it in `details.mirror`).
 */
export interface MirrorRead {
  entries: Array<{ line: number; lastLine: number; text: string; multiline: boolean }>;
  forged: Array<{ line: number; text: string; reason: string }>;
  /** Lines longer than a log entry may be (MAX_LINE_BYTES): skipped unread but for their first bytes. */
  oversized?: Array<{ line: number; bytes: number; head: string }>;
  /** What makes the file unusable (a FIFO, a link), once per kind: reported, never read or written through. */
  unusable?: string;
  /** The file shrank (someone cut it): reading starts again at its end. */
  shrunk?: { from: number; to: number };
  cursor: { offset: number; line: number };
}

export type CommittedEntry = LogEntry & { seq: number; hash: string };

/** One line of the log as readEntries gives it: its 1-based number in the log, its text, and its entry where it parses. */
export interface LogLine {
  line: number;
  raw: string;
  entry?: LogEntry;
}

/** Where a read of the log starts: after the daemon's line of this seq (0: at the log's start). */
export interface ReadFrom {
  afterSeq: number;
}

export interface AppendResult {
  entries: CommittedEntry[];
  /** Lines agents appended since the last append (to be validated and, if bad, reported). */
  foreign: Array<{ line: number; text: string }>;
  /**
   * Entries other writers committed after `basis` that touch nothing these transactions decided
   * about, in log order, all before `entries`: the caller folds them into its view first. Absent with one writer.
   */
  others?: CommittedEntry[];
}

/**
 * Nothing was committed: another writer's entries after `basis` decided about the same epic (the epic
 * id, or "" for entries about no epic) or used the same input mark or message id.
 */
export interface Conflict {
  conflict: true;
  /** The epics (and "" for epic-less entries) whose decisions must be made again. */
  epics: string[];
  /** Every entry committed after `basis`, in log order: fold them all in, then decide again. */
  newer: CommittedEntry[];
}

export const isConflict = (r: AppendResult | Conflict): r is Conflict => "conflict" in r;

export interface Recovery {
  view: View;
  /** Entries after the last checkpoint: their effects may not have run, so they are re-run (only those RecoverOptions.keep kept). */
  unapplied: CommittedEntry[];
  /** How many entries after the last checkpoint were replayed, kept in `unapplied` or not (absent: all were kept). */
  replayed?: number;
  /** What recovery found that a person should know (torn line, stale checkpoint, broken chain). */
  findings: Array<{ decision: string; details: Record<string, unknown> }>;
}

export interface Notice {
  role: string;
  /** File name inside the role's inbox; deterministic, so delivering twice writes the same file. */
  name: string;
  body: string;
}

/** How an effect is run: live (just committed) or replayed by recovery (it may have run before the crash). */
export interface EffectOptions {
  /** Recovery re-runs the entries after the checkpoint: a notice already delivered whole is left alone. */
  replay?: boolean;
}

export interface Holder {
  pid: number;
  host: string;
  started_at: string;
  kind: "daemon" | "command";
  command?: string;
  /** The daemon's operations endpoint (/health, /ready, /metrics), when it serves one. */
  metrics?: string;
  /** The fencing token (file store): checked before each append; another token there means the lease was taken over. */
  token?: string;
  /** The holder's start time in ticks since boot (/proc/<pid>/stat field 22): tells it from a later process with its pid. */
  proc_start?: string;
  /** The boot the holder ran in (/proc/sys/kernel/random/boot_id). */
  boot_id?: string;
}

/**
 * The right to append. With one writer per root (the file store) it is exclusive and lease() fails
 * with LOCK_HELD while another process holds it; a store that fences concurrent decisions instead
 * (PostgreSQL) registers the holder beside the others and never refuses.
 */
export interface Lease {
  readonly holder: Holder;
  release(): Promise<void>;
}

export interface RecoverOptions {
  /**
   * Which replayed entries the caller needs back in `unapplied` (the engine: those with effects). A
   * cold replay of 1,000,000 lines held every entry until its effects ran (2.5 GiB); most have none.
   */
  keep?: (e: LogEntry) => boolean;
}

export interface Store {
  /** Rebuilds the view: checkpoint (if sound) plus the log after it. */
  recover(opts?: RecoverOptions): Promise<Recovery>;
  /**
   * Makes the transactions durable, in order, atomically; nothing is acknowledged before it. `basis`
   * is the last seq the caller's decisions saw. One writer: throws if the log moved past it (a bug).
   * Several writers: a Conflict when another writer's entries after basis touch what these decide about.
   */
  append(txns: Txn[], timestamp: string, basis: number): Promise<AppendResult | Conflict>;
  /**
   * Entries other writers committed after `seq`, in log order (absent, or always empty, with one
   * writer): the caller folds them into its view before deciding, so it rarely decides on stale state.
   */
  since?(seq: number): Promise<CommittedEntry[]>;
  /**
   * What agents appended to the readable log since the last read (a store without one: absent). Reads
   * with nothing to record (only the daemon's own copies) move the cursor at once.
   */
  readMirror?(): Promise<MirrorRead | undefined>;
  /**
   * Every entry in order, daemon's and agents' (agents' lines parsed where they parse). With `from`,
   * only what follows the daemon's line of seq `from.afterSeq`: the daemon's entries with a greater
   * seq and the agents' lines recorded after that line (`afterSeq` 0: everything). `line` still counts
   * from the log's first line. A store reads only what follows (a caller that waits on the log asks
   * again after the last seq it got, so each read costs what is new, not the log's size); what it
   * yields is checked as a read of the whole log checks it, and equals that read's lines after the seq.
   * A negative `afterSeq` reads from the start; one that is not a safe integer is a RangeError (read-from.ts).
   */
  readEntries(from?: ReadFrom): AsyncIterable<LogLine>;
  putBlob(sha256: string, bytes: Uint8Array): Promise<void>;
  getBlob(sha256: string): Promise<Uint8Array | undefined>;
  /** Publishes an accepted artifact where people and later stages read it; idempotent. */
  publish(epicId: string, iteration: number, file: string, sha256: string, opts?: EffectOptions): Promise<void>;
  /** What publish() has published for an epic: iteration and file name of each accepted artifact. */
  published(epicId: string): Promise<Array<{ iteration: number; file: string; path: string }>>;
  /** Writes a notice into the role's inbox (live: without looking first; on replay: only if not there whole). */
  deliver(notice: Notice, opts?: EffectOptions): Promise<void>;
  /**
   * Removes a finished epic's derived files (`consensus prune`): each path, relative to the root, is
   * checked again to be one of its notices or agent logs (isDerivedFileOf); a missing one is no error.
   */
  prune(epicId: string, files: readonly string[]): Promise<void>;
  /** Saves a checkpoint of the view (recovery starts from here) and the human-readable state. */
  checkpoint(view: View): Promise<void>;
  /** The right to append (see Lease); names its holder. One writer: throws ConsensusError(LOCK_HELD) naming the holder. */
  lease(kind: Holder["kind"], command?: string, extra?: Pick<Holder, "metrics">): Promise<Lease>;
  /** Set after lease() when it took over the lock of a holder that had died. */
  readonly takenOver?: Holder;
  /** Why it was taken over, when the store can tell better than "died" (a stale holder may be alive). */
  readonly takenOverReason?: string;
  close(): Promise<void>;
}
