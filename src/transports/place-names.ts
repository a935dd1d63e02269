/**
 * The names a placement writes (placement.ts) in folders agents write too: the file's name
 * (artifacts/<EPIC>/<name>, messages/inbox/<role>/<name>), the claim's folder `.placed/` beside it and
 * the claim's name in it. An artifact's name is known to every agent, and so is a claim's name to one
 * that knows the content; an agent can make such a name first: a folder, a FIFO, a link, a file of its
 * own. (A message's random name is no longer readable from its claim or temporaries before it lands:
 * placement.ts claimPathOf, writeAtomic's hideName.) Here:
 *
 * - the claim's folder `.placed` must be a real folder (never a link, even one inside the root) of this
 *   process's user, root or the daemon's user (the owner of the root's `.consensus/`): a folder's owner
 *   may remove or replace any claim in it whatever its mode, so one of another user's is refused (the
 *   daemon makes each drop zone's .placed its own with the zone: runner/drop-zones.ts);
 * - a write refused at a name (a folder there: EISDIR; another user's entry in a sticky drop zone:
 *   EPERM; a folder that is not one: ENOTDIR, EACCES) is told as NAME_TAKEN: what is at the name, whose
 *   it is (uid and user) and the command that clears it, with the real path. Never a bare errno, never
 *   a write through the entry (writeAtomic renames over the name: a link or FIFO there is replaced, not
 *   followed or opened).
 */
import { mkdirSync, statSync, type Stats } from "node:fs";
import { unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ConsensusError, issue, shellArg } from "../errors/issue.js";
import { kindOf } from "../store/fs/guarded-read.js";
import { writeAtomic } from "../store/fs/atomic-write.js";
import { lstatQuiet } from "../store/fs/safe-dirs.js";
import { userNameOf } from "../trust/os-identity.js";

/** The errors of a write refused by what holds the name or its folder (not a full disk, not a bug). */
const REFUSED_AT_NAME = new Set(["EISDIR", "ENOTEMPTY", "EEXIST", "EPERM", "EACCES", "ENOTDIR", "ELOOP"]);

/** The errors of a path that cannot be followed: an entry on the way that is no folder (ENOTDIR), a link to nothing (ENOENT) or a loop of links (ELOOP). */
const NO_WAY_THROUGH = new Set(["ENOTDIR", "ENOENT", "ELOOP"]);

/** Whether `e` is a write or mkdir refused by what holds the name or its folder (REFUSED_AT_NAME), not a full disk or a bug. */
export const refusedAtName = (e: unknown): boolean => !(e instanceof ConsensusError) && REFUSED_AT_NAME.has((e as NodeJS.ErrnoException | undefined)?.code ?? "");

/** The folder the claims of a drop zone go to, beside its files (never read as an input: a dot-name). */
export const CLAIM_FOLDER = ".placed";

/**
 * The users whose `.placed` folder a placement writes its claim into: this process's, root and the
 * daemon's (owner of `<root>/.consensus`, when there is one). Undefined where uids are unknown.
 */
function trustedOwners(root: string): Set<number> | undefined {
  const me = process.geteuid?.();
  if (me === undefined) return undefined;
  const out = new Set([me, 0]);
  const daemon = lstatQuiet(join(root, ".consensus"));
  if (daemon?.isDirectory()) out.add(daemon.uid);
  return out;
}

/**
 * The claim folder `<fileDir>/.placed` (fileDir: the real path of the file's folder, inside the root),
 * made if missing (mode 0755 before the umask), as an absolute path. Throws ConsensusError(NAME_TAKEN)
 * when the name holds anything but a real folder of this user, root or the daemon's (a link, a FIFO, a
 * file, another user's folder), naming it, its owner and the fix. `relDir`: the folder relative to the root, for the message.
 */
export function claimFolderIn(root: string, fileDir: string, relDir: string): string {
  const at = join(fileDir, CLAIM_FOLDER);
  let st = lstatQuiet(at);
  if (!st) {
    try {
      mkdirSync(at, 0o755);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw nameTaken(`${relDir}/${CLAIM_FOLDER}`, at, "the claim's folder", undefined, e);
    }
    st = lstatQuiet(at);
  }
  const owners = trustedOwners(root);
  if (st?.isDirectory() && (!owners || owners.has(st.uid))) return at;
  throw nameTaken(`${relDir}/${CLAIM_FOLDER}`, at, "the claim's folder", st, undefined, st?.isDirectory() ? "its owner may remove or replace any claim placed in it" : undefined);
}

/**
 * writeAtomic of `bytes` at `abs` (`rel` under the root: the file or its claim, `what` says which),
 * with the folder checked inside `realRoot` just before the rename. A rename refused by what holds the
 * name throws ConsensusError(NAME_TAKEN) naming it; other errors are thrown as they are. `hideName`:
 * the temporary's name says nothing of the file's (writeAtomic).
 */
export async function writeAtName(abs: string, rel: string, what: string, bytes: string | Uint8Array, realRoot: string, opts: { hideName?: boolean } = {}): Promise<void> {
  try {
    await writeAtomic(abs, bytes, { root: realRoot, ...(opts.hideName ? { hideName: true } : {}) });
  } catch (e) {
    if (!refusedAtName(e)) throw e;
    throw nameTaken(rel, abs, what, lstatQuiet(abs), e);
  }
}

/**
 * Removes the claim this placement wrote at `abs` when its file could not be placed after it: only a
 * regular file of this process's user (what is at the name may be another's since). Errors are ignored.
 */
export async function withdrawClaim(abs: string): Promise<void> {
  const st = lstatQuiet(abs);
  if (st?.isFile() && st.uid === process.geteuid?.()) await unlink(abs).catch(() => undefined);
}

/**
 * NAME_TAKEN for `rel` (absolute `abs`): what lstat found there (`st`; undefined: nothing now, the
 * write's error `e` says what refused it), whose it is, and the fix with the real path. `why`: why an
 * entry that is there is not used (for a folder of another user).
 */
export function nameTaken(rel: string, abs: string, what: string, st: Stats | undefined, e?: unknown, why?: string): ConsensusError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  // an entry on the way that is no folder (a FIFO, a file, a link to nothing where an epic's folder or an
  // inbox goes): that entry is named, never "nothing there now"
  const block = code !== undefined && NO_WAY_THROUGH.has(code) ? notAFolderOnTheWay(rel, abs) : undefined;
  if (block) {
    const user = userNameOf(block.st.uid);
    const found = `${kindOf(block.st)} of uid ${block.st.uid} (${user})`;
    return new ConsensusError(
      issue("NAME_TAKEN", {
        message: `${block.rel} is ${found}, not a folder, and ${rel} (${what}) goes inside it (${code}); nothing was placed`,
        file: block.rel,
        found,
        expected: "a folder",
        fix: `Remove it as ${user} or root (\`rm ${shellArg(block.abs)}\`), find what runs as uid ${block.st.uid} and makes it (\`ps -u ${block.st.uid}\`), then submit again.`,
      }),
    );
  }
  const dir = dirname(abs);
  const folder = !st && (code === "EACCES" || code === "EPERM") ? lstatQuiet(dir) : undefined;
  if (folder) {
    // nothing at the name: the folder itself does not let this user write (an agent's, or a mode)
    const user = userNameOf(folder.uid);
    const me = process.geteuid?.();
    return new ConsensusError(
      issue("NAME_TAKEN", {
        message: `${rel}, where ${what} goes, cannot be written (${code}): its folder ${dir} is ${kindOf(folder)} of uid ${folder.uid} (${user}), mode ${(folder.mode & 0o7777).toString(8).padStart(4, "0")}, that ${me === undefined ? "this user" : `uid ${me} (${userNameOf(me)})`} may not write in; nothing was placed`,
        file: rel,
        found: `${kindOf(folder)} of uid ${folder.uid} (${user})`,
        expected: "a folder this user may write in",
        fix: `Have ${user} or root remove or fix it (\`ls -ld ${shellArg(dir)}\`; a drop zone is the daemon's, mode 3775: \`consensus init\` or the daemon sets it), then submit again.`,
      }),
    );
  }
  if (!st) {
    return new ConsensusError(
      issue("NAME_TAKEN", {
        message: `${rel}, where ${what} goes, refused the write (${code ?? "unknown error"}) and holds nothing now: an entry made there and removed again; nothing was placed`,
        file: rel,
        found: code ?? "unknown",
        expected: "a free name, or a regular file of yours",
        fix: `Find what makes entries in ${shellArg(dir)} (\`ls -ln ${shellArg(dir)}\` while one is there shows its owner), stop it, then submit again.`,
      }),
    );
  }
  const found = kindOf(st);
  const user = userNameOf(st.uid);
  const rm = `${st.isDirectory() ? "rm -r" : "rm"} ${shellArg(abs)}`;
  return new ConsensusError(
    issue("NAME_TAKEN", {
      message: `${rel}, where ${what} goes, is taken by ${found} of uid ${st.uid} (${user})${why ? `: ${why}` : code ? ` (the write was refused: ${code})` : ""}; nothing was placed`,
      file: rel,
      found: `${found} of uid ${st.uid} (${user})`,
      expected: what === "the claim's folder" ? "a folder of yours, root's or the daemon's" : "a free name, or a regular file of yours",
      fix: `Remove it as ${user} or root (\`${rm}\`), find what runs as uid ${st.uid} and makes it (\`ps -u ${st.uid}\`), then submit again.`,
    }),
  );
}

/**
 * The entry nearest above `abs` (or `abs` itself) that is there but leads to no folder (a FIFO, a file,
 * a link to nothing or to a loop), with its path relative to the root (`rel`'s matching prefix: `abs`
 * ends in `rel`'s components) and its lstat; undefined when the nearest entry there is a folder or a
 * link to one. lstat and stat only: nothing is opened.
 */
function notAFolderOnTheWay(rel: string, abs: string): { rel: string; abs: string; st: Stats } | undefined {
  let a = abs;
  let r = rel;
  for (;;) {
    const st = lstatQuiet(a);
    if (st) {
      if (st.isDirectory()) return undefined;
      let leadsToFolder = false;
      try {
        leadsToFolder = st.isSymbolicLink() && statSync(a).isDirectory();
      } catch {
        /* a link to nothing or a loop: no folder */
      }
      return leadsToFolder ? undefined : { rel: r, abs: a, st };
    }
    const cut = r.lastIndexOf("/");
    if (cut < 0) return undefined;
    r = r.slice(0, cut);
    a = dirname(a);
  }
}

/**
 * What is at `rel` (under `root`) now, when it is plainly not the file this process placed there of
 * `size` bytes: anything but a regular file, another user's file, or one of another size; as a sentence
 * naming it and its owner (uid and user), for a submitter that got no verdict in time (an agent may have
 * renamed its own file over the placed one: its verdict, not the submitter's, is what the daemon
 * writes). Undefined when nothing is there or it may still be the placed file. lstat only: never
 * opened, never followed.
 */
export function replacedSince(root: string, rel: string, size: number): string | undefined {
  const st = lstatQuiet(join(root, rel));
  if (!st) return undefined;
  const me = process.geteuid?.();
  const other = me !== undefined && st.uid !== me;
  if (st.isFile() && !other && st.size === size) return undefined;
  const what = `${kindOf(st)} of uid ${st.uid} (${userNameOf(st.uid)})`;
  return `${rel} now holds ${what}, not what was placed${st.isFile() && !other ? ` (${st.size} bytes, not ${size})` : ""}: it was replaced after the placement, and the daemon decides that instead. ${other ? `Find what runs as uid ${st.uid} (\`ps -u ${st.uid}\`) and writes at your file's name, then submit again` : "Submit again once it stops"}.`;
}

