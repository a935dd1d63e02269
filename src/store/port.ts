/**
 * The storage port: the one narrow interface between the pipeline and where its records live. The
 * embedded default is the filesystem (fs-store.ts); a PostgreSQL store would implement the same
 * operations with the log, state and processed marks in one transaction. Nothing above this file
 * knows it is talking to a disk.
 */
import type { Epic, LogEntry } from "../schemas/types.gen.js";
import type { View } from "../log/replay.js";
import type { Draft } from "../machine/decide.js";

/** One input's decisions: committed together, and the input marked processed with them. */
export interface Txn {
  drafts: Draft[];
  /** The epic's state after the transaction, if it changed. */
  state?: Epic;
  /** The processed mark (path@sha256, request:id …). */
  input?: string;
}

export type CommittedEntry = LogEntry & { seq: number; hash: string };

export interface AppendResult {
  entries: CommittedEntry[];
  /** Lines agents appended since the last append (to be validated and, if bad, reported). */
  foreign: Array<{ line: number; text: string }>;
}

export interface Recovery {
  view: View;
  /** Entries after the last checkpoint: their effects may not have run, so they are re-run. */
  unapplied: CommittedEntry[];
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
}

export interface Lease {
  readonly holder: Holder;
  release(): Promise<void>;
}

export interface Store {
  /** Rebuilds the view: checkpoint (if sound) plus the log after it. */
  recover(): Promise<Recovery>;
  /** Makes the transactions durable, in order, as one write and one fsync; nothing is acknowledged before it. Fails if another writer moved the log past expectedSeq. */
  append(txns: Txn[], timestamp: string, expectedSeq: number): Promise<AppendResult>;
  /** Every entry in order, daemon's and agents' (agents' lines parsed where they parse). */
  readEntries(): AsyncIterable<{ line: number; raw: string; entry?: LogEntry }>;
  putBlob(sha256: string, bytes: Uint8Array): Promise<void>;
  getBlob(sha256: string): Promise<Uint8Array | undefined>;
  /** Publishes an accepted artifact where people and later stages read it; idempotent. */
  publish(epicId: string, iteration: number, file: string, sha256: string): Promise<void>;
  /** What publish() has published for an epic: iteration and file name of each accepted artifact. */
  published(epicId: string): Promise<Array<{ iteration: number; file: string; path: string }>>;
  /** Writes a notice into the role's inbox (live: without looking first; on replay: only if not there whole). */
  deliver(notice: Notice, opts?: EffectOptions): Promise<void>;
  /** Saves a checkpoint of the view (recovery starts from here) and the human-readable state. */
  checkpoint(view: View): Promise<void>;
  /** Exclusive right to append; names its holder. Throws ConsensusError(LOCK_HELD) naming the holder. */
  lease(kind: Holder["kind"], command?: string, extra?: Pick<Holder, "metrics">): Promise<Lease>;
  /** Set after lease() when it took over the lock of a holder that had died. */
  readonly takenOver?: Holder;
  close(): Promise<void>;
}
