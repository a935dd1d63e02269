/**
 * Atomic file replacement that follows the bus's own rule (PROTOCOL §2-3): the temporary file starts
 * with "." and ends in ".tmp", in the same folder, so no watcher — ours or an agent's — ever reads it.
 * (write-file-atomic names its temporaries `name.<hash>`, which agents and the daemon would see as
 * real drops; that is why this is not the library.)
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants as fsc, fchmodSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { isMainThread } from "node:worker_threads";
import { assertFileStillInsideSync, isNormalAbsolute, joinPlain } from "./safe-dirs.js";

/**
 * A temporary name nobody can guess (96 random bits per write: a link planted at "the next" name
 * cannot be aimed), created exclusively and never through a link (issue 12.2).
 */
export const tmpOf = (path: string, hideName = false): string => {
  const name = hideName ? `.${random96()}.tmp` : `.${basename(path)}.${random96()}.tmp`;
  const dir = dirname(path);
  // a folder in normal form takes the name as it is (path.join would scan and copy the whole path again)
  return isNormalAbsolute(dir) ? joinPlain(dir, name) : join(dir, name);
};

const DAEMON_TEMP = /^\.(?:[^/]+\.)?[0-9a-f]{24}\.tmp$/;
/**
 * Whether `name` (a folder entry's name, no "/") has the form tmpOf gives: `.<name>.<24 hex>.tmp` or
 * `.<24 hex>.tmp` (hideName). A name only: anyone can make an entry of that form (temp-sweep.ts checks
 * the entry itself before it removes one).
 */
export const isDaemonTempName = (name: string): boolean => DAEMON_TEMP.test(name);

/**
 * 96 bits of the CSPRNG as hex, drawn for 256 names at a time: a randomBytes call per name (a call
 * into OpenSSL, with its getpid, per notice and archive copy) was 2.1 % of a burst's main-thread
 * time (issue 17.2). Each name gets bytes of its own; none is handed out twice.
 */
let pool = Buffer.alloc(0);
let poolAt = 0;
function random96(): string {
  if (poolAt + 12 > pool.length) {
    pool = randomBytes(12 * 256);
    poolAt = 0;
  }
  const s = pool.toString("hex", poolAt, poolAt + 12);
  poolAt += 12;
  return s;
}
const CREATE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

/** Mode of the files the daemon writes where people and agents read them (archive, notices, state.json). */
export const SHARED_FILE_MODE = 0o644;
/** Mode of the files in the private area (.consensus/). */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * The process's umask, read once when this module loads (nothing in consensus changes it later):
 * reading means setting it and setting it back, and setting it per write made every file another
 * thread made in between get that mask (Node's DEP0139).
 */
const UMASK = ((): number => {
  // a worker thread (effect-worker.ts) may only read it, which it can do without setting it
  if (!isMainThread) return process.umask();
  const m = process.umask(0o022);
  process.umask(m);
  return m;
})();
const currentUmask = (): number => UMASK;

export interface WriteOptions {
  durable?: boolean | "file";
  /** The file's mode, whatever the umask (default SHARED_FILE_MODE). */
  mode?: number;
  /** When given: the file written must still be inside this root, with no link on the way, just before the rename (assertFileStillInsideSync). */
  root?: string;
  /**
   * The temporary's name says nothing of the file's (`.<random>.tmp`): for a name nobody may learn
   * before the file is there (a notice's keyed fallback name, trust/notice-name.ts), or an agent
   * watching the folder would read it off the temporary and take it before the rename.
   */
  hideName?: boolean;
}

/**
 * Writes path atomically (a temporary created O_EXCL|O_NOFOLLOW with an explicit mode, then rename).
 * `durable` is for what the product promises
 * survives a power cut: true fdatasyncs the file before the rename and fsyncs its folder after it;
 * "file" fdatasyncs only the file (the caller syncs the folder, e.g. once for many files).
 */
export async function writeAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[], opts: WriteOptions = {}): Promise<void> {
  const tmp = tmpOf(path, opts.hideName);
  const mode = opts.mode ?? SHARED_FILE_MODE;
  const fh = await open(tmp, CREATE_FLAGS, mode);
  try {
    // explicit, whatever the umask (issue 12.11); no extra call when the umask leaves the mode as it is
    if ((mode & ~currentUmask()) !== mode) await fh.chmod(mode);
    if (Array.isArray(data)) await writeParts(fh, data as readonly Uint8Array[]);
    else await fh.writeFile(data as string | Uint8Array);
    if (opts.durable) await fh.datasync();
    // the check by the open file itself, just before the rename (assertFileStillInsideSync)
    if (opts.root !== undefined) assertFileStillInsideSync(opts.root, fh.fd, tmp);
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  if (opts.durable === true) await fsyncPath(dirname(path));
}

/** Bytes in parts, in order, with writev (what a short write left is written after). */
async function writeParts(fh: FileHandle, parts: readonly Uint8Array[]): Promise<void> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const { bytesWritten } = await fh.writev(parts as Uint8Array[]);
  if (bytesWritten < total) await fh.writeFile(Buffer.concat(parts as Uint8Array[]).subarray(bytesWritten));
}

/**
 * writeAtomic on the calling thread, never durable (the caller syncs later: the store's effects, which
 * the checkpoint syncs): for small files, where each of the five calls costs a few µs here and ~20 µs
 * of CPU as a thread-pool round trip (issue 17.2). Same temporary name, flags, mode and checks.
 */
export function writeAtomicSync(path: string, data: Uint8Array, opts: Omit<WriteOptions, "durable"> = {}): void {
  const tmp = tmpOf(path, opts.hideName);
  const mode = opts.mode ?? SHARED_FILE_MODE;
  const fd = openSync(tmp, CREATE_FLAGS, mode);
  try {
    if ((mode & ~currentUmask()) !== mode) fchmodSync(fd, mode);
    for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done);
    // the check by the open file itself: one readlink on Linux (assertFileStillInsideSync)
    if (opts.root !== undefined) assertFileStillInsideSync(opts.root, fd, tmp);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
}

/**
 * fsync of a file or folder (a folder's fsync makes the names created, renamed or removed in it
 * durable). What is at `path` now may not be what the daemon wrote there: an agent that can delete in
 * a folder (an inbox that is not sticky) can put a FIFO or a link at a notice's name before the
 * checkpoint syncs it, and opening a FIFO to read waits for a writer, for ever (the checkpoint, and
 * with it every later one, hung). So it is opened without following a link and without waiting
 * (O_NOFOLLOW, O_NONBLOCK), and only a file or a folder is synced: anything else is not the daemon's,
 * and the folder it is in, synced too, holds the name. A link at `path` is skipped the same way, and
 * so is a socket (its open fails: ENXIO) and another user's entry the daemon may not open (EACCES).
 * Throws the open's error otherwise (ENOENT: nothing there).
 */
export async function fsyncPath(path: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // a link (ELOOP), a socket (ENXIO: open(2) of one fails so): not the daemon's
    if (code === "ELOOP" || code === "ENXIO") return;
    // another user's entry the daemon may not open (a file of mode 000 put at the name): not the daemon's
    // either; the daemon's own it cannot open is an error
    if ((code === "EACCES" || code === "EPERM") && !ownedBySelf(path)) return;
    throw e;
  }
  try {
    const st = await fh.stat();
    if (st.isFile() || st.isDirectory()) await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Whether the entry at `path` (lstat, never followed) is the daemon's user's; true where uids are unknown. */
function ownedBySelf(path: string): boolean {
  const me = process.geteuid?.();
  if (me === undefined) return true;
  try {
    const st = lstatSync(path, { throwIfNoEntry: false });
    return st === undefined || st.uid === me;
  } catch {
    return true; // its folder cannot be searched: the error is the daemon's, not the entry's
  }
}
