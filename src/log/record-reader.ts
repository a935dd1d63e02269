/**
 * Reads the log of record line by line into whole transactions (PROTOCOL §7, "Trust"). Pure: lines
 * and a MAC check come in, transactions and what was wrong come out.
 *
 * - A daemon line must carry a MAC that checks (the daemon key's "log" purpose): a line without one, or
 *   with one that does not check, is forged. It is never applied and is left out of the chain.
 * - The first line of each transaction carries `txn`: how many lines the transaction has. A
 *   transaction is applied whole or not at all: one whose lines are not all there (the write was torn:
 *   a crash, a full disk) is left pending, and the caller discards it (recovery cuts the file back to
 *   where it began). Lines from before transactions were marked (an adopted log) are one each.
 * - Agents' lines the daemon accepted stand between transactions and are chained into the next
 *   daemon line's hash, as are the bytes of every line before it.
 * - A cold replay may leave most chain hashes to a worker thread (deferHashes, issue 17.4): nothing
 *   read is believed before its verdict (hashesChecked), and a bad one reads again as without it.
 */
import { chainHash, unsealLine, type LineCheck } from "./chain.js";
import type { LogEntry } from "../schemas/types.gen.js";

export interface RecordLine {
  /** 1-based line number. */
  line: number;
  text: string;
  entry: LogEntry & { seq: number };
  hash: string;
  /** Byte offset just after this line. */
  end: number;
}

export interface ChainFinding {
  decision: "log_chain_broken" | "log_record_forged";
  details: Record<string, unknown>;
}

export interface ReaderState {
  seq: number;
  head: string;
  /** Agents' raw lines since the head, each with its newline: chained into the next daemon hash. */
  foreignText: string;
  foreignLines: Array<{ line: number; text: string }>;
  /** Byte offset and line count after the last whole transaction. */
  offset: number;
  lines: number;
}

export interface ReaderOptions {
  /**
   * Asked of each transaction before it is applied; false means what it refers to outside the log (its
   * artifact bytes in the pack) did not become durable, so it was never committed: it and everything
   * after it are left pending, like a torn write, for the caller to cut.
   */
  whole?: (lines: RecordLine[]) => boolean;
  /**
   * Check one MAC, not one per line (issue 17.4): each line's chain hash commits to every byte before
   * it, so a chain that holds from the start (or a sealed checkpoint) up to a line whose MAC a key in
   * force made proves every line before it the daemon's. Lines are read unchecked; at the first break
   * of the chain, or when the last committed line's MAC is not a key in force's, `needFull` is set and
   * reading stops: the caller discards what it read and reads again with a MAC check per line (which
   * names each forged line). An intact log costs one HMAC instead of one per line.
   */
  deferMacs?: boolean;
  /**
   * With deferMacs, also leave the chain hashes to someone else (issue 17.4: a worker thread beside
   * the replay): a daemon line that directly follows the line of the head it chains on (no agents'
   * lines between) and whose seq is due is taken at its stated hash, unchecked, and the next line
   * chains on that. Every other daemon line is checked here as before. The caller must then verify
   * the chain of the same bytes — for each daemon line L whose previous line is a daemon line P (or
   * the start), chainHash(P's stated hash, "", body of L) === L's stated hash — and give the first
   * line where it does not hold to `hashesChecked` before anything read is used: a line taken
   * unchecked at or before it sets `needFull`, as a break found here would have.
   */
  deferHashes?: boolean;
}

export class RecordReader {
  /** State after the last whole transaction (what recovery keeps). */
  committed: ReaderState;
  /** deferMacs only: what was read cannot be trusted without a check per line; read again without deferMacs. */
  needFull = false;
  /** The seal of the last committed daemon line (deferMacs: the one MAC checked). */
  private lastSeal?: { signed: string; mac?: string };
  private pending?: { need: number; lines: RecordLine[]; seq: number; head: string; foreignText: string; seal?: { signed: string; mac?: string } };
  private tentativeForeign: Array<{ line: number; text: string }> = [];
  private tentativeForeignText = "";
  private tentativeEnd = 0;
  private lineNo: number;
  private brokenReported = false;
  /** A line sealed by a key in force was seen (or reading starts after a sealed checkpoint). */
  private anchored: boolean;
  readonly findings: ChainFinding[] = [];
  /** Set when `whole` refused a transaction: reading stopped before it (`committed` ends where it began). */
  stopped?: { line: number; seq: number };

  private readonly whole?: (lines: RecordLine[]) => boolean;
  private readonly deferMacs: boolean;
  private readonly deferHashes: boolean;
  /** The line whose stated hash is the head the next daemon line chains on (`from.lines`: the start). */
  private headLine: number;
  /** deferHashes: the last line taken at its stated hash (0: none). */
  private deferredTo = 0;

  constructor(
    from: ReaderState,
    private readonly check: LineCheck | undefined,
    private readonly onTxn: (lines: RecordLine[]) => void,
    opts: ReaderOptions = {},
  ) {
    this.whole = opts.whole;
    this.deferMacs = opts.deferMacs === true && check !== undefined;
    this.deferHashes = this.deferMacs && opts.deferHashes === true;
    this.headLine = from.lines;
    this.committed = { ...from, foreignLines: [...from.foreignLines] };
    this.lineNo = from.lines;
    this.anchored = from.offset > 0;
  }

  /** One complete line (without its newline) and the offset just after it. */
  push(text: string, end: number): void {
    this.lineNo++;
    if (this.stopped || this.needFull) return;
    const sealed = unsealLine(text);
    let entry: (LogEntry & { seq: number }) | undefined;
    if (sealed) {
      try {
        const v = JSON.parse(text) as LogEntry;
        if (typeof v.seq === "number") entry = v as LogEntry & { seq: number };
      } catch {
        entry = undefined;
      }
    }
    if (!sealed || !entry) {
      this.tentativeForeign.push({ line: this.lineNo, text });
      this.tentativeForeignText += `${text}\n`;
      this.tentativeEnd = end;
      return;
    }
    const base = this.pending ?? { seq: this.committed.seq, head: this.committed.head, foreignText: this.committed.foreignText };
    const foreign = this.pending ? this.pending.foreignText : `${this.committed.foreignText}${this.tentativeForeignText}`;
    // deferHashes: checked by the caller where it chains directly on the line before (see ReaderOptions)
    const deferred = this.deferHashes && foreign === "" && this.headLine === this.lineNo - 1 && entry.seq === base.seq + 1;
    if (deferred) this.deferredTo = this.lineNo;
    const chains = entry.seq === base.seq + 1 && (deferred || chainHash(base.head, foreign, sealed.body) === sealed.hash);
    if (this.deferMacs) {
      if (!chains) {
        this.needFull = true;
        return;
      }
    } else if (this.check) {
      const c = sealed.mac === undefined ? false : this.check(sealed.signed, sealed.mac);
      if (c === true) this.anchored = true;
      // sealed by a key no longer held: history from before a rotation, believed only before the
      // first line of a key in force and while the chain holds
      if (c === false || (c === "old" && (this.anchored || this.brokenReported || !chains))) {
        this.findings.push({ decision: "log_record_forged", details: { line: this.lineNo, seq: entry.seq, reason: sealed.mac === undefined ? "a daemon line without a MAC" : c === "old" ? "a daemon line sealed with a key no longer in force, where only the current key may seal" : "a daemon line whose MAC does not check (made without the daemon key)", fix: "Someone wrote into .consensus/log.jsonl: it was not applied. Check who can write the private area (`consensus doctor`)." } });
        return;
      }
    }
    if (!this.brokenReported && !chains) {
      this.brokenReported = true;
      this.findings.push({ decision: "log_chain_broken", details: { line: this.lineNo, seq: entry.seq, reason: entry.seq !== base.seq + 1 ? `seq ${entry.seq} where ${base.seq + 1} was due` : "hash does not match", fix: "Run `consensus log verify` and restore the log from a backup if lines were edited; new entries chain from the last line." } });
    }
    const line: RecordLine = { line: this.lineNo, text, entry, hash: sealed.hash, end };
    if (!this.pending) {
      const n = (entry as { txn?: unknown }).txn;
      this.pending = { need: typeof n === "number" && Number.isInteger(n) && n >= 1 ? n : 1, lines: [], seq: base.seq, head: base.head, foreignText: foreign };
    }
    const p = this.pending;
    this.headLine = this.lineNo;
    p.lines.push(line);
    p.seq = entry.seq;
    p.head = sealed.hash;
    p.foreignText = "";
    p.seal = { signed: sealed.signed, ...(sealed.mac !== undefined ? { mac: sealed.mac } : {}) };
    if (p.lines.length < p.need) return;
    if (this.whole && !this.whole(p.lines)) {
      this.stopped = { line: p.lines[0]!.line, seq: p.lines[0]!.entry.seq };
      return;
    }
    this.pending = undefined;
    this.lastSeal = p.seal;
    this.committed = { seq: p.seq, head: p.head, foreignText: "", foreignLines: [], offset: end, lines: this.lineNo };
    this.tentativeForeign = [];
    this.tentativeForeignText = "";
    this.onTxn(p.lines);
  }

  /**
   * deferHashes: the caller's verdict on the chain of the bytes read, given before anything read is
   * used: the first line where it does not hold (undefined: it holds on every line), or "failed" when
   * it could not be had (then nothing taken unchecked is believed). A line taken unchecked at or
   * before it sets `needFull`.
   */
  hashesChecked(firstBroken: number | "failed" | undefined): void {
    if (this.deferredTo === 0) return;
    if (firstBroken === "failed" || (firstBroken !== undefined && firstBroken <= this.deferredTo)) this.needFull = true;
  }

  /**
   * The end of the file. `tornTail`: it ends without a newline. Agents' lines after the last
   * transaction were written with the next one (the daemon writes them in the same write): they stand
   * only if nothing after them was torn. Returns how many lines a torn write left (0: none), which
   * the caller discards by cutting the file back to `committed.offset`.
   */
  finish(tornTail: boolean): number {
    // deferMacs: the one MAC, of the last line kept (a torn or cut tail is not kept)
    if (this.deferMacs && !this.needFull && this.lastSeal && (this.lastSeal.mac === undefined || this.check!(this.lastSeal.signed, this.lastSeal.mac) !== true)) this.needFull = true;
    if (this.stopped) {
      const n = this.lineNo - this.committed.lines + (tornTail ? 1 : 0);
      this.pending = undefined;
      this.tentativeForeign = [];
      this.tentativeForeignText = "";
      return n;
    }
    if (!this.pending && !tornTail) {
      if (this.tentativeForeign.length) {
        this.committed.foreignText += this.tentativeForeignText;
        this.committed.foreignLines.push(...this.tentativeForeign);
        this.committed.offset = this.tentativeEnd;
        this.committed.lines = this.lineNo;
      }
      this.tentativeForeign = [];
      this.tentativeForeignText = "";
      return 0;
    }
    const n = (this.pending?.lines.length ?? 0) + this.tentativeForeign.length + (tornTail ? 1 : 0);
    this.pending = undefined;
    this.tentativeForeign = [];
    this.tentativeForeignText = "";
    return n;
  }
}
