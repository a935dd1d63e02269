/**
 * The pack: artifact bytes appended to one preallocated file, so making them durable costs one
 * fdatasync of data already placed in allocated blocks — no new inode, no folder entry, no folder
 * fsync — and that flush can run at the same time as the log's (issue 17.1).
 *
 * Layout of `.consensus/pack`: records one after the other from byte 0, each
 *   magic "CPK1" (4 bytes) · length (u32 BE) · SHA-256 of the bytes (32 bytes) · the bytes
 * and after the last record, zeros up to the allocated size. A record is addressed by the offset of
 * its header, its length and its SHA-256 (PackAddress); the log entry that accepts an artifact is
 * meant to carry that address.
 *
 * Preallocation: the file is grown by writing zeros (not ftruncate, which leaves holes whose first
 * write allocates blocks and so changes metadata), flushed once when grown. An append then overwrites
 * zeros inside the file's size, and its fdatasync writes data only: no journal commit for the inode's
 * size or block map (ext4, xfs). The next chunk is allocated in the background once half the present
 * one is used, so growing is off the critical path but for a burst bigger than the spare half.
 *
 * The invariant it serves: no committed log entry without its bytes. The commit writes the records
 * (append), then flushes the pack and the log concurrently, and acts on the entries only when both
 * flushes returned. A crash between can leave a log entry whose record is not whole on disk; recovery
 * checks each entry's record with `holds` (magic, length and SHA-256 of the bytes) and cuts the log
 * before the first entry that fails: nothing was acted on for it, so it was never committed. Records
 * after the log's last entry are garbage the next append overwrites (`open` with `head`).
 *
 * Not thread-safe across processes: the store's writer lease is what makes this process the only writer.
 */
import { createHash } from "node:crypto";
import { closeSync, constants as fsc, openSync, readSync, writeSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { fsyncPath } from "./atomic-write.js";
import { GroupSync } from "./group-sync.js";
import { ConsensusError, issue, shellArg } from "../../errors/issue.js";

export const PACK_MAGIC = Buffer.from("CPK1", "latin1");
/** Bytes before a record's content: magic, length, SHA-256. */
export const PACK_HEADER = 4 + 4 + 32;
/** Largest record (the u32 length field). */
export const PACK_MAX_RECORD = 0xffff_ffff;

/** Where an artifact's bytes are: the record's header offset, the content's length and SHA-256 (hex). */
export interface PackAddress {
  offset: number;
  length: number;
  sha256: string;
}

export interface PackOptions {
  /**
   * Most bytes allocated at a time (default 64 MiB). A pack grows by its own size (from 1 MiB, or
   * this when smaller) up to this, so a small project never holds 64 MiB of zeros; and always by at
   * least the record that needs it.
   */
  chunkBytes?: number;
  /**
   * When the log refers to bytes past the pack's end (the pack was cut or removed: its records are
   * reported as damaged by the caller), grow it with zeros up to `head` instead of refusing.
   */
  extend?: boolean;
}

const DEFAULT_CHUNK = 64 * 2 ** 20;
const FIRST_CHUNK = 2 ** 20;
/** Zeros are written this much at a time when the file grows. */
const ZERO_BLOCK = 2 ** 20;
/**
 * Writes up to this many bytes go into the page cache on the daemon's thread (a few µs): through the
 * thread pool they queued behind other I/O, and a drop waited 2–10 ms for one now and then (issue
 * 17.3). Larger ones go through the pool, so the event loop never waits for megabytes. Used for a
 * batch's pack records here, and in fs-store.ts for the log's lines and the effect files.
 */
export const SYNC_WRITE_MAX = 256 * 1024;

export class Pack {
  /** Where the next record goes. */
  private head: number;
  /** The file's size: zeros (flushed) from head to here. */
  private allocated: number;
  private growing?: Promise<void>;
  /** Flushes shared by the callers that ask while one is queued (a flush started after a write covers it). */
  private readonly group = new GroupSync(() => this.fh.datasync());

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    head: number,
    allocated: number,
    private readonly chunk: number,
  ) {
    this.head = head;
    this.allocated = allocated;
  }

  /**
   * Opens (creating it, durably, when absent) the pack at `path`. `head`: where the next record goes —
   * the end of the last record the log refers to (PackAddress → end()), 0 for an empty log. Bytes after
   * it are overwritten.
   */
  static async open(path: string, head = 0, opts: PackOptions = {}): Promise<Pack> {
    let fh: FileHandle;
    let created = false;
    // never through a link, and private (0600: the pack holds every accepted artifact's bytes)
    try {
      fh = await open(path, fsc.O_RDWR | fsc.O_NOFOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ELOOP") throw notPlain(path, "a symbolic link");
      if (code !== "ENOENT") throw e;
      fh = await open(path, fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
      created = true;
    }
    const st = await fh.stat();
    if (!st.isFile() || st.nlink !== 1) {
      await fh.close();
      throw notPlain(path, st.isFile() ? `a file with ${st.nlink} names (a hard link)` : "not a regular file");
    }
    if (st.mode & 0o077) await fh.chmod(0o600);
    const size = st.size;
    if (head > size && !opts.extend) {
      await fh.close();
      throw new Error(`pack ${path} has ${size} bytes, but the log refers to bytes up to ${head}`);
    }
    const pack = new Pack(path, fh, head, size, Math.max(PACK_HEADER + 1, opts.chunkBytes ?? DEFAULT_CHUNK));
    if (head > size) await pack.ensure(head);
    if (created) {
      await pack.ensure(Math.min(pack.chunk, FIRST_CHUNK));
      // the new name must survive a crash too
      await fsyncPath(dirname(path));
    }
    return pack;
  }

  /** End offset of a record (where the next one may start). */
  static end(a: PackAddress): number {
    return a.offset + PACK_HEADER + a.length;
  }

  /** The next record's offset. */
  get size(): number {
    return this.head;
  }

  /**
   * Writes records for `items` (their bytes and SHA-256, hex) after the last one, in order, and returns
   * their addresses. Not durable until `flush()` resolves. Concurrent calls are given disjoint ranges.
   */
  async append(items: ReadonlyArray<{ bytes: Uint8Array; sha256: string }>): Promise<PackAddress[]> {
    const addrs: PackAddress[] = [];
    const parts: Buffer[] = [];
    const start = this.head;
    let at = start;
    for (const it of items) {
      if (it.bytes.length > PACK_MAX_RECORD) throw new RangeError(`a pack record holds at most ${PACK_MAX_RECORD} bytes, not ${it.bytes.length}`);
      parts.push(recordHeader(it.bytes.length, it.sha256), Buffer.from(it.bytes.buffer, it.bytes.byteOffset, it.bytes.byteLength));
      addrs.push({ offset: at, length: it.bytes.length, sha256: it.sha256 });
      at += PACK_HEADER + it.bytes.length;
    }
    this.head = at;
    const bytes = Buffer.concat(parts);
    // records go only where zeros were flushed: past the file's size, wait for it to grow first
    if (at > this.allocated) await this.ensure(at);
    else if (this.allocated - at < this.nextChunk() / 2 && !this.growing) void this.startGrow(this.nextChunk()).catch(() => {});
    const small = bytes.length <= SYNC_WRITE_MAX;
    let done = 0;
    while (done < bytes.length) {
      const bytesWritten = small ? writeSync(this.fh.fd, bytes, done, bytes.length - done, start + done) : (await this.fh.write(bytes, done, bytes.length - done, start + done)).bytesWritten;
      done += bytesWritten;
    }
    return addrs;
  }

  /**
   * Makes every record appended before the call durable (fdatasync). Callers share a flush when they
   * ask while one is queued; a flush already running when a call comes does not count for it.
   */
  flush(): Promise<void> {
    // group commit (group-sync.ts); a grow in flight changes the size: its own flush covers it, and a
    // record past the old size was written only after it finished (append awaits it)
    return this.group.sync(this.path);
  }

  /**
   * The records from byte 0 up to `end`, by SHA-256 (the last record of each content), read header by
   * header on this thread; stops at the first place that holds no record header (a damaged or never
   * written stretch). Headers only: a record found here is checked (read()) before it is used.
   */
  scan(end: number): Map<string, PackAddress> {
    const out = new Map<string, PackAddress>();
    const h = Buffer.alloc(PACK_HEADER);
    for (let at = 0; at + PACK_HEADER <= end; ) {
      if (readSync(this.fh.fd, h, 0, PACK_HEADER, at) !== PACK_HEADER || !h.subarray(0, 4).equals(PACK_MAGIC)) break;
      const length = h.readUInt32BE(4);
      if (at + PACK_HEADER + length > end) break;
      const sha256 = h.toString("hex", 8, PACK_HEADER);
      out.set(sha256, { offset: at, length, sha256 });
      at += PACK_HEADER + length;
    }
    return out;
  }

  /** How much the next grow adds: the pack's own size (at least 1 MiB), at most the chunk. */
  private nextChunk(): number {
    return Math.min(this.chunk, Math.max(FIRST_CHUNK, this.allocated));
  }

  /** Whether the record at `a` is whole: magic, length and SHA-256 of its bytes. */
  async holds(a: PackAddress): Promise<boolean> {
    return (await this.read(a)) !== undefined;
  }

  /** The bytes at `a` when they are whole (checked by SHA-256), else undefined. */
  async read(a: PackAddress): Promise<Uint8Array | undefined> {
    if (!validAddress(a)) return undefined;
    const buf = Buffer.alloc(PACK_HEADER + a.length);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await this.fh.read(buf, got, buf.length - got, a.offset + got);
      if (bytesRead === 0) return undefined;
      got += bytesRead;
    }
    return wholeRecord(buf, a);
  }

  /**
   * holds(), on the calling thread: for recovery's reader, which judges each transaction as it reads
   * the log (a transaction whose record is not whole is treated like a torn one: cut, decided again).
   */
  holdsSync(a: PackAddress): boolean {
    return recordAt(this.fh.fd, a) !== undefined;
  }

  /**
   * Recovery's check (the log's artifact entries in log order → their addresses): the index of the
   * first whose record is not whole in the pack, or -1 when all are. The log is cut before that entry:
   * its bytes never became durable, so no effect of it ran and it was never committed.
   */
  async firstNotWhole(addrs: readonly PackAddress[]): Promise<number> {
    for (let i = 0; i < addrs.length; i++) if (!(await this.holds(addrs[i]!))) return i;
    return -1;
  }

  async close(): Promise<void> {
    await this.growing?.catch(() => {});
    await this.fh.close();
  }

  /** Until the file holds `target` bytes: waits for a grow in flight, or starts one. */
  private async ensure(target: number): Promise<void> {
    while (this.allocated < target) {
      if (this.growing) await this.growing.catch(() => {});
      else await this.startGrow(target - this.allocated);
    }
  }

  /**
   * Grows the file by at least `need` bytes of zeros (whole chunks), then flushes it: its size and
   * block map change here, so this fdatasync carries the metadata and the appends' flushes need not.
   * Only ever writes past `allocated`, where no record is written until it is done (ensure).
   */
  private startGrow(need: number): Promise<void> {
    const from = this.allocated;
    const by = Math.ceil(Math.max(need, this.nextChunk()) / ZERO_BLOCK) * ZERO_BLOCK;
    const run = async (): Promise<void> => {
      try {
        const zeros = Buffer.alloc(Math.min(ZERO_BLOCK, by));
        for (let at = 0; at < by; at += zeros.length) {
          const n = Math.min(zeros.length, by - at);
          let done = 0;
          while (done < n) done += (await this.fh.write(zeros, done, n - done, from + at + done)).bytesWritten;
        }
        await this.fh.datasync();
      } catch (e) {
        // a full disk: give the zeros back (the log needs the room too); the next record tries again
        await this.fh.truncate(from).catch(() => {});
        throw e;
      }
      this.allocated = from + by;
    };
    const p = run().finally(() => {
      if (this.growing === p) this.growing = undefined;
    });
    this.growing = p;
    return p;
  }
}

/** A record's header: magic, length (u32 BE), SHA-256. */
function recordHeader(length: number, sha256: string): Buffer {
  const h = Buffer.allocUnsafe(PACK_HEADER);
  PACK_MAGIC.copy(h, 0);
  h.writeUInt32BE(length, 4);
  if (h.write(sha256, 8, 32, "hex") !== 32 || !/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
  return h;
}

/**
 * The bytes of the records at `addrs` in the pack at `path` that are whole (by SHA-256, hex), read
 * without a Pack or a lease (`consensus migrate` out of a folder). A missing pack has none.
 */
export function readRecords(path: string, addrs: readonly PackAddress[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch {
    return out;
  }
  try {
    for (const a of addrs) {
      const bytes = recordAt(fd, a);
      if (bytes) out.set(a.sha256, Buffer.from(bytes));
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/**
 * A new pack at `path` (0600, made exclusively) holding each record at the address a log entry names:
 * for a log that moves into a folder with its entries' `details.pack` (`consensus migrate` into a
 * folder); the gaps are zeros, as in a pack the daemon wrote. Made durable before it returns.
 */
export async function writeRecordsAt(path: string, records: ReadonlyArray<{ addr: PackAddress; bytes: Uint8Array }>): Promise<void> {
  const fh = await open(path, fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
  try {
    for (const { addr, bytes } of records) {
      const rec = Buffer.concat([recordHeader(bytes.length, addr.sha256), bytes]);
      for (let done = 0; done < rec.length; ) done += (await fh.write(rec, done, rec.length - done, addr.offset + done)).bytesWritten;
    }
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** The pack is the daemon's alone: a link or another kind of file there is refused, named, with the fix. */
function notPlain(path: string, found: string): ConsensusError {
  return new ConsensusError(issue("UNSAFE_PATH", { message: `${path} is ${found}: the daemon never writes its pack through a link or a second name`, file: path, found, expected: "a regular file with one name, mode 0600", fix: `Put the real file back in its place (\`mv <the file> ${shellArg(path)}\`; \`rm ${shellArg(path)}\` first if it is a link), or restore it from a backup; then start again.` }));
}

/**
 * The bytes of the record at `a` in the pack open as `fd`, read on the calling thread, when the record
 * is whole (magic, length, SHA-256 of the bytes); undefined when not (or `a` is not an address). For
 * readers that do not write the pack (recovery's check, `consensus log`): no Pack, no lease needed.
 */
export function recordAt(fd: number, a: PackAddress): Uint8Array | undefined {
  if (!validAddress(a)) return undefined;
  const buf = Buffer.alloc(PACK_HEADER + a.length);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, a.offset + got);
    if (n === 0) return undefined;
    got += n;
  }
  return wholeRecord(buf, a);
}

/**
 * The pack address a log entry carries: an artifact_accepted entry's `details.pack` ({offset, length})
 * with its `details.sha256`; undefined for any other entry, or one whose fields are not numbers and a
 * SHA-256 (the entry may come from a damaged or hostile log: checked here, at every use).
 */
export function packAddressOf(e: { decision?: unknown; details?: unknown }): PackAddress | undefined {
  if (e.decision !== "artifact_accepted" || !e.details || typeof e.details !== "object") return undefined;
  const d = e.details as { pack?: unknown; sha256?: unknown };
  const p = d.pack as { offset?: unknown; length?: unknown } | undefined;
  if (!p || typeof p !== "object" || typeof d.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(d.sha256)) return undefined;
  const a = { offset: p.offset as number, length: p.length as number, sha256: d.sha256 };
  return validAddress(a) ? a : undefined;
}

const validAddress = (a: PackAddress): boolean => Number.isSafeInteger(a.offset) && a.offset >= 0 && Number.isSafeInteger(a.length) && a.length >= 0 && a.length <= PACK_MAX_RECORD && typeof a.sha256 === "string";

/** A record read whole (header and content) → its content when magic, length and SHA-256 match `a`. */
function wholeRecord(buf: Buffer, a: PackAddress): Uint8Array | undefined {
  if (!buf.subarray(0, 4).equals(PACK_MAGIC) || buf.readUInt32BE(4) !== a.length) return undefined;
  const want = buf.toString("hex", 8, PACK_HEADER);
  if (want !== a.sha256.toLowerCase()) return undefined;
  const bytes = buf.subarray(PACK_HEADER);
  return createHash("sha256").update(bytes).digest("hex") === want ? bytes : undefined;
}
