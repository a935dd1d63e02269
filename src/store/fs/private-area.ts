/**
 * Strict modes for the private area (.consensus/, issue 12.11), like sshd's StrictModes: the daemon
 * refuses to hold a root whose private area is a link, is not a folder, belongs to another user, or
 * can be written by the group or others, and says the command that fixes it. `privateAreaProblem` is
 * the pure judgement (doctor uses it too); `assertPrivateArea` reads the folder's lstat and throws.
 */
import { lstat } from "node:fs/promises";
import { ConsensusError, issue, shellArg } from "../../errors/issue.js";

export interface ModeFacts {
  /** st_mode & 0o7777. */
  mode: number;
  uid: number;
  isLink: boolean;
  isDir: boolean;
}

/** What is wrong with the private area's folder, with the fix; undefined when it is safe. */
export function privateAreaProblem(path: string, f: ModeFacts, ownUid: number | undefined): { message: string; fix: string } | undefined {
  if (f.isLink) return { message: `the private area ${path} is a symbolic link`, fix: `Replace it with a real folder: \`rm ${shellArg(path)} && mkdir -m 700 ${shellArg(path)}\` (then restore its files from the link's target if they were there).` };
  if (!f.isDir) return { message: `the private area ${path} is not a folder`, fix: `Move it away and let the daemon make it: \`mv ${shellArg(path)} ${shellArg(path)}.moved\`.` };
  if (ownUid !== undefined && ownUid !== 0 && f.uid !== ownUid) return { message: `the private area ${path} belongs to uid ${f.uid}, not to the daemon's user (uid ${ownUid})`, fix: `Give it to the daemon's user: \`chown -R ${ownUid} ${shellArg(path)}\` (as root), or run the daemon as uid ${f.uid}.` };
  if (f.mode & 0o022) return { message: `the private area ${path} is writable by ${f.mode & 0o002 ? "every user" : "its group"} (mode ${f.mode.toString(8).padStart(4, "0")})`, fix: `Make it the daemon's alone: \`chmod 700 ${shellArg(path)}\`.` };
  return undefined;
}

/** Throws ConsensusError(PRIVATE_AREA_UNSAFE) when the private area is not the daemon's alone; a missing one passes. */
export async function assertPrivateArea(path: string): Promise<void> {
  const st = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  if (!st) return;
  const p = privateAreaProblem(path, { mode: st.mode & 0o7777, uid: st.uid, isLink: st.isSymbolicLink(), isDir: st.isDirectory() }, process.getuid?.());
  if (p) throw new ConsensusError(issue("PRIVATE_AREA_UNSAFE", { message: p.message, file: path, fix: p.fix }));
}
