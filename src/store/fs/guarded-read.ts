/**
 * The one way the daemon reads a file it did not just write (issue 12.8): open with
 * O_NOFOLLOW|O_NONBLOCK|O_NOCTTY (a symlink is refused, a FIFO cannot block the open, a terminal is
 * never made ours), then judge what was opened, not the name (fstat: a regular file, not larger than the
 * cap), then read at most cap + 1 bytes (a file growing past the cap while read is refused too). So a
 * FIFO named like a request cannot hang the daemon, a link to /dev/zero cannot balloon it, and the
 * check and the read are about the same file (no check-then-read race).
 *
 * Errors are GuardedReadError with a kind and a fix; ENOENT is passed through unchanged (callers
 * treat a missing file as "none yet").
 */
import { constants as fsc, type Stats } from "node:fs";
import { open } from "node:fs/promises";
import { openSync, readSync, fstatSync, closeSync } from "node:fs";
import { shellArg } from "../../errors/issue.js";

/** Why a file was not read. */
export type RefusedKind = "symlink" | "not_regular" | "too_large" | "hard_link";

export class GuardedReadError extends Error {
  constructor(
    readonly kind: RefusedKind,
    readonly file: string,
    message: string,
    readonly fix: string,
    /** What was found: "a FIFO", "1048577 bytes" … */
    readonly found: string,
    /** The status-change time of what was opened (ms), where it was opened. */
    readonly ctimeMs?: number,
  ) {
    super(message);
  }
}

export interface GuardedOptions {
  /** Largest size accepted, in bytes. */
  maxBytes: number;
  /** Refuse a file with more than one name (a hard link to something outside the root): drops. */
  singleLink?: boolean;
  /**
   * `file` is /proc/self/fd/N of an O_PATH descriptor its caller already placed (safe-dirs.ts atPlaceOf): that
   * one link is followed (O_NOFOLLOW would refuse it); what it names is judged as any file (readGuardedSyncStat).
   */
  reopen?: boolean;
}

/** O_RDONLY with no link following, no blocking open and no controlling terminal. */
export const GUARDED_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY;

/** What a stat says the file is, for messages: "a FIFO", "a character device" … */
export function kindOf(st: Pick<Stats, "isFile" | "isDirectory" | "isFIFO" | "isCharacterDevice" | "isBlockDevice" | "isSocket" | "isSymbolicLink">): string {
  if (st.isFile()) return "a regular file";
  if (st.isDirectory()) return "a folder";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  if (st.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}

function judge(file: string, st: Stats, opts: GuardedOptions): void {
  if (!st.isFile()) {
    const what = kindOf(st);
    throw new GuardedReadError("not_regular", file, `${file} is ${what}, not a regular file: not read`, `Remove it (\`rm ${shellArg(file)}\`) and write a regular file in its place.`, what);
  }
  if (st.size > opts.maxBytes) throw tooLarge(file, st.size, opts.maxBytes);
  if (opts.singleLink && st.nlink > 1) {
    throw new GuardedReadError("hard_link", file, `${file} has ${st.nlink} names (a hard link, possibly to a file outside the root): not read`, `Copy the file into place instead of linking it (\`cp --remove-destination SOURCE ${shellArg(file)}\`).`, `${st.nlink} links`, st.ctimeMs);
  }
}

const tooLarge = (file: string, size: number, max: number): GuardedReadError =>
  new GuardedReadError("too_large", file, `${file} is ${size} bytes, over the cap of ${max}: not read`, `Shrink ${file} below ${max} bytes, or remove it.`, `${size} bytes`);

function refusedOpen(file: string, e: unknown): never {
  const code = (e as NodeJS.ErrnoException).code;
  // O_NOFOLLOW on a symlink: ELOOP (Linux), EMLINK (FreeBSD), EFTYPE (NetBSD)
  if (code === "ELOOP" || code === "EMLINK" || code === "EFTYPE") {
    throw new GuardedReadError("symlink", file, `${file} is a symbolic link: the daemon never follows links in its own files`, `Replace the link with a regular file: \`rm ${shellArg(file)}\` (the daemon rewrites its own files; copy a drop into place instead of linking it).`, "a symbolic link");
  }
  throw e;
}

/** Reads a file with the guards above; resolves bytes and the fstat of what was read. */
export async function readGuarded(file: string, opts: GuardedOptions): Promise<{ bytes: Buffer<ArrayBuffer>; stat: Stats }> {
  let fh;
  try {
    fh = await open(file, GUARDED_FLAGS);
  } catch (e) {
    refusedOpen(file, e);
  }
  try {
    const st = await fh.stat();
    judge(file, st, opts);
    const buf = Buffer.alloc(Math.min(st.size, opts.maxBytes) + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) {
        if (n > opts.maxBytes) throw tooLarge(file, n, opts.maxBytes);
        break;
      }
    }
    return { bytes: buf.subarray(0, n), stat: st };
  } finally {
    await fh.close();
  }
}

/** readGuarded as UTF-8 text. */
export async function readGuardedText(file: string, opts: GuardedOptions): Promise<string> {
  return (await readGuarded(file, opts)).bytes.toString("utf8");
}

/** The synchronous twin, for the few readers that are synchronous (config at start, pid files). */
export function readGuardedSync(file: string, opts: GuardedOptions): Buffer<ArrayBuffer> {
  return readGuardedSyncStat(file, opts).bytes;
}

/**
 * readGuardedSync with the fstat of what was read: for the daemon's read of a drop on its own thread
 * (a few µs where each pool round trip costs ~20 µs of CPU: issue 17.2).
 */
export function readGuardedSyncStat(file: string, opts: GuardedOptions): { bytes: Buffer<ArrayBuffer>; stat: Stats } {
  // a bug, not an input: only a /proc descriptor link may be followed
  if (opts.reopen && !file.startsWith("/proc/self/fd/")) throw new Error(`readGuardedSyncStat: reopen of ${file}, not a /proc/self/fd link`);
  let fd: number;
  try {
    fd = openSync(file, opts.reopen ? GUARDED_FLAGS & ~fsc.O_NOFOLLOW : GUARDED_FLAGS);
  } catch (e) {
    refusedOpen(file, e);
  }
  try {
    const st = fstatSync(fd);
    judge(file, st, opts);
    const buf = Buffer.alloc(Math.min(st.size, opts.maxBytes) + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
      if (n === buf.length) {
        if (n > opts.maxBytes) throw tooLarge(file, n, opts.maxBytes);
        break;
      }
    }
    return { bytes: buf.subarray(0, n), stat: st };
  } finally {
    closeSync(fd);
  }
}

/** Caps for the daemon's own small files (bytes). */
export const CAP = {
  /** writer.json, agent pid files, request files and results. */
  small: 64 * 1024,
  /** consensus.yaml. */
  config: 1024 * 1024,
  /** checkpoint.json and state.json: every epic's state; generous. */
  state: 256 * 1024 * 1024,
} as const;
