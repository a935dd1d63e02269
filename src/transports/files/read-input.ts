/**
 * Reads one candidate file with the guards a shared folder needs (issue 12.8): links that leave the
 * root are refused (file or folder); the file is opened O_NOFOLLOW|O_NONBLOCK (guarded-read.ts) and
 * judged by what was opened (fstat), not by its name: a FIFO, device or socket (NOT_REGULAR_FILE), a
 * file with more than one name (HARD_LINK: it may be a key outside the root) and anything over the
 * size cap (FILE_TOO_LARGE) are refused with an issue, so they get a log entry, never silence. Folders
 * and vanished files are skipped. Returns the bytes, their SHA-256, the modification and
 * status-change times (ms), and the owner's uid and the st_mode of the file as opened (prove.ts).
 *
 * Synchronous on the daemon's thread (issue 17.2): a drop was just written, so its path is cached and
 * its bytes are in the page cache; the five pool round trips of an async read (open, fstat, read, read,
 * close) plus the lstat and realpath before them cost ~140 µs of CPU a file, the same calls made
 * synchronously ~20 µs. A FIFO still cannot block the open (O_NONBLOCK) and is refused before any read.
 * On Linux where the file really is comes from the kernel for a descriptor that names it without
 * opening it (O_PATH, /proc/self/fd), not from realpath(3) of its name beforehand: one call instead of
 * one per path component, nothing outside the root opened, and no window between the check and the open.
 */
import { createHash } from "node:crypto";
import { closeSync, constants as fsc, fstatSync, openSync, realpathSync, type Stats } from "node:fs";
import { join, sep } from "node:path";
import { issue, type Issue } from "../../errors/issue.js";
import { GuardedReadError, readGuardedSyncStat } from "../../store/fs/guarded-read.js";
import { placeOfFd, procFdsKnown } from "../../store/fs/safe-dirs.js";

export type ReadResult =
  | { ok: true; bytes: Uint8Array; sha256: string; mtimeMs: number; ctimeMs: number; size: number; uid: number; mode: number }
  | { ok: false; issue: Issue; ctimeMs?: number }
  | { ok: false; gone: true };

const CODE_OF = { not_regular: "NOT_REGULAR_FILE", hard_link: "HARD_LINK", too_large: "FILE_TOO_LARGE", symlink: "SYMLINK_OUTSIDE" } as const;

export async function readCandidate(root: string, realRoot: string, rel: string, maxBytes: number): Promise<ReadResult> {
  return readCandidateSync(root, realRoot, rel, maxBytes);
}

export function readCandidateSync(root: string, realRoot: string, rel: string, maxBytes: number): ReadResult {
  const abs = join(root, rel);
  if (procFdsKnown()) {
    const r = readPlaced(abs, realRoot, rel, maxBytes);
    if (r !== undefined) return r;
  }
  // Any link on the way (the file, or a folder above it) must resolve inside the root. (A folder
  // resolves too: it is opened and found to be one, below.)
  let real: string;
  try {
    real = realpathSync.native(abs);
  } catch {
    return { ok: false, gone: true };
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return outside(rel, real, realRoot);
  try {
    // the resolved path, opened without following a link swapped in since; judged after the open
    return judged(readGuardedSyncStat(real, { maxBytes, singleLink: true }));
  } catch (e) {
    return failed(rel, real, e);
  }
}

/** O_PATH (Linux, on every architecture Node is built for): a descriptor that names a file without opening it. */
const O_PATH = 0o10000000;

/**
 * The drop read where the kernel says it is (Linux, issue 17.2): its name resolved to an O_PATH
 * descriptor, whose place /proc/self/fd tells (one readlink where realpath(3) of the name made one a
 * path component), refused outside the root before the file is opened, then opened through that
 * descriptor (the same file: no window between the check and the open) and judged as below. O_PATH
 * runs no open of what the name leads to: a FIFO outside is not opened (its waiting writer is not
 * let go), nor a socket or device (review rv7). undefined: the walk decides (a link at the name
 * itself, a loop of links, /proc that cannot tell).
 */
function readPlaced(abs: string, realRoot: string, rel: string, maxBytes: number): ReadResult | undefined {
  let pfd: number;
  try {
    // with O_PATH, O_NOFOLLOW gives a link at the name itself a descriptor (refused by the open below)
    pfd = openSync(abs, O_PATH | fsc.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? { ok: false, gone: true } : undefined;
  }
  try {
    const placed = `/proc/self/fd/${pfd}`;
    // no /proc here, or a place too long to name (a deep folder an agent made): the walk decides
    const real = placeOfFd(pfd);
    if (real === undefined) return undefined;
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      // a link outside (a folder on the way led there) may lead back in: the walk resolves it, as before
      return fstatSync(pfd).isSymbolicLink() ? undefined : outside(rel, real, realRoot);
    }
    try {
      return judged(readGuardedSyncStat(placed, { maxBytes, singleLink: true, reopen: true }));
    } catch (e) {
      // a link at the name (its O_PATH descriptor cannot be opened: ELOOP): the walk reads it as before
      if (e instanceof GuardedReadError && e.kind === "symlink") return undefined;
      return failed(rel, placed, e);
    }
  } finally {
    closeSync(pfd);
  }
}

const outside = (rel: string, real: string, realRoot: string): ReadResult => ({ ok: false, issue: issue("SYMLINK_OUTSIDE", { message: `${rel} resolves outside the root (to ${real})`, file: rel, found: real, expected: `a path inside ${realRoot}` }) });

function judged(r: { bytes: Uint8Array; stat: Stats }): ReadResult {
  const { bytes, stat } = r;
  if (stat.isDirectory()) return { ok: false, gone: true };
  return { ok: true, bytes, sha256: createHash("sha256").update(bytes).digest("hex"), mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, size: bytes.length, uid: stat.uid, mode: stat.mode };
}

/** A read that failed, as the result the daemon decides on (`path`: what was opened, named `rel` in messages). */
function failed(rel: string, path: string, e: unknown): ReadResult {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return { ok: false, gone: true };
  if (e instanceof GuardedReadError) {
    if (e.kind === "not_regular" && e.found === "a folder") return { ok: false, gone: true };
    return { ok: false, issue: issue(CODE_OF[e.kind], { message: e.message.replace(path, rel), file: rel, found: e.found, fix: e.fix.replaceAll(path, rel) }), ...(e.ctimeMs !== undefined ? { ctimeMs: e.ctimeMs } : {}) };
  }
  return { ok: false, issue: issue("FILE_UNREADABLE", { message: `${rel} could not be read: ${(e as Error).message.replace(path, rel)}`, file: rel }) };
}
