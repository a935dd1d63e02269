/**
 * The readable mirror of the log of record: current/decision_log.jsonl (PROTOCOL "Trust").
 *
 * The daemon copies each committed daemon line here after the commit (one O_APPEND write per batch,
 * no fsync: recovery copies again what the mirror lacks), and agents append their own entries to it,
 * also while the daemon does. It is a drop zone, never trusted: the daemon reads what agents appended
 * (read), and a line there that claims to be the daemon's but is not one of its sealed lines is forged.
 *
 * Two writers: each of the daemon's copies is one write() of whole lines with O_APPEND, so it lands
 * whole between an agent's writes. An agent that is half-way through a line (the file does not end
 * with a newline) is waited for, up to settleMs, before the daemon's lines go in; after that its
 * half line is closed with a newline (it is then judged as the agent's entry).
 */
import { closeSync, constants as fsc, fstatSync, ftruncateSync, lstatSync, openSync, readSync, writeSync, type Stats } from "node:fs";
import { mkdir, open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { EntryAssembler, MAX_LINE_BYTES } from "../../log/mirror-entries.js";
import { unsealLine } from "../../log/chain.js";
import type { MirrorRead } from "../port.js";
import { SYNC_WRITE_MAX } from "./pack.js";

/** At most this many of the daemon's copied lines are remembered until read back (Mirror.own): the oldest go first. */
const OWN_MAX = 16_384;
/** Reads at most this many bytes of the mirror at a time (the rest is read next time). */
const READ_CHUNK = 8 << 20;
/**
 * New bytes up to this many are read on this thread through the descriptor the copies keep (Mirror.held):
 * what follows a copy is mostly the copy itself, just written into the page cache, and a commit this
 * small is written on this thread too (pack.ts). More (an agent's flood, a burst's copy) through the
 * pool as before.
 */
const HELD_READ_MAX = SYNC_WRITE_MAX;


export class Mirror {
  private queue: Array<{ seq: number; text: string }> = [];
  /** The last daemon seq copied (or found) in the mirror. */
  copiedSeq = 0;
  /** Where the next read of agents' lines starts. */
  readAt = { offset: 0, line: 0 };
  private partial?: { size: number; since: number };
  /**
   * The daemon's lines copied here and not read back yet (read). A line read back byte-equal to one of
   * them is the daemon's own, sealed line: what the full check (the seal's MAC, the seq, a brace scan)
   * would find, for a string compare; 4.4 % of a burst's main-thread time went to that check of the
   * daemon's own copies (issue 17.2). Anything else is checked in full, as before.
   */
  private own = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  /**
   * The descriptor the last copy opened (read-write, append), kept for the next copy and read, with
   * the file it was opened on. Each use lstats the path first: still that regular file with one name →
   * this descriptor, the file's size from the lstat; anything else (gone, replaced, a link, a FIFO, a
   * second name) → it is closed and the path opened and judged anew, as before. An open, an fstat and a
   * close fewer for each copy and each read after a copy: 4 of the 9 system calls a commit's copy
   * and its read-back cost (issue 17.2).
   */
  private held?: { fd: number; dev: number; ino: number };
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly path: string,
    /** Whether a line that claims to be the daemon's is one of its sealed lines. */
    private readonly genuine: (text: string) => boolean,
    private readonly settleMs = 1000,
  ) {}

  /** What is wrong with the file (a FIFO, a link …), not yet reported; and what was reported already. */
  private problem?: string;
  private reported = new Set<string>();

  /** A problem with the readable log found since the last call, once per kind: the caller reports it. */
  takeProblem(): string | undefined {
    const p = this.problem;
    this.problem = undefined;
    if (p === undefined || this.reported.has(p)) return undefined;
    this.reported.add(p);
    return p;
  }

  private unusable(st: { isFile(): boolean; isFIFO(): boolean; nlink: number }): boolean {
    if (st.isFile() && st.nlink <= 1) {
      this.reported.clear(); // usable again: a later problem is reported again
      return false;
    }
    this.problem = st.isFile() ? `has ${st.nlink} names (a hard link, possibly to a file outside the root): the daemon neither appends to it nor reads it` : `is ${st.isFIFO() ? "a FIFO" : "not a regular file"}: the daemon neither appends to it nor reads it`;
    return true;
  }

  /** Lines waiting to be copied (a checkpoint keeps them: recovery copies them if the mirror lacks them). */
  get behind(): ReadonlyArray<{ seq: number; text: string }> {
    return this.queue;
  }

  /** Queues committed daemon lines and copies them (now, or once an agent's half line is done). */
  copy(lines: Array<{ seq: number; text: string }>): Promise<void> {
    for (const l of lines) if (l.seq > this.copiedSeq && (this.queue.length === 0 || l.seq > this.queue[this.queue.length - 1]!.seq)) this.queue.push(l);
    return this.flush(false);
  }

  /** Copies what is queued; `force` closes an agent's half line at once (the daemon is stopping). */
  flush(force: boolean): Promise<void> {
    this.chain = this.chain
      .then(() => this.flushNow(force))
      .catch(() => this.later())
      // a copy that ran after close() (none should) holds nothing open
      .finally(() => this.closed && this.release());
    return this.chain;
  }

  async close(): Promise<void> {
    await this.flush(true);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.release();
  }

  /** Closes the held descriptor, if any. */
  private release(): void {
    const h = this.held;
    this.held = undefined;
    if (h) {
      try {
        closeSync(h.fd);
      } catch {
        /* closed already */
      }
    }
  }

  /**
   * The held descriptor and the file's size, when the entry at the path (lstat, never followed) is
   * still the regular file, with one name, it was opened on; else it is closed and undefined says to
   * open the path anew (and judge what is there, as before). Synchronous: nothing can close the
   * descriptor between this check and its use by the caller on this thread.
   */
  private heldFile(): { fd: number; size: number } | undefined {
    const h = this.held;
    if (!h) return undefined;
    let st: Stats | undefined;
    try {
      st = lstatSync(this.path, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (!st || !st.isFile() || st.nlink > 1 || st.ino !== h.ino || st.dev !== h.dev) {
      this.release();
      return undefined;
    }
    this.unusable(st); // usable: a later problem is reported again
    return { fd: h.fd, size: st.size };
  }

  private later(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush(false);
    }, Math.max(20, Math.floor(this.settleMs / 4)));
    this.timer.unref();
  }

  /**
   * The mirror opened for a copy (O_NOFOLLOW, and O_NONBLOCK: a FIFO put here never blocks the open),
   * made if missing, and held for the next copy and read; undefined when what is there is not to be
   * written (a FIFO, a second name: `problem` says).
   */
  private async openForCopy(): Promise<{ fd: number; size: number } | undefined> {
    const flags = fsc.O_RDWR | fsc.O_APPEND | fsc.O_CREAT | fsc.O_NOFOLLOW | fsc.O_NONBLOCK;
    let fd: number;
    try {
      fd = openSync(this.path, flags, 0o664);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ELOOP") this.problem = "is a symbolic link: the daemon neither appends to it nor reads it";
      if (code !== "ENOENT") throw e;
      await mkdir(dirname(this.path), { recursive: true });
      fd = openSync(this.path, flags, 0o664);
    }
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    // a hard link put in its place leads to a file outside the root: never append there (as for a FIFO)
    if (this.unusable(st)) {
      closeSync(fd);
      return undefined;
    }
    this.release();
    this.held = { fd, dev: st.dev, ino: st.ino };
    return { fd, size: st.size };
  }

  private async flushNow(force: boolean): Promise<void> {
    if (!this.queue.length) return;
    // on this thread: a commit's lines into the page cache (lstat, one byte, write: µs; open and fstat
    // too when the held descriptor is not the file at the path). Through the pool these round trips
    // came before every commit's notice, each waiting behind effects' I/O (issue 17.3).
    const at = this.heldFile() ?? (await this.openForCopy());
    if (!at) return;
    const fd = at.fd;
    const st = { size: at.size };
    try {
      let prefix = "";
      if (st.size > 0 && lastByteSync(fd, st.size) !== 10) {
        const now = Date.now();
        if (!force) {
          if (!this.partial || this.partial.size !== st.size) this.partial = { size: st.size, since: now };
          if (now - this.partial.since < this.settleMs) return this.later();
        }
        prefix = "\n";
      }
      this.partial = undefined;
      const lines = this.queue;
      const bytes = Buffer.from(`${prefix}${lines.map((l) => l.text).join("\n")}\n`);
      let off = 0;
      try {
        while (off < bytes.length) {
          const n = writeSync(fd, bytes, off, bytes.length - off);
          if (n <= 0) throw new Error("short write");
          off += n;
        }
      } catch (e) {
        // a half copy would read as a forged line: cut it back when nobody wrote after it
        if (off > 0 && fstatSync(fd).size === st.size + off) {
          try {
            ftruncateSync(fd, st.size);
          } catch {
            /* the next copy or recovery repairs it */
          }
        }
        throw e;
      }
      this.queue = [];
      this.copiedSeq = lines[lines.length - 1]!.seq;
      for (const l of lines) this.own.add(l.text);
      for (const t of this.own) {
        if (this.own.size <= OWN_MAX) break;
        this.own.delete(t);
      }
    } catch (e) {
      // opened anew next time
      this.release();
      throw e;
    }
  }


  /**
   * What agents appended since readAt: whole entries, and forged lines. Undefined when nothing new is
   * there. Does not move readAt (the caller does once what it read is recorded).
   */
  /** How far a line without its newline yet has been scanned (for readAt.offset `from`). */
  private scanned?: { from: number; upTo: number };

  /** The offset of the first newline at or after `from` (up to `size`), or undefined if none yet. */
  private async endOfLine(fh: FileHandle, from: number, size: number): Promise<number | undefined> {
    let at = this.scanned?.from === this.readAt.offset ? Math.max(from, this.scanned.upTo) : from;
    const buf = Buffer.alloc(Math.min(READ_CHUNK, Math.max(1, size - at)));
    while (at < size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - at), at);
      if (bytesRead === 0) break;
      const nl = buf.subarray(0, bytesRead).indexOf(10);
      if (nl !== -1) {
        this.scanned = undefined;
        return at + nl;
      }
      at += bytesRead;
    }
    this.scanned = { from: this.readAt.offset, upTo: at };
    return undefined;
  }

  async read(): Promise<MirrorRead | undefined> {
    // after a copy: one lstat says whether the held descriptor is still the file and how long it is;
    // the new bytes (mostly that copy, byte-compared below) are read through it on this thread
    const held = this.heldFile();
    if (held && held.size === this.readAt.offset) return undefined;
    if (held && held.size > this.readAt.offset && held.size - this.readAt.offset <= HELD_READ_MAX) {
      const buf = Buffer.alloc(held.size - this.readAt.offset);
      const bytesRead = readSync(held.fd, buf, 0, buf.length, this.readAt.offset);
      return this.judge(buf, bytesRead).out;
    }
    // none held, shrunk, or more than HELD_READ_MAX: opened by name and read through the pool
    let fh: FileHandle;
    try {
      fh = await open(this.path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ELOOP") this.problem = "is a symbolic link: the daemon neither appends to it nor reads it";
      return undefined;
    }
    try {
      const st = await fh.stat();
      if (this.unusable(st)) return undefined; // nor read another file's lines as agents' entries
      if (st.size < this.readAt.offset) {
        const lines = await countLines(fh, st.size);
        return { entries: [], forged: [], shrunk: { from: this.readAt.offset, to: st.size }, cursor: { offset: st.size, line: lines } };
      }
      if (st.size === this.readAt.offset) return undefined;
      const len = Math.min(READ_CHUNK, st.size - this.readAt.offset);
      const buf = Buffer.alloc(len);
      const { bytesRead } = await fh.read(buf, 0, len, this.readAt.offset);
      const { out, start, line, openAt } = this.judge(buf, bytesRead);
      if (start === 0 && bytesRead === READ_CHUNK && openAt === undefined) {
        // no newline in a whole chunk: a line longer than any entry may be. Find its end without
        // keeping it (each byte scanned once, however often this is called while it is being written)
        const end = await this.endOfLine(fh, this.readAt.offset + bytesRead, st.size);
        if (end === undefined) return out.oversized || out.forged.length || out.entries.length ? out : undefined;
        (out.oversized ??= []).push({ line: line + 1, bytes: end - this.readAt.offset, head: buf.toString("utf8", 0, 200) });
        out.cursor = { offset: end + 1, line: line + 1 };
        return out;
      }
      return out;
    } finally {
      await fh.close();
    }
  }

  /**
   * The whole lines of `buf` (`bytesRead` bytes read at readAt): agents' entries, forged lines, lines
   * too long, and where the next read starts (`out.cursor`: after the last whole entry). Does not move
   * readAt. `start`: the offset in `buf` after the last newline; `line`: lines counted; `openAt`: where
   * an entry still open (written over several lines, not finished) starts.
   */
  private judge(buf: Buffer, bytesRead: number): { out: MirrorRead; start: number; line: number; openAt: number | undefined } {
    const out: MirrorRead = { entries: [], forged: [], cursor: { ...this.readAt } };
    const asm = new EntryAssembler();
    let start = 0;
    let line = this.readAt.line;
    const lineAt = new Map<number, number>();
    for (let nl = buf.indexOf(10, start); nl !== -1 && nl < bytesRead; nl = buf.indexOf(10, start)) {
      const offset = this.readAt.offset + start;
      lineAt.set(offset, line);
      line++;
      if (nl - start > MAX_LINE_BYTES) {
        (out.oversized ??= []).push({ line, bytes: nl - start, head: buf.toString("utf8", start, start + 200) });
        start = nl + 1;
        continue;
      }
      const text = buf.toString("utf8", start, nl).replace(/\r$/, "");
      if (this.own.delete(text)) {
        // the daemon's own copy (what asm.push would hand back as a daemon line, and genuine() accept)
        start = nl + 1;
        continue;
      }
      for (const item of asm.push(text, line, offset)) {
        if (item.kind === "entry") out.entries.push(item.entry);
        else if (!this.genuine(item.text)) out.forged.push({ line: item.line, text: item.text, reason: "it claims to be the daemon's line but is not one of its sealed lines (wrong hash, no MAC, or a MAC made without the daemon key)" });
      }
      start = nl + 1;
    }
    const open = asm.openAt;
    out.cursor = open !== undefined ? { offset: open, line: lineAt.get(open)! } : { offset: this.readAt.offset + start, line };
    return { out, start, line, openAt: open };
  }
}

function lastByteSync(fd: number, size: number): number {
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, size - 1);
  return b[0]!;
}

async function countLines(fh: FileHandle, size: number): Promise<number> {
  const buf = Buffer.alloc(1 << 20);
  let n = 0;
  for (let pos = 0; pos < size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead <= 0) break;
    for (let i = 0; i < bytesRead; i++) if (buf[i] === 10) n++;
    pos += bytesRead;
  }
  return n;
}

/** How much of the mirror's end mirrorTail reads (bytes). */
const MIRROR_TAIL_BYTES = 8 << 20;

/**
 * The lines at the mirror's end (its last maxBytes) that look like the daemon's sealed lines, by seq:
 * recovery believes those byte-equal to the record's line of the same seq, and copies again what the
 * record has after the highest of them.
 */
export async function mirrorTail(path: string, maxBytes = MIRROR_TAIL_BYTES): Promise<Map<number, string[]>> {
  let fh: FileHandle;
  try {
    fh = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch {
    return new Map();
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return new Map();
    const from = Math.max(0, st.size - maxBytes);
    const buf = Buffer.alloc(st.size - from);
    await fh.read(buf, 0, buf.length, from);
    return sealedLinesBySeq(buf, from > 0);
  } finally {
    await fh.close();
  }
}

/**
 * mirrorTail, read at once on this thread: for a reader that needs it only in a rare case (the last
 * commit's artifact bytes not whole in the pack) and asks in the middle of a synchronous check. Any
 * error (no mirror, not a regular file, unreadable) is an empty map, as nothing found there.
 */
export function mirrorTailSync(path: string, maxBytes = MIRROR_TAIL_BYTES): Map<number, string[]> {
  let fd: number | undefined;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) return new Map();
    const from = Math.max(0, st.size - maxBytes);
    const buf = Buffer.alloc(st.size - from);
    readSync(fd, buf, 0, buf.length, from);
    return sealedLinesBySeq(buf, from > 0);
  } catch {
    return new Map();
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The sealed-looking lines of a block of the mirror, by seq; `cut`: the block starts inside a line (its first is skipped). */
function sealedLinesBySeq(buf: Buffer, cut: boolean): Map<number, string[]> {
  const out = new Map<number, string[]>();
  const lines = buf.toString("utf8").split("\n");
  for (let i = cut ? 1 : 0; i < lines.length; i++) {
    const t = lines[i]!;
    if (!t.startsWith('{"seq":') || !unsealLine(t)) continue;
    const m = /^\{"seq":(\d{1,15}),/.exec(t);
    if (m) out.set(Number(m[1]), [...(out.get(Number(m[1])) ?? []), t]);
  }
  return out;
}
