/**
 * Reads one candidate file with the guards a shared folder needs: links that leave the root are
 * refused (file or folder), anything over the size cap is refused unread, folders and vanished files
 * are skipped. Returns the bytes, their SHA-256, the modification and status-change times (ms).
 */
import { createHash } from "node:crypto";
import { lstat, readFile, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { issue, type Issue } from "../../errors/issue.js";

export type ReadResult =
  | { ok: true; bytes: Uint8Array; sha256: string; mtimeMs: number; ctimeMs: number; size: number; uid: number }
  | { ok: false; issue: Issue }
  | { ok: false; gone: true };

export async function readCandidate(root: string, realRoot: string, rel: string, maxBytes: number): Promise<ReadResult> {
  const abs = join(root, rel);
  let st;
  try {
    st = await lstat(abs);
  } catch {
    return { ok: false, gone: true };
  }
  // Any link on the way (the file, or a folder above it) must resolve inside the root.
  let real: string;
  try {
    real = await realpath(abs);
  } catch {
    return { ok: false, gone: true };
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) {
    return { ok: false, issue: issue("SYMLINK_OUTSIDE", { message: `${rel} resolves outside the root (to ${real})`, file: rel, found: real, expected: `a path inside ${realRoot}` }) };
  }
  if (st.isSymbolicLink()) st = await stat(abs).catch(() => undefined);
  if (!st) return { ok: false, gone: true };
  if (!st.isFile()) return { ok: false, gone: true };
  if (st.size > maxBytes) {
    return { ok: false, issue: issue("FILE_TOO_LARGE", { message: `${rel} is ${st.size} bytes, over the cap of ${maxBytes}`, file: rel, found: `${st.size} bytes`, expected: `at most ${maxBytes} bytes` }) };
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { ok: false, gone: true };
    return { ok: false, issue: issue("FILE_UNREADABLE", { message: `${rel} could not be read: ${(e as Error).message}`, file: rel }) };
  }
  if (bytes.length > maxBytes) {
    return { ok: false, issue: issue("FILE_TOO_LARGE", { message: `${rel} grew past the cap of ${maxBytes} bytes`, file: rel, found: `${bytes.length} bytes` }) };
  }
  return { ok: true, bytes, sha256: createHash("sha256").update(bytes).digest("hex"), mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: bytes.length, uid: st.uid };
}
