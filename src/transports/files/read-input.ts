/**
 * Reads one candidate file with the guards a shared folder needs: links that leave the root are
 * refused (file or folder), anything over the size cap is refused unread, folders, pipes, devices and
 * vanished files are skipped. Returns the bytes, their SHA-256, the modification and status-change
 * times (ms).
 *
 * The system calls run on the calling thread (lstat, realpath, open, fstat, read, close), not in the
 * libuv pool: a drop is a small file the agent has just written, in the page cache, so each call
 * costs microseconds, while a round trip through the pool costs ~20 µs of CPU each and
 * `fs.promises.readFile` ~110 µs in all (measured: BENCHMARKS.md, issue 17). The file is opened with
 * O_NONBLOCK and checked on the open descriptor (fstat), so a pipe or device swapped in after the
 * lstat is skipped and can never block the daemon.
 */
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";
import { issue, type Issue } from "../../errors/issue.js";

export type ReadResult =
  | { ok: true; bytes: Uint8Array; sha256: string; mtimeMs: number; ctimeMs: number; size: number }
  | { ok: false; issue: Issue }
  | { ok: false; gone: true };

export function readCandidate(root: string, realRoot: string, rel: string, maxBytes: number): Promise<ReadResult> {
  return Promise.resolve(readCandidateNow(root, realRoot, rel, maxBytes));
}

const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** readCandidate, synchronously. */
export function readCandidateNow(root: string, realRoot: string, rel: string, maxBytes: number): ReadResult {
  const abs = join(root, rel);
  try {
    if (!lstatSync(abs, { throwIfNoEntry: false })) return { ok: false, gone: true };
  } catch {
    return { ok: false, gone: true };
  }
  // Any link on the way (the file, or a folder above it) must resolve inside the root.
  let real: string;
  try {
    real = realpathSync.native(abs);
  } catch {
    return { ok: false, gone: true };
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) {
    return { ok: false, issue: issue("SYMLINK_OUTSIDE", { message: `${rel} resolves outside the root (to ${real})`, file: rel, found: real, expected: `a path inside ${realRoot}` }) };
  }
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if (code(e) === "ENOENT" || code(e) === "ENOTDIR" || code(e) === "ELOOP") return { ok: false, gone: true };
    return { ok: false, issue: issue("FILE_UNREADABLE", { message: `${rel} could not be read: ${(e as Error).message}`, file: rel }) };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, gone: true };
    if (st.size > maxBytes) {
      return { ok: false, issue: issue("FILE_TOO_LARGE", { message: `${rel} is ${st.size} bytes, over the cap of ${maxBytes}`, file: rel, found: `${st.size} bytes`, expected: `at most ${maxBytes} bytes` }) };
    }
    // Read to the end (it may have grown since the fstat), never more than the cap plus one byte.
    let buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, st.size + 1));
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (buf.length > maxBytes) break;
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    if (got > maxBytes) {
      return { ok: false, issue: issue("FILE_TOO_LARGE", { message: `${rel} grew past the cap of ${maxBytes} bytes`, file: rel, found: `${got} bytes` }) };
    }
    const bytes = buf.subarray(0, got);
    return { ok: true, bytes, sha256: createHash("sha256").update(bytes).digest("hex"), mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: got };
  } catch (e) {
    if (code(e) === "ENOENT") return { ok: false, gone: true };
    return { ok: false, issue: issue("FILE_UNREADABLE", { message: `${rel} could not be read: ${(e as Error).message}`, file: rel }) };
  } finally {
    closeSync(fd);
  }
}
