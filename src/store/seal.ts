/**
 * Transactions → the log entries that record them, sealed into the chain (PROTOCOL §7): each draft
 * becomes an entry numbered from `seq + 1`, and a transaction's last entry carries the epic's state
 * (in the line only when it changed: Txn.same) and the input it consumed. The shape is the file store's, field for field, so a log moved between
 * stores (or exported) verifies the same way. Pure.
 */
import { sealLine } from "../log/chain.js";
import type { LogEntry } from "../schemas/types.gen.js";
import type { CommittedEntry, Txn } from "./port.js";

export interface Sealed {
  lines: string[];
  entries: CommittedEntry[];
  /** The last seq and hash: the new head. */
  seq: number;
  head: string;
}

/** `foreign`: agents' raw lines since the head (chained into the first entry's hash); "" where there are none. */
export function sealTxns(txns: readonly Txn[], at: { seq: number; head: string; foreign?: string; timestamp: string }): Sealed {
  const lines: string[] = [];
  const entries: CommittedEntry[] = [];
  let seq = at.seq;
  let head = at.head;
  let foreign = at.foreign ?? "";
  for (const t of txns) {
    t.drafts.forEach((d, i) => {
      const last = i === t.drafts.length - 1;
      const entry: LogEntry = { seq: ++seq, timestamp: at.timestamp, agent: "orchestrator", decision: d.decision };
      if (d.epic_id !== undefined) entry.epic_id = d.epic_id;
      if (d.iteration !== undefined) entry.iteration = d.iteration;
      entry.details = d.details;
      if (last && t.state && !t.same) entry.state = t.state;
      if (last && t.input) entry.input = t.input;
      const sealed = sealLine(JSON.stringify(entry), head, foreign);
      foreign = "";
      head = sealed.hash;
      lines.push(sealed.line);
      entries.push({ ...entry, ...(last && t.state ? { state: t.state } : {}), hash: sealed.hash } as CommittedEntry);
    });
  }
  return { lines, entries, seq, head };
}
