/**
 * Renaming aside, unread, an entry another user left at a name the daemon or a role needs: a folder,
 * a FIFO, a symbolic link, a socket or a device (and a file whose bytes were not read). Drop zones
 * and inboxes carry the sticky bit, so only the entry's owner, or the folder's (the daemon), may
 * rename or remove it: left in place it holds the name for good.
 *
 * The entry is known by what lstat said of it (EntryId), never followed and never opened (a FIFO's
 * open can block for good); it is renamed by name in its folder, the same device, inode, owner and
 * type checked before and after the rename, and what another took the name with meanwhile is put
 * back. A folder moves with its contents, which are never read. Only below folders of the daemon's
 * user or root (foreignFolder), and never an entry of either (movable).
 */
import { randomBytes } from "node:crypto";
import { lstatSync, type Stats } from "node:fs";
import { link, lstat, rename, unlink } from "node:fs/promises";
import { basename, dirname, join, relative, sep } from "node:path";
import { kindOf } from "./guarded-read.js";
import { assertRealDirs, assertStillInside } from "./safe-dirs.js";
import { shellArg } from "../../errors/issue.js";
import type { DaemonKey } from "../../trust/mac.js";
import { keyedNoticeName } from "../../trust/notice-name.js";

/**
 * What an entry at a name is, as lstat said when it was decided: its device and inode, its owner's uid
 * and its type (`mode & S_IFMT`). An inode number may be reused once the entry is gone: the owner and
 * type are checked with it.
 */
export interface EntryId {
  dev: number;
  ino: number;
  uid: number;
  type: number;
}

/** S_IFMT: the type bits of st_mode. */
const S_IFMT = 0o170000;

/** The EntryId of an lstat. Pure. */
export const entryIdOf = (st: Pick<Stats, "dev" | "ino" | "uid" | "mode">): EntryId => ({ dev: st.dev, ino: st.ino, uid: st.uid, type: st.mode & S_IFMT });

/** Is the lstat `st` the entry `e` (same device, inode, owner and type)? Pure. */
export const sameEntry = (st: Pick<Stats, "dev" | "ino" | "uid" | "mode">, e: EntryId): boolean => st.dev === e.dev && st.ino === e.ino && st.uid === e.uid && (st.mode & S_IFMT) === e.type;

/**
 * Whether `uid` is the daemon's own user (`self`) or root: an owner no agent is. The one rule for a
 * folder left as it is (drop-zones.ts, doctor's modes-check), one no agent can swap on the way
 * (foreignFolder), an entry never moved (movable). Pure.
 */
export const daemonOrRoot = (uid: number, self: number | undefined): boolean => uid === 0 || uid === self;

/** Whether an entry of `uid` may ever be moved aside: never the daemon's own user's (`self`) nor root's. Pure. */
export const movable = (uid: number, self: number | undefined): boolean => !daemonOrRoot(uid, self);

/**
 * The first folder from `root` down to `dir` (the root excluded: a person's) owned by another user than
 * the daemon's or root, or undefined. Such a folder's owner may rename it and put a link in its place
 * at any moment, the sticky bit notwithstanding (it binds files, not the folder's owner), so a rename
 * by name below it may land anywhere the daemon can write; under folders of the daemon's or root's, in
 * zones with the sticky bit, no agent can swap a folder on the way.
 */
export async function foreignFolder(root: string, dir: string): Promise<{ folder: string; uid: number } | undefined> {
  const me = process.geteuid?.();
  let cur = root;
  for (const part of relative(root, dir).split(sep).filter(Boolean)) {
    cur = join(cur, part);
    const st = await lstat(cur);
    if (!daemonOrRoot(st.uid, me)) return { folder: relative(root, cur), uid: st.uid };
  }
  return undefined;
}

/** The name an entry at `file` is set aside to: a dot-name (never read), with a random part the squatter cannot take first. */
export const asideNameOf = (file: string, tag: string): string => join(dirname(file), `.refused-${basename(file)}.${tag}-${randomBytes(4).toString("hex")}`);

/**
 * What a rename aside moved that was not the entry checked (another took the name between the check
 * and the rename) and could not put back, because the name was taken again meanwhile: where it is now
 * (absolute) and its owner's uid. It may be the rightful role's drop: it is never left there unsaid.
 */
export interface Stranded {
  to: string;
  uid: number;
}

/**
 * Renames the entry at `file` to `to` when what it moved is still the entry checked (lstat of `to`
 * after the rename: same device, inode, owner and type); when another took the name between the check
 * and the rename, it is put back at once and false is returned. Put back without replacing: a hard
 * link for what is not a folder (link(2) does not follow a symbolic link on Linux); a folder only while
 * the name is still free (it cannot be linked; a rename would replace an empty folder made meanwhile).
 * When the name was taken again before the put back, what was moved stays at `to` and `stranded` is
 * told (a squatter that removes its entry, lets the rightful file land, then makes its entry again,
 * would otherwise hide that file at a dot-name with nobody told).
 */
export async function moveEntryIfSame(file: string, to: string, checked: EntryId, stranded?: (s: Stranded) => void): Promise<boolean> {
  return moveIf(file, to, () => lstat(to).then((st) => sameEntry(st, checked), () => false), stranded);
}

/**
 * Renames `file` to `to`, then asks `same` whether what it moved is the entry checked; when not, it is
 * put back without replacing (putBack) and false returned, `stranded` told when the name was taken
 * again meanwhile. The one rename-check-put-back of moveEntryIfSame (by lstat) and set-aside.ts's
 * moveIfSame (by the bytes' SHA-256).
 */
export async function moveIf(file: string, to: string, same: () => Promise<boolean>, stranded?: (s: Stranded) => void): Promise<boolean> {
  await rename(file, to);
  if (await same()) return true;
  const st = await lstat(to).catch(() => undefined);
  if (st && !(await putBack(file, to, st.isDirectory()))) stranded?.({ to, uid: st.uid });
  return false;
}

/**
 * Puts `to` back at `file` without replacing what took the name meanwhile: by a hard link (then the
 * aside name removed) for what is not a folder, by a rename for a folder while the name is free.
 * False when the name was taken (what was moved stays at `to`).
 */
async function putBack(file: string, to: string, isFolder: boolean): Promise<boolean> {
  if (isFolder) {
    const taken = await lstat(file).then(() => true, () => false);
    return !taken && (await rename(to, file).then(() => true, () => false));
  }
  if (!(await link(to, file).then(() => true, () => false))) return false;
  await unlink(to).catch(() => undefined);
  return true;
}

/** An entry renamed aside: where to (absolute), its owner's uid and what it is ("a folder"). */
export interface EntryAside {
  to: string;
  uid: number;
  found: string;
}

/**
 * Renames aside the entry at `file` (under `root`) that is not a regular file, when it is the entry
 * lstat says now (`seen`, undefined: lstat it here), movable, and below folders of the daemon's or
 * root's only; `tag` goes into its aside name. Undefined when nothing was moved (nothing there, a
 * regular file, root's or the daemon's, a folder on the way another user owns, or swapped meanwhile).
 */
export async function setAsideEntry(root: string, file: string, tag: string, seen?: Stats): Promise<EntryAside | undefined> {
  try {
    const st = seen ?? (await lstat(file));
    if (st.isFile() || !movable(st.uid, process.geteuid?.())) return undefined;
    const dir = dirname(file);
    await assertRealDirs(root, dir);
    if (await foreignFolder(root, dir)) return undefined;
    const to = asideNameOf(file, tag);
    await assertStillInside(root, dir);
    return (await moveEntryIfSame(file, to, entryIdOf(st))) ? { to, uid: st.uid, found: kindOf(st) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The first step of a fix for an entry another user keeps making at a notice's name in `folder`
 * (absolute): by its owner's uid when it was seen, else (made and gone again before anyone looked)
 * by catching one in the folder. Shell words quoted (shellArg).
 */
export function findWhoMakes(uid: number | undefined, what: string, folder: string): string {
  if (uid !== undefined) return `Find what runs as uid ${uid} and makes ${what} in ${shellArg(folder)} (\`getent passwd ${uid}\`)`;
  return `Find what makes ${what} at notice names in ${shellArg(folder)}: it was gone again when looked at, so its owner is not known (\`ls -ln ${shellArg(folder)}\` while one is there shows it)`;
}

/** The errors of a rename refused by what held the target name: a folder (EISDIR; ENOTEMPTY, EEXIST where the file was a folder too). */
const NAME_TAKEN = new Set(["EISDIR", "ENOTEMPTY", "EEXIST"]);

/**
 * Whether a notice's write at its regular name, failed with `e`, lost the name to what another user
 * keeps there (the daemon's deliver() and the bridge's writeNoticeDown then use the keyed name):
 * `now`, the name's lstat after the failure, is anything but a regular file (a rename over a file
 * replaces it), or nothing is there now and the rename was refused by a folder (EISDIR, ENOTEMPTY,
 * EEXIST) gone again since (an agent making and removing it in a loop: "nothing there now" is no
 * proof the next try wins). Pure.
 */
export function noticeNameTaken(e: unknown, now: Stats | undefined): boolean {
  return now ? !now.isFile() : NAME_TAKEN.has((e as NodeJS.ErrnoException | undefined)?.code ?? "");
}

/**
 * The copy of the notice `name` (a regular name) of `role` at its keyed fallback name in `dir` (the
 * role's inbox, absolute) under one of `keys` (newest first: trust/notice-name.ts), with its lstat:
 * only a regular file of this process's user (where it has one), whatever it holds (one left short
 * by a crash is still the notice's copy, rewritten there). Nobody else can know the name first.
 * Undefined when there is none. One HMAC and one lstat per key, on this thread.
 */
export function keyedCopyIn(dir: string, role: string, name: string, keys: readonly DaemonKey[]): { path: string; st: Stats } | undefined {
  const me = process.geteuid?.();
  for (let i = keys.length - 1; i >= 0; i--) {
    const path = join(dir, keyedNoticeName(keys[i]!, role, name));
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st?.isFile() && (me === undefined || st.uid === me)) return { path, st };
  }
  return undefined;
}
