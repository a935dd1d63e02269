/**
 * "What did the daemon decide about the input I just placed?" — the one place that answers it, for
 * every transport that places an input and waits for its verdict (the MCP server; the CLI's approve and
 * veto). An input is named in the log by its file and SHA-256: the entry that accepts or rejects it
 * carries both in `details`, and the entries after it up to the one that records the input as
 * processed (`input`) are the rest of its transaction (stage_advanced, veto_recorded, promoted …).
 *
 * Only the daemon's entries count (`agent: orchestrator`, numbered and hashed); an agent's own line
 * claiming a verdict is never one. The log is read through the store port (readEntries), so a store
 * that keeps its log elsewhere, or seals it differently, changes nothing here.
 */
import { unsealLine } from "../log/chain.js";
import type { Epic, LogEntry } from "../schemas/types.gen.js";
import type { Store } from "../store/port.js";

export type DaemonEntry = LogEntry & { seq: number };

export interface Verdict {
  /** accepted (the first entry is *_accepted), rejected (*_rejected) or failed (input_failed: a bug, reported). */
  verdict: "accepted" | "rejected" | "failed";
  /** The input's transaction, in order: its first entry names the input. */
  entries: DaemonEntry[];
  /**
   * Its epic's state after the transaction, as the entries read tell it: the last state of that epic
   * up to the transaction's end. A transaction that left its epic as it was carries none in its log
   * line (Txn.same), so that is an earlier line's; undefined when none of the entries read has one.
   */
  epic?: Epic;
}

const NAMING: Record<string, Verdict["verdict"]> = {
  artifact_accepted: "accepted",
  message_accepted: "accepted",
  artifact_rejected: "rejected",
  message_rejected: "rejected",
  input_failed: "failed",
};

/** A log line as the daemon's entry (sealed, numbered, by the orchestrator), or undefined for anything else (an agent's line, a torn one). */
export function daemonEntryOf(raw: string, entry?: LogEntry): DaemonEntry | undefined {
  if (!unsealLine(raw)) return undefined;
  let e = entry;
  if (!e) {
    try {
      e = JSON.parse(raw) as LogEntry;
    } catch {
      return undefined;
    }
  }
  return e && typeof e === "object" && e.agent === "orchestrator" && typeof e.seq === "number" ? (e as DaemonEntry) : undefined;
}

/** The daemon's entries with seq > afterSeq, in log order: the store reads what follows afterSeq only (Store.readEntries). */
export async function daemonEntries(store: Pick<Store, "readEntries">, afterSeq = 0): Promise<DaemonEntry[]> {
  const out: DaemonEntry[] = [];
  for await (const { raw, entry } of store.readEntries({ afterSeq })) {
    const e = entry && daemonEntryOf(raw, entry);
    if (e && e.seq > afterSeq) out.push(e);
  }
  return out;
}

/**
 * Pure: the verdict on the input (file, sha256) among these entries, if its transaction is all there.
 * `file` is relative to the root (artifacts/EP-001/plan.json).
 */
export function verdictIn(entries: readonly DaemonEntry[], file: string, sha256: string): Verdict | undefined {
  const at = entries.findIndex((e) => {
    const d = e.details as { file?: unknown; sha256?: unknown } | undefined;
    return NAMING[e.decision] !== undefined && d?.file === file && d.sha256 === sha256;
  });
  if (at < 0) return undefined;
  const end = entries.findIndex((e, i) => i >= at && e.input !== undefined);
  // input_failed carries no processed mark: it is its transaction.
  const last = entries[at]!.decision === "input_failed" ? at : end;
  if (last < 0) return undefined;
  const id = entries[at]!.epic_id;
  let epic: Epic | undefined;
  for (let i = last; id !== undefined && i >= 0 && !epic; i--) if (entries[i]!.state?.epic_id === id) epic = entries[i]!.state;
  return { verdict: NAMING[entries[at]!.decision]!, entries: entries.slice(at, last + 1), ...(epic ? { epic } : {}) };
}

export interface AwaitOptions {
  /** Only entries after this seq count (the log's seq before the input was placed). */
  afterSeq: number;
  /** How long to wait at most (ms); undefined is returned after it. */
  timeoutMs: number;
  /**
   * Subscribes to "the log may have grown"; returns the unsubscribe. A source inside the daemon hands
   * over the committed entries themselves, and the wait looks at those without reading the log; a
   * source that only knows something changed (fs.watch) makes it read what the log gained since its
   * last read (Store.readEntries after a seq). Polling covers what either misses.
   */
  onChange?: (wake: (committed?: readonly DaemonEntry[]) => void) => () => void;
  /** Polling interval when nothing wakes the wait (ms). */
  pollMs?: number;
  /** Stop waiting early (the caller went away); resolves undefined. */
  signal?: AbortSignal;
}

/**
 * Waits (bounded) for the daemon's verdict on the input (file, sha256); undefined on timeout or abort.
 * Each read of the log asks the store for what follows the last seq read before (not for everything
 * after `afterSeq` again): a wake costs what was appended since, whatever the log's size.
 */
export async function awaitDecision(store: Pick<Store, "readEntries">, file: string, sha256: string, o: AwaitOptions): Promise<Verdict | undefined> {
  const end = Date.now() + o.timeoutMs;
  let wake: () => void = () => {};
  /** Read the log on the next turn (at first, on a bare wake, on a poll). */
  let read = true;
  /** The daemon's entries after afterSeq got so far (read or handed over), in seq order, each once. */
  const got: DaemonEntry[] = [];
  /** The log was read up to this seq: the next read asks for what follows it. */
  let readTo = o.afterSeq;
  const take = (entries: readonly DaemonEntry[]): void => {
    for (const e of entries) {
      if (e.seq <= o.afterSeq) continue;
      const at = sortedIndex(got, e.seq);
      if (got[at]?.seq !== e.seq) got.splice(at, 0, e);
    }
  };
  const unsubscribe = o.onChange?.((committed) => {
    if (committed) take(committed);
    else read = true;
    wake();
  });
  const onAbort = () => wake();
  o.signal?.addEventListener("abort", onAbort);
  try {
    for (;;) {
      if (read) {
        read = false;
        const fresh = await daemonEntries(store, readTo);
        take(fresh);
        readTo = Math.max(readTo, fresh.at(-1)?.seq ?? readTo);
      }
      const v = verdictIn(got, file, sha256);
      if (v) return v;
      const left = end - Date.now();
      if (left <= 0 || o.signal?.aborted) return undefined;
      if (read) continue;
      const polled = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(true), Math.min(left, o.pollMs ?? 250));
        wake = () => (clearTimeout(t), resolve(false));
      });
      wake = () => {};
      if (polled) read = true;
    }
  } finally {
    unsubscribe?.();
    o.signal?.removeEventListener("abort", onAbort);
  }
}

/** Where an entry of this seq goes in entries sorted by seq (binary search; the end, usually). */
function sortedIndex(entries: readonly DaemonEntry[], seq: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
