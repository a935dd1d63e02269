/**
 * "This user may not read the daemon's private area": the one classification of an EACCES or EPERM met
 * reading `.consensus/` on behalf of a command (the rules in force, the log of record, the lock's
 * holder). It is no forgery and no bug: an agent run as its own OS user (docs/agents.md) is kept out of
 * the private area on purpose (0700, the daemon's). Said as PRIVATE_AREA_DENIED with who was refused,
 * what, whose the area is and its mode, and the fix; never as RULES_FORGED or an internal error.
 */
import { accessSync, constants as fsc } from "node:fs";
import { relative } from "node:path";
import { ConsensusError, issue } from "../../errors/issue.js";
import { userNameOf } from "../../trust/os-identity.js";
import type { Layout } from "./layout.js";
import { lstatQuiet } from "./safe-dirs.js";

/** Whether an fs error (or its code) says this user may not (EACCES, EPERM). */
export function isDenied(e: unknown): boolean {
  const code = typeof e === "string" ? e : (e as NodeJS.ErrnoException | undefined)?.code;
  return code === "EACCES" || code === "EPERM";
}

/**
 * Whether this process is kept out of L's private area rather than refused by it: it is not the
 * area's owner (nor reaches the area at all). Only then is an EACCES/EPERM there PRIVATE_AREA_DENIED;
 * the owner (the daemon's user, or an agent sharing it) refused its own file or folder means someone
 * changed that file's mode: tampering, said as before (RULES_FORGED, a result not sealed …), never
 * "run as the daemon's user", which it already is.
 */
export function keptOut(L: Layout): boolean {
  const st = lstatQuiet(L.dot);
  const uid = process.getuid?.();
  return !st || uid === undefined || st.uid !== uid;
}

/** `uid N (name)` of this process, or "this user" where there are no uids. */
function thisUser(): string {
  const uid = process.getuid?.();
  return uid === undefined ? "this user" : `uid ${uid} (${userNameOf(uid)})`;
}

/**
 * The PRIVATE_AREA_DENIED error for `path` (a file or folder under L.dot, absolute) that this process
 * may not read; `what` names it in words ("the rules in force"), `fix` replaces the catalogue's fix
 * when the caller knows a better one with this command's values. The message names the area's owner
 * and mode as found by lstat (nothing when even that is refused).
 */
export function privateAreaDenied(L: Layout, path: string, what: string, fix?: string): ConsensusError {
  const st = lstatQuiet(L.dot);
  const whose = st ? `: ${relative(L.root, L.dot) || ".consensus"}/ is uid ${st.uid}'s (${userNameOf(st.uid)}), mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")}` : "";
  return new ConsensusError(
    issue("PRIVATE_AREA_DENIED", {
      message: `${thisUser()} may not read ${what} (${path}), in the daemon's private area${whose}`,
      file: path,
      found: `${thisUser()}, denied`,
      expected: "the daemon's user (or root)",
      ...(fix ? { fix } : {}),
    }),
  );
}

/**
 * Whether this process may read the private area of L (search and read .consensus/): undefined when
 * it may (or there is none yet, or it owns the area: see keptOut), else the PRIVATE_AREA_DENIED error for `what` it came to read, at
 * `o.path` (absolute; default the area itself), with `o.fix` in place of the catalogue's fix. One
 * access(2), no read: for a command that must know before it starts whether it can use the log of
 * record at all (an agent's `consensus submit`, status, log, doctor), where a file not found there
 * would otherwise be taken for a file not there.
 */
export function privateAreaRefusal(L: Layout, what: string, o: { path?: string; fix?: string } = {}): ConsensusError | undefined {
  try {
    accessSync(L.dot, fsc.R_OK | fsc.X_OK);
    return undefined;
  } catch (e) {
    return isDenied(e) && keptOut(L) ? privateAreaDenied(L, o.path ?? L.dot, what, o.fix) : undefined;
  }
}

/** privateAreaRefusal, thrown: for a command that reads the private area and has nothing to say without it. */
export function assertPrivateAreaReadable(L: Layout, what: string, o: { path?: string; fix?: string } = {}): void {
  const refused = privateAreaRefusal(L, what, o);
  if (refused) throw refused;
}
