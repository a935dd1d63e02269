/**
 * Reads one candidate file with the guards a shared folder needs (issue 12.8): links that leave the
 * root are refused (file or folder); the file is opened O_NOFOLLOW|O_NONBLOCK (guarded-read.ts) and
 * judged by what was opened (fstat), not by its name: a FIFO, device or socket (NOT_REGULAR_FILE), a
 * file with more than one name (HARD_LINK: it may be a key outside the root) and anything over the
 * size cap (FILE_TOO_LARGE) are refused with an issue, so they get a log entry, never silence. Folders
 * and vanished files are skipped. Returns the bytes, their SHA-256, the modification and
 * status-change times (ms), and the owner's uid, the st_mode and the inode number of the file as opened
 * (prove.ts; placement.ts readClaim holds the inode against the lstat of the name).
 *
 * A symbolic link at the name is judged by where it leads, never read through otherwise: out of the
 * root, or into the daemon's private area (.consensus/: its key, its log of record), SYMLINK_OUTSIDE;
 * to nothing (dangling, a loop) or to a folder, NOT_REGULAR_FILE with its target and the fix: an
 * answer, never the silence of a vanished file (review rv8).
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
import { fstatSync, readlinkSync, realpathSync, type Stats } from "node:fs";
import { join, sep } from "node:path";
import { issue, shellArg, type Issue } from "../../errors/issue.js";
import { GuardedReadError, readGuardedSyncStat } from "../../store/fs/guarded-read.js";
import { atPlaceOf, joinFast, lstatQuiet, procFdsKnown } from "../../store/fs/safe-dirs.js";

export type ReadResult =
  | { ok: true; bytes: Uint8Array; sha256: string; mtimeMs: number; ctimeMs: number; size: number; uid: number; mode: number; ino: number }
  | { ok: false; issue: Issue; ctimeMs?: number }
  | { ok: false; gone: true };

const CODE_OF = { not_regular: "NOT_REGULAR_FILE", hard_link: "HARD_LINK", too_large: "FILE_TOO_LARGE", symlink: "SYMLINK_OUTSIDE" } as const;

export async function readCandidate(root: string, realRoot: string, rel: string, maxBytes: number): Promise<ReadResult> {
  return readCandidateSync(root, realRoot, rel, maxBytes);
}

export function readCandidateSync(root: string, realRoot: string, rel: string, maxBytes: number): ReadResult {
  const abs = joinFast(root, rel);
  if (procFdsKnown()) {
    const r = readPlaced(root, realRoot, rel, maxBytes);
    if (r !== undefined) return r;
  }
  // Any link on the way (the file, or a folder above it) must resolve inside the root. (A folder
  // resolves too: it is opened and found to be one, below.)
  let real: string;
  try {
    real = realpathSync.native(abs);
  } catch (e) {
    // gone, or a link at the name that leads nowhere (dangling, a loop): that one is answered
    return linkAt(abs, rel, (e as NodeJS.ErrnoException).code === "ELOOP" ? "a loop of links" : "nothing that exists") ?? { ok: false, gone: true };
  }
  const place = placeOf(real, realRoot);
  if (place !== "inside") return outside(root, rel, real, realRoot, place);
  try {
    // the resolved path, opened without following a link swapped in since; judged after the open
    return judged(readGuardedSyncStat(real, { maxBytes, singleLink: true }), abs, rel);
  } catch (e) {
    return failed(rel, real, e, abs);
  }
}

/** Where a resolved path is: in the root (where drops are read), its private area (.consensus/, the daemon's alone), or outside. */
function placeOf(real: string, realRoot: string): "inside" | "private" | "outside" {
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return "outside";
  // a realpath ends in no separator: joined by hand (path.join normalises: ~0.5 µs a drop, for nothing)
  const priv = realRoot + sep + PRIVATE;
  return real === priv || real.startsWith(priv + sep) ? "private" : "inside";
}

/** The daemon's private area, relative to the root (layout.ts): no drop is read there, whatever link leads to it. */
const PRIVATE = ".consensus";

/**
 * The answer for a symbolic link at the name that leads to `where` (a folder, nothing that exists, a
 * loop), read by lstat and readlink alone (never followed); undefined when the name holds no link (a
 * folder, or gone: skipped as before).
 */
function linkAt(abs: string, rel: string, where: string): ReadResult | undefined {
  if (lstatQuiet(abs)?.isSymbolicLink() !== true) return undefined;
  let target = "?";
  try {
    target = readlinkSync(abs);
  } catch {
    /* replaced since: its target is not known, the rest of the answer stands */
  }
  const found = `a symbolic link to ${target} (${where})`;
  return {
    ok: false,
    issue: issue("NOT_REGULAR_FILE", {
      message: `${rel} is a symbolic link to ${target}, which leads to ${where}: not read`,
      file: rel,
      found,
      expected: "a regular file",
      fix: `Remove the link (\`rm ${shellArg(rel)}\`) and copy the file into place (written to a temporary name first, then renamed): the daemon reads no drop through a link to ${where}.`,
    }),
  };
}

/**
 * The drop read where the kernel says it is (Linux, issue 17.2): its name placed by atPlaceOf (an
 * O_PATH descriptor, whose place /proc/self/fd tells: one readlink where realpath(3) of the name made
 * one a path component), refused outside the root before the file is opened, then opened through that
 * descriptor (the same file: no window between the check and the open) and judged as below. O_PATH
 * runs no open of what the name leads to: a FIFO outside is not opened (its waiting writer is not
 * let go), nor a socket or device (review rv7). undefined: the walk decides (a link at the name
 * itself, a loop of links, /proc that cannot tell).
 */
function readPlaced(root: string, realRoot: string, rel: string, maxBytes: number): ReadResult | undefined {
  const abs = joinFast(root, rel);
  try {
    return atPlaceOf(abs, (real, pfd, placed): ReadResult | undefined => {
      // no /proc here, or a place too long to name (a deep folder an agent made): the walk decides
      if (real === undefined) return undefined;
      const place = placeOf(real, realRoot);
      if (place !== "inside") {
        // a link outside (a folder on the way led there) may lead back in: the walk resolves it, as before
        return fstatSync(pfd).isSymbolicLink() ? undefined : outside(root, rel, real, realRoot, place);
      }
      try {
        return judged(readGuardedSyncStat(placed, { maxBytes, singleLink: true, reopen: true }), abs, rel);
      } catch (e) {
        // a link at the name (its O_PATH descriptor cannot be opened: ELOOP; with O_NOFOLLOW it has one of its own): the walk reads it as before
        if (e instanceof GuardedReadError && e.kind === "symlink") return undefined;
        return failed(rel, placed, e, abs);
      }
    });
  } catch (e) {
    // the name could not be placed: gone (ENOENT, ENOTDIR on the way), else the walk decides
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? { ok: false, gone: true } : undefined;
  }
}

/**
 * A drop that resolves out of the root or into the private area. The fix names the link to remove:
 * the drop's own name, or the folder on the way that is the link (removing the drop's path through it
 * would remove the file it leads to: the daemon's key, for a folder linked to .consensus/keys).
 */
function outside(root: string, rel: string, real: string, realRoot: string, place: "outside" | "private"): ReadResult {
  const link = firstLinkOf(root, rel);
  const fix =
    link === undefined || link === rel
      ? `Remove the link (\`rm ${shellArg(rel)}\`) and copy the file into place instead${place === "outside" ? ` (\`cp ${shellArg(real)} ${shellArg(rel)}\`)` : ""}: the daemon reads no drop ${place === "outside" ? "from outside the root" : `out of ${PRIVATE}/, which is its alone`}.`
      : `Remove the folder link ${link} (\`rm ${shellArg(link)}\`, no trailing slash: the link, not the files it leads to), make the folder (\`mkdir ${shellArg(link)}\`) and drop the file in it: the daemon reads no drop ${place === "outside" ? "from outside the root" : `out of ${PRIVATE}/`}.`;
  const message = place === "outside" ? `${rel} resolves outside the root (to ${real})` : `${rel} resolves into the daemon's private area (to ${real}): not read`;
  const expected = place === "outside" ? `a path inside ${realRoot}` : `a path inside ${realRoot}, outside its private area ${PRIVATE}/`;
  return { ok: false, issue: issue("SYMLINK_OUTSIDE", { message, file: rel, found: real, expected, fix }) };
}

/** The first component of `rel` (from the root down) that is a symbolic link, relative to the root; lstat alone. */
function firstLinkOf(root: string, rel: string): string | undefined {
  const parts = rel.split("/");
  for (let i = 1; i <= parts.length; i++) {
    const at = parts.slice(0, i).join("/");
    const st = lstatQuiet(join(root, at));
    if (st === undefined) return undefined;
    if (st.isSymbolicLink()) return at;
  }
  return undefined;
}

/** `abs`/`rel`: the drop's name, asked (lstat) whether a folder opened was reached through a link there. */
function judged(r: { bytes: Uint8Array; stat: Stats }, abs: string, rel: string): ReadResult {
  const { bytes, stat } = r;
  if (stat.isDirectory()) return linkAt(abs, rel, "a folder") ?? { ok: false, gone: true };
  return { ok: true, bytes, sha256: createHash("sha256").update(bytes).digest("hex"), mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, size: bytes.length, uid: stat.uid, mode: stat.mode, ino: stat.ino };
}

/**
 * A guarded read's fix about `path` (what was opened) said of `rel`: its commands name `path` as a
 * shell word (shellArg), replaced as one (replacing the bare path inside its own quotes made
 * `''rel''`, not a command, for names that both need quoting); the prose's bare `path` after. Pure.
 */
const fixFor = (fix: string, path: string, rel: string): string => fix.replaceAll(shellArg(path), shellArg(rel)).replaceAll(path, rel);

/** A read that failed, as the result the daemon decides on (`path`: what was opened, named `rel` in messages). */
function failed(rel: string, path: string, e: unknown, abs: string): ReadResult {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return { ok: false, gone: true };
  if (e instanceof GuardedReadError) {
    if (e.kind === "not_regular" && e.found === "a folder") return linkAt(abs, rel, "a folder") ?? { ok: false, gone: true };
    return { ok: false, issue: issue(CODE_OF[e.kind], { message: e.message.replace(path, rel), file: rel, found: e.found, fix: fixFor(e.fix, path, rel) }), ...(e.ctimeMs !== undefined ? { ctimeMs: e.ctimeMs } : {}) };
  }
  return { ok: false, issue: issue("FILE_UNREADABLE", { message: `${rel} could not be read: ${(e as Error).message.replace(path, rel)}`, file: rel }) };
}

/**
 * A drop zone's folder (an epic's artifacts/<EPIC>, a role's messages/inbox/<role>; `rel`) that is a
 * symbolic link: the watcher and the scan never follow it, so nothing dropped through it would ever be
 * read; it is refused whatever it leads to, by lstat, readlink and realpath of the name alone (nothing
 * in it is opened or listed). Out of the root, SYMLINK_OUTSIDE (as before); into the private area,
 * inside the root or nowhere, NOT_REGULAR_FILE. The fix: a real folder in its place, to hold `holds`.
 */
export function linkedFolderIssue(root: string, realRoot: string, rel: string, holds: string): Issue {
  const abs = joinFast(root, rel);
  let target = "?";
  try {
    target = readlinkSync(abs);
  } catch {
    /* replaced since: its target is not known, the rest of the answer stands */
  }
  let real: string | undefined;
  try {
    real = realpathSync.native(abs);
  } catch {
    real = undefined;
  }
  const place = real === undefined ? undefined : placeOf(real, realRoot);
  const where = place === undefined ? "nothing that exists" : place === "private" ? `the daemon's private area (${real})` : place === "outside" ? `outside the root (${real})` : `another folder of the root (${real})`;
  const fix = `Remove the link (\`rm ${shellArg(rel)}\`), make the folder (\`mkdir ${shellArg(rel)}\`) and drop ${holds} in it, written to a temporary name first, then renamed: the daemon never follows a linked folder, so nothing dropped through it is read.`;
  const message = `${rel} is a symbolic link to ${target}, not a folder: it leads to ${where}, and nothing dropped through it is read`;
  if (place === "outside") return issue("SYMLINK_OUTSIDE", { message, file: rel, found: real!, expected: `a folder inside ${realRoot}`, fix });
  return issue("NOT_REGULAR_FILE", { message, file: rel, found: `a symbolic link to ${target}`, expected: "a folder", fix });
}
