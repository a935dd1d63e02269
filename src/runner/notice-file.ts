/**
 * The notice file a launch names in CONSENSUS_NOTICE. Inboxes are folders agents write, and a notice's
 * regular name is predictable (its seq): what is at that name may be an agent's (a link to a file of
 * its choosing, a FIFO, a folder, its own file), and the daemon then wrote the notice at its keyed
 * fallback name (trust/notice-name.ts), which only the daemon key finds. A launch names the notice
 * only where it is the daemon's: never a name another user holds, nor a free one an agent could take
 * after the launch.
 */
import { dirname, join } from "node:path";
import { shellArg } from "../errors/issue.js";
import { findWhoMakes, keyedCopyIn } from "../store/fs/entry-aside.js";
import { kindOf } from "../store/fs/guarded-read.js";
import { lstatQuiet } from "../store/fs/safe-dirs.js";
import type { DaemonKey } from "../trust/mac.js";

/** Where a launch's notice is (`path`, absolute), or why the launch names none (`reason`, `fix`). */
export type NoticeFile = { path: string } | { path?: undefined; reason: string; fix: string };

/**
 * The notice file of `rel` (messages/inbox/<role>/<regular name>, relative to `root`): its copy at the
 * keyed name under one of `keys` where the daemon wrote it there, else the regular name when lstat
 * (never following a link) finds a regular file of this process's user with one link there: the
 * daemon's notice. Anything else (a link, a FIFO, a folder, another user's file, a hard link to a file
 * of this user's such as the readable log, nothing) gives no path, with the reason
 * and the fix: an agent is never pointed at a file that is not the daemon's notice. With no key
 * (the daemon key is not readable) a notice moved to its keyed name cannot be found: none either.
 */
export function noticeFileOf(root: string, rel: string, keys: readonly DaemonKey[]): NoticeFile {
  const regular = join(root, rel);
  const parts = rel.split("/");
  const folder = dirname(regular);
  const keyed = parts.length === 4 ? keyedCopyIn(folder, parts[2]!, parts[3]!, keys) : undefined;
  if (keyed) return { path: keyed.path };
  const st = lstatQuiet(regular);
  const me = process.geteuid?.();
  if (st?.isFile() && (me === undefined || st.uid === me) && st.nlink === 1) return { path: regular };
  const keyNote = keys.length ? "and none of the daemon's keys finds a copy at its keyed name" : "and no daemon key is readable to find the notice at its keyed name";
  const inbox = "The agent can list its notices with `consensus inbox` (or the MCP inbox tool), which checks the daemon's MAC on each";
  if (!st) return { reason: `no notice at ${rel} (held back by the flood gate, or its write failed: the daemon's log says which), ${keyNote}: CONSENSUS_NOTICE is left unset, so the agent is never pointed at a name another user could take`, fix: `${inbox}; if the daemon key is missing, run \`consensus doctor\`.` };
  const found = kindOf(st);
  // the daemon writes a notice by rename (one name); a second name is another file of its user an agent
  // linked there (the readable log is the agents' group's to write: protected_hardlinks allows it)
  const links = st.isFile() && st.nlink !== 1 ? ` with ${st.nlink} hard links (another file's name: the daemon's notice has one)` : "";
  return {
    reason: `${found} of uid ${st.uid}${links} is at ${rel}, not the daemon's notice, ${keyNote}: CONSENSUS_NOTICE is left unset, so the agent is never pointed at what another user put there`,
    fix: links
      ? `A hard link's owner is its file's, not who linked it: \`find ${shellArg(root)} -xdev -samefile ${shellArg(regular)}\` shows its other names; find the agent that links files into ${shellArg(folder)}, stop it, and remove this name as root or the daemon's user (\`rm ${shellArg(regular)}\`). ${inbox}.`
      : `${findWhoMakes(st.uid, found, folder)}, stop it, and remove it as that user or root (\`rm -r ${shellArg(regular)}\`). ${inbox}.`,
  };
}
