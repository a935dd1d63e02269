/**
 * Folders the daemon writes into, walked from the root one component at a time (issue 12.2): each is
 * lstat'ed, a symbolic link or anything but a folder is refused (UNSAFE_PATH, with the fix), and a
 * missing one is made (mkdir never follows its last component) with an explicit mode. So an inbox,
 * archive or agent-log folder an agent replaced with a link to /etc never sends a write out of the root.
 *
 * Node has no openat(2), so the walk and the write that follows are two steps: a swap in between is
 * caught by writeAtomic's second check (the folder's real path, before the rename). The root itself may
 * be a link (a person's choice; agents cannot write its parent).
 */
import { closeSync, constants as fsc, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, realpathSync, type Stats } from "node:fs";
import { lstat, mkdir, readlink, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { ConsensusError, issue, shellArg } from "../../errors/issue.js";
import { joinPlain, plainBelow } from "./plain-path.js";

export { isNormalAbsolute, joinFast, joinPlain, plainBelow } from "./plain-path.js";

/** Mode of the folders the daemon makes in the shared tree (the drop zones get theirs from drop-zones.ts). */
export const SHARED_DIR_MODE = 0o755;
/** Mode of the private area and every folder in it. */
export const PRIVATE_DIR_MODE = 0o700;

/**
 * lstat on the daemon's thread, never following a last link: undefined where nothing can be stat'd
 * (missing, a folder gone, no permission), without an exception built for a missing name (~3 µs of
 * CPU where a rejected fs.promises.lstat costs ~25 µs: issue 17).
 */
export function lstatQuiet(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** A real folder at `path` (lstat: not a link, not missing), on this thread without an exception for a missing one. */
export const isRealDir = (path: string): boolean => lstatQuiet(path)?.isDirectory() === true;

/**
 * The real folders (no link) directly in `dir`, as absolute paths; none when `dir` is not a real
 * folder itself (never listed through a link) or cannot be listed. Their kind is the folder entry's
 * own (readdir's d_type, as lstat would say: a link is a link; Node lstats where the file system does
 * not say), so listing 10,000 epics costs one readdir, not an lstat each. `visible`: leave out names
 * starting with "." (the daemon's hidden folders, temporaries).
 */
export function realSubfolders(dir: string, opts: { visible?: boolean } = {}): string[] {
  if (!isRealDir(dir)) return [];
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && (!opts.visible || !d.name.startsWith(".")))
      .map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}

function componentsOf(root: string, dir: string): string[] {
  const plain = plainBelow(root, dir);
  if (plain !== undefined) return plain.split(sep);
  const rel = relative(root, dir);
  if (rel === "") return [];
  if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw unsafe(dir, "outside the root", `a folder inside ${root}`, `Nothing to do for the log; this is a bug if no entry was forged: report it.`);
  return rel.split(sep);
}

const unsafe = (path: string, found: string, expected: string, fix: string): ConsensusError =>
  new ConsensusError(issue("UNSAFE_PATH", { message: `${path} is ${found}: the daemon does not write there`, file: path, found, expected, fix }));

function refuseLink(path: string, target: string | undefined): ConsensusError {
  return unsafe(path, `a symbolic link${target ? ` (to ${target})` : ""}`, "a real folder", `Remove the link (\`rm ${shellArg(path)}\`): the daemon makes the folder again at its next write. Links in the daemon's folders are refused, wherever they point.`);
}

/**
 * Makes `dir` (under `root`) and the folders above it, refusing links. Returns the folders whose
 * entries changed (the parents of what was made), for the caller's fsync.
 */
export async function safeMkdir(root: string, dir: string, mode = SHARED_DIR_MODE): Promise<string[]> {
  const changed: string[] = [];
  let cur = root;
  // below a folder just made, every folder is missing: make it at once (one call, not lstat+mkdir+lstat)
  let making = false;
  for (const part of componentsOf(root, dir)) {
    const next = cur === root ? join(root, part) : joinPlain(cur, part);
    if (making) {
      try {
        await mkdir(next, { mode });
        changed.push(cur);
        cur = next;
        continue;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
    }
    let st = await lstat(next).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return undefined;
      throw e;
    });
    if (!st) {
      try {
        await mkdir(next, { mode });
        changed.push(cur);
        making = true;
        cur = next;
        continue;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      st = await lstat(next);
    }
    if (st.isSymbolicLink()) throw refuseLink(next, await readlink(next).catch(() => undefined));
    if (!st.isDirectory()) throw unsafe(next, "not a folder", "a folder", `Move it away (\`mv ${shellArg(next)} ${shellArg(`${next}.moved`)}\`): the daemon makes the folder at its next write.`);
    cur = next;
  }
  return changed;
}

/**
 * safeMkdir on the calling thread: for the synchronous callers (spawning an agent) and the store's
 * effects (a folder or two per write, each call a few µs where a thread-pool round trip costs ~20 µs
 * of CPU: issue 17.2). Returns the folders whose entries changed. A folder it has just made is not
 * lstat'ed again (mkdir made a real folder; a swap of a folder above it since is the write's own check
 * to catch, as for every folder walked), and below it every folder is made at once: a new epic's
 * `archive/<EPIC>/<N>` costs one lstat and two mkdirs.
 */
export function safeMkdirSync(root: string, dir: string, mode = SHARED_DIR_MODE): string[] {
  const changed: string[] = [];
  let cur = root;
  let making = false;
  for (const part of componentsOf(root, dir)) {
    const next = cur === root ? join(root, part) : joinPlain(cur, part);
    let st = making ? undefined : lstatSync(next, { throwIfNoEntry: false });
    if (!st) {
      try {
        mkdirSync(next, { mode });
        changed.push(cur);
        making = true;
        cur = next;
        continue;
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code !== "EEXIST") throw e2;
      }
      making = false;
      st = lstatSync(next);
    }
    if (st.isSymbolicLink()) {
      let target: string | undefined;
      try {
        target = readlinkSync(next);
      } catch {
        target = undefined;
      }
      throw refuseLink(next, target);
    }
    if (!st.isDirectory()) throw unsafe(next, "not a folder", "a folder", `Move it away (\`mv ${shellArg(next)} ${shellArg(`${next}.moved`)}\`).`);
    cur = next;
  }
  return changed;
}

/** The folders from the root down to `dir` exist and none is a link (no folder is made). */
export async function assertRealDirs(root: string, dir: string): Promise<void> {
  let cur = root;
  for (const part of componentsOf(root, dir)) {
    const next = cur === root ? join(root, part) : joinPlain(cur, part);
    const st = await lstat(next);
    if (st.isSymbolicLink()) throw refuseLink(next, await readlink(next).catch(() => undefined));
    if (!st.isDirectory()) throw unsafe(next, "not a folder", "a folder", `Move it away (\`mv ${shellArg(next)} ${shellArg(`${next}.moved`)}\`).`);
    cur = next;
  }
}

/** The root's real path, once per root (agents cannot change it: they cannot write its parent). */
const realRoots = new Map<string, string>();
async function realRootOf(root: string): Promise<string> {
  let r = realRoots.get(root);
  if (r === undefined) realRoots.set(root, (r = await realpath(root)));
  return r;
}

/**
 * The second check, just before a rename: `dir`'s real path is still the root's real path joined with
 * its relative path (no component was swapped for a link since the walk).
 */
export async function assertStillInside(root: string, dir: string): Promise<void> {
  const [realRoot, realDir] = await Promise.all([realRootOf(root), realpath(dir)]);
  const want = join(realRoot, relative(root, dir));
  if (realDir !== want) throw unsafe(dir, `now resolving to ${realDir}`, want, `Remove the link on the way to ${dir}; the write was not made.`);
}

/** Synchronous twin of assertStillInside (realpath(3) itself: one call, not a walk in JavaScript). */
export function assertStillInsideSync(root: string, dir: string): void {
  const want = join(realRootSync(root), relative(root, dir));
  const realDir = realpathSync.native(dir);
  if (realDir !== want) throw unsafe(dir, `now resolving to ${realDir}`, want, `Remove the link on the way to ${dir}; the write was not made.`);
}

function realRootSync(root: string): string {
  let r = realRoots.get(root);
  if (r === undefined) realRoots.set(root, (r = realpathSync.native(root)));
  return r;
}

/** Whether /proc/self/fd names open files here (Linux); false once reading it failed for want of /proc. */
let procFds = process.platform === "linux";

/**
 * Where the kernel says the open descriptor `fd` really is (/proc/self/fd/<fd>: one readlink, Linux),
 * or undefined where it cannot tell: no /proc (not asked again), or a place too long to name (a deep
 * folder an agent made: this once). Shared by the effect writes' check (below) and the reads placed by
 * atPlaceOf. `procFdsKnown()`: whether asking is worth it here at all.
 */
function placeOfFd(fd: number): string | undefined {
  if (!procFds) return undefined;
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENAMETOOLONG") procFds = false;
    return undefined;
  }
}
export const procFdsKnown = (): boolean => procFds;

/** O_PATH (Linux, on every architecture Node is built for): a descriptor that names a file without opening it. */
const O_PATH = 0o10000000;

/**
 * The one way a name is placed before it is read (the drop read, read-input.ts; an MCP session's read,
 * read-named.ts): `abs` resolved once to an O_PATH descriptor (nothing is opened, so a FIFO or socket it
 * leads to is not touched; with O_NOFOLLOW a link at the name itself gets a descriptor of its own), and
 * `use` called with where /proc/self/fd says that is (undefined: it cannot tell), the descriptor, and
 * the path that opens that same file (`/proc/self/fd/<fd>`, for readGuardedSyncStat's `reopen`: no
 * window between the check and the read). The descriptor is closed after; the open's error (ENOENT,
 * ENOTDIR …) is thrown as it is. Linux: callers ask procFdsKnown() first.
 */
export function atPlaceOf<T>(abs: string, use: (place: string | undefined, fd: number, reopen: string) => T): T {
  const fd = openSync(abs, O_PATH | fsc.O_NOFOLLOW);
  try {
    return use(placeOfFd(fd), fd, `/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * The same check as assertStillInsideSync, made on a file just created at `path` (a temporary, still
 * open as `fd`) instead of on its folder: on Linux the kernel names where an open file really is
 * (/proc/self/fd/<fd>, one readlink), where realpath(3) of the folder is one readlink per component of
 * the whole path (six to ten per write: issue 17.2). So a folder on the way swapped for a link, or the
 * file moved or deleted since it was created, shows as a path other than `path`'s under the root's
 * real path. Elsewhere, or where /proc cannot be read, the folder's realpath as before.
 * Throws UNSAFE_PATH (ConsensusError) naming what it resolves to now.
 */
export function assertFileStillInsideSync(root: string, fd: number, path: string): void {
  const real = placeOfFd(fd);
  if (real === undefined) return assertStillInsideSync(root, dirname(path));
  const below = plainBelow(root, path);
  const want = below === undefined ? join(realRootSync(root), relative(root, path)) : joinPlain(realRootSync(root), below);
  if (real !== want) throw unsafe(dirname(path), `now resolving to ${dirname(real)}`, dirname(want), `Remove the link on the way to ${dirname(path)}; the write was not made.`);
}
