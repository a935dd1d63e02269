/**
 * The log of record as readEntries gives it (port.ts), read from its start or on from where an earlier
 * read stopped (a cursor), so that a caller waiting on the log (a verdict wait) reads at each wake what
 * was appended since, not the whole file again.
 *
 * What is yielded is what a read from the start yields after the same seq, with the same checks: a
 * daemon line only when its MAC checks (LineCheck, "old" seals after an anchored line forged), whole
 * transactions only (`txn`), the last commit only when its artifact bytes are whole (WholeCheck), the
 * agents' lines the daemon recorded. Reading from a cursor adds one check: each daemon line must carry
 * the next seq and chain on the line before it (chain.ts), beginning with the cursor's own line; the
 * cursor's line must be found byte for byte where it was, in the same file, and the MAC check must
 * answer as it did when the cursor was made (ReadTrust: same key, same keys in force). When any fails
 * (the log was cut back by recovery, rewritten, replaced; a key retired) the caller reads from the
 * start instead: a cursor is never trusted past what it can prove.
 */
import type { FileHandle } from "node:fs/promises";
import { chainHash, unsealLine, type LineCheck } from "../../log/chain.js";
import type { LogEntry } from "../../schemas/types.gen.js";
import type { LogLine } from "../port.js";

/** Where a read of the log of record stopped: just after the last line of a whole transaction. */
export interface ReadCursor {
  /** Byte offset just after that line (its newline included). */
  offset: number;
  /** 1-based number of that line. */
  line: number;
  /** That line's seq and stated chain hash: the next daemon line must follow and chain on them. */
  seq: number;
  head: string;
  /** That line's bytes with its newline: found there again, byte for byte, before a read starts after it. */
  last: Buffer;
  /** A line sealed by a key in force came before it (LineCheck: an "old" seal after one is forged). */
  anchored: boolean;
  /** The file it is in (st_dev, st_ino): a log replaced by another file is read from its start. */
  dev: number;
  ino: number;
  /**
   * How the lines up to it were judged: the MAC check used (undefined: none, no key to check with) and
   * the keys it took as in force then (read-chain.ts keysInForce). `anchored`, and which lines were
   * taken as the daemon's, hold only while both are the same: a key retired since, or a key readable
   * now that was not, and the log is read from its start.
   */
  trust: ReadTrust;
}

/** The MAC check a read judged lines with, and the keys in force for it (ReadCursor.trust). */
export interface ReadTrust {
  check: LineCheck | undefined;
  inForce: string;
}

/** Whether two reads judge every line alike: the same check, with the same keys in force. */
export function sameTrust(a: ReadTrust, b: ReadTrust): boolean {
  return a.check === b.check && a.inForce === b.inForce;
}

/** The pack check of a transaction (FsStore.packChecker): false means it and all after it were never committed. */
export type WholeCheck = (lines: Array<{ entry: LogEntry & { seq: number }; line: number; text: string }>) => boolean;

/** Where EntryGroups starts reading from a cursor (absent: the log's start, no chain check). */
export type GroupStart = Pick<ReadCursor, "line" | "seq" | "head" | "anchored">;

const NONE: readonly LogLine[] = Object.freeze([]);

/**
 * Sorts the lines of the log of record into what readEntries yields (pure: lines in, lines out).
 * Push each line with the byte offset just after its newline (undefined for a last line with none),
 * then finish(). Only lines after the daemon's line of `afterSeq` are given out (port.ts ReadFrom).
 */
export class EntryGroups {
  /** After the last whole transaction read (undefined: none): where the next read may start. */
  end?: Omit<ReadCursor, "dev" | "ino" | "last" | "trust"> & { lastText: string };
  /** From a cursor: a daemon line did not follow or chain on the line before it. Nothing from its transaction on was given out. */
  broken = false;
  /** The highest seq given out (0: none). */
  givenTo = 0;
  private line: number;
  private anchored: boolean;
  private seq: number;
  private head: string;
  /** Agents' raw lines since the last daemon line, each with its newline (chained into the next one's hash). */
  private foreign = "";
  /** The transaction being read: its daemon lines, and their seqs (undefined where a line has none). */
  private group: LogLine[] = [];
  private groupSeqs: Array<number | undefined> = [];
  private need = 0;
  /** Agents' lines held until the transaction after them is whole. */
  private held: LogLine[] = [];
  private stopped = false;
  /** The daemon's line of afterSeq (or a later one) was passed: agents' lines after it are given out. */
  private passed: boolean;
  private readonly chain: boolean;

  /**
   * `check`: the MAC check (undefined: no key to check with; daemon lines are taken as sealed).
   * `whole`: the pack check of each transaction. `afterSeq`: give out only what follows that seq's line.
   * `from`: reading starts just after a cursor's line; every daemon line must then chain on.
   */
  constructor(
    private readonly check: LineCheck | undefined,
    private readonly whole: WholeCheck | undefined,
    private readonly afterSeq: number,
    from?: GroupStart,
  ) {
    this.line = from?.line ?? 0;
    this.anchored = from?.anchored ?? false;
    this.seq = from?.seq ?? 0;
    this.head = from?.head ?? "";
    this.chain = from !== undefined;
    this.passed = afterSeq <= 0 || (from !== undefined && from.seq >= afterSeq);
  }

  /** One line (without its newline) and the byte offset just after its newline (undefined: the file ends without one). Returns what to give out now. */
  push(raw: string, end: number | undefined): readonly LogLine[] {
    this.line++;
    if (this.broken || this.stopped) return NONE;
    const sealed = unsealLine(raw);
    if (!sealed) {
      const { entry } = parsedEntry(raw);
      this.held.push(entry ? { line: this.line, raw, entry } : { line: this.line, raw });
      if (this.chain) this.foreign += `${raw}\n`;
      return NONE;
    }
    if (this.check) {
      const c = sealed.mac === undefined ? false : this.check(sealed.signed, sealed.mac);
      if (c === true) this.anchored = true;
      // forged: never given out, and not part of the chain (the daemon never chained on it)
      if (c === false || (c === "old" && this.anchored)) return NONE;
    }
    const { entry } = parsedEntry(raw);
    if (!entry) return NONE;
    const seq = (entry as { seq?: unknown }).seq;
    if (this.chain && (seq !== this.seq + 1 || chainHash(this.head, this.foreign, sealed.body) !== sealed.hash)) {
      this.broken = true;
      return NONE;
    }
    if (typeof seq === "number") this.seq = seq;
    this.head = sealed.hash;
    this.foreign = "";
    if (!this.group.length) {
      const n = (entry as { txn?: unknown }).txn;
      this.need = typeof n === "number" && Number.isInteger(n) && n >= 1 ? n : 1;
    }
    this.group.push({ line: this.line, raw, entry });
    this.groupSeqs.push(typeof seq === "number" ? seq : undefined);
    if (this.group.length < this.need) return NONE;
    if (this.whole && !this.whole(this.group.map((g) => ({ line: g.line, entry: g.entry as LogEntry & { seq: number }, text: g.raw })))) {
      this.stopped = true;
      return NONE;
    }
    const out = this.give(this.group, this.groupSeqs);
    this.group = [];
    this.groupSeqs = [];
    if (end !== undefined) this.end = { offset: end, line: this.line, seq: this.seq, head: this.head, anchored: this.anchored, lastText: raw };
    return out;
  }

  /** The end of what was read: agents' lines after the last transaction stand when nothing after them is torn. */
  finish(): readonly LogLine[] {
    if (this.broken || this.stopped || this.group.length) return NONE;
    return this.give([], []);
  }

  /** The held agents' lines, then a transaction's lines, less what comes before afterSeq's line. */
  private give(group: LogLine[], seqs: Array<number | undefined>): readonly LogLine[] {
    let out = this.passed ? this.held : NONE;
    this.held = [];
    for (let i = 0; i < group.length; i++) {
      const seq = seqs[i];
      if (seq !== undefined && seq >= this.afterSeq) this.passed = true;
      if (seq === undefined ? !this.passed : seq <= this.afterSeq) continue;
      if (seq !== undefined) this.givenTo = Math.max(this.givenTo, seq);
      out = out === NONE ? [group[i]!] : (out as LogLine[]).concat(group[i]!);
    }
    return out;
  }
}

/**
 * The lines of [from, to) of a file, a block (up to 1 MiB) at a time: each with the byte offset just
 * after its newline; a last line without one (a write in progress, a torn tail) comes last with `end`
 * undefined. Lines are split at "\n" only, as the log is written and chained.
 */
export async function* linesOf(fh: FileHandle, from: number, to: number): AsyncGenerator<Array<{ text: string; end?: number }>> {
  const chunk = Buffer.alloc(Math.max(1, Math.min(1 << 20, to - from)));
  let pos = from;
  let carry: Buffer = Buffer.alloc(0);
  while (pos < to) {
    const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, to - pos), pos);
    if (bytesRead === 0) break;
    const buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
    const base = pos - carry.length;
    const out: Array<{ text: string; end?: number }> = [];
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      out.push({ text: buf.toString("utf8", start, nl), end: base + nl + 1 });
      start = nl + 1;
    }
    carry = Buffer.from(buf.subarray(start));
    pos += bytesRead;
    if (out.length) yield out;
  }
  if (carry.length) yield [{ text: carry.toString("utf8") }];
}

/** Whether the cursor's line is still where it was: its bytes, byte for byte, just before its offset. */
export async function cursorHolds(fh: FileHandle, c: ReadCursor, size: number): Promise<boolean> {
  if (size < c.offset || c.offset < c.last.length) return false;
  const buf = Buffer.alloc(c.last.length);
  const { bytesRead } = await fh.read(buf, 0, buf.length, c.offset - c.last.length);
  return bytesRead === buf.length && buf.equals(c.last);
}

/** A line parsed as an entry where it is a JSON object. */
export function parsedEntry(raw: string): { entry?: LogEntry } {
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? { entry: v as LogEntry } : {};
  } catch {
    return {};
  }
}
