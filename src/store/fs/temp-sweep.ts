/**
 * The temporaries a killed writer left behind. Every effect file (a notice, an archive copy, state.json,
 * the checkpoint…) is written to a temporary in its folder, then renamed (atomic-write.ts); a SIGKILL
 * between the two leaves the temporary, hidden (".…tmp") but in a role's inbox for good, litter its
 * agents list. At start-up, holding the root, the daemon (and the bridge, which writes notices and
 * archive copies the same way) removes those it made itself, and only those: a name of tmpOf's form
 * (isDaemonTempName), an entry that lstat (never following a link) finds to be a regular file of this
 * process's user with one link, made before this process started, in a folder it writes effects into,
 * reached with no link on the way. Anything else at such a name (a link, a FIFO, another user's file:
 * an agent can make an entry of that form) is left where it is, unopened, and reported.
 */
import { readdirSync, unlinkSync, type Stats } from "node:fs";
import { join, relative } from "node:path";
import { shellArg } from "../../errors/issue.js";
import { isDaemonTempName } from "./atomic-write.js";
import { findWhoMakes } from "./entry-aside.js";
import { kindOf } from "./guarded-read.js";
import type { Layout } from "./layout.js";
import { assertStillInsideSync, isRealDir, lstatQuiet } from "./safe-dirs.js";

/** An entry at a temporary-looking name that is not the daemon's: left in place, said with what, where and the fix. */
export interface TempLeft {
  /** Relative to the root. */
  file: string;
  /** What lstat found ("a symbolic link", "a FIFO (named pipe)", "a regular file"…). */
  found: string;
  /** Its owner's uid. */
  uid: number;
  /** Why it is not the daemon's. */
  reason: string;
  fix: string;
}

/**
 * How many removed temporaries and look-alikes a sweep names one by one; the rest are counted. An agent
 * can plant any number of look-alikes in an inbox: a warning each (some 700 bytes) was 14 MB of log and
 * a second more at every start for 20,000 of them.
 */
export const SWEEP_NAMED = 20;

/** Look-alikes left in one folder by one owner, past the first SWEEP_NAMED: counted, not named. */
export interface TempLeftGroup {
  /** The folder, relative to the root. */
  folder: string;
  /** The folder, absolute (for the fix's command). */
  path: string;
  uid: number;
  count: number;
}

/** What a sweep did: the temporaries removed and the look-alikes left, the first SWEEP_NAMED of each named. */
export interface TempSweep {
  /** The first SWEEP_NAMED removed, relative to the root. */
  removed: string[];
  /** How many were removed in all. */
  removedCount: number;
  /** The first SWEEP_NAMED look-alikes left, each with what, where and the fix. */
  left: TempLeft[];
  /** The look-alikes left past those, counted by folder and owner (in the order met). */
  leftUnnamed: TempLeftGroup[];
}

/**
 * The folders below the root where the daemon writes its effect files and that are there now: every
 * role's inbox (messages/inbox/<role>); with `archive`, every archive iteration (archive/<EPIC>/<n>:
 * what the bridge writes too); with `daemon`, also current/ (state.json) and the private area
 * (.consensus, its requests/ and agents/). Listed without following a link: a link where a folder
 * should be is not walked (the writes refuse it and say so).
 *
 * The daemon does not list the archive: one folder per epic and iteration, 10,000 epics took 0.27–0.8 s
 * to list warm and 2.8 s cold, at every start. A killed daemon can only have been writing the archive
 * copy of an entry after the last checkpoint (a checkpoint waits for its entries' effects), and recovery
 * writes that copy again: the store sweeps an archive folder when it re-runs a copy into it
 * (FsStore.publish on replay).
 */
export function effectFolders(L: Layout, opts: { daemon?: boolean; archive?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const role of subfolders(L.inbox)) out.push(role);
  if (opts.archive) for (const epic of subfolders(L.archive)) out.push(...subfolders(epic));
  if (opts.daemon && isRealDir(L.current)) out.push(L.current);
  if (opts.daemon) for (const d of [L.dot, L.requests, L.agentPids]) if (isRealDir(d)) out.push(d);
  return out;
}

/**
 * Removes the daemon's temporaries in `folders` (absolute, below `root`; effectFolders) left by a
 * process of this user before `startedAtMs` (epoch ms: this process's start, so a write of its own in
 * flight is never taken), and lists the look-alikes it leaves. A folder whose real path is not the
 * root's real path joined with its relative path (a link on the way) is skipped whole; one that cannot
 * be read is skipped. Never throws for what it finds; a removal that fails (other than the entry being
 * gone already) is reported as left, with its error.
 */
export function sweepDaemonTemps(root: string, folders: readonly string[], startedAtMs: number): TempSweep {
  const me = process.geteuid?.();
  const out: TempSweep = { removed: [], removedCount: 0, left: [], leftUnnamed: [] };
  const leave = (path: string, dir: string, st: Stats, reason: () => string, failed = false): void => {
    if (out.left.length < SWEEP_NAMED) return void out.left.push(leftAt(root, path, dir, st, reason(), failed));
    const g = out.leftUnnamed.find((x) => x.path === dir && x.uid === st.uid);
    if (g) g.count++;
    else out.leftUnnamed.push({ folder: relative(root, dir), path: dir, uid: st.uid, count: 1 });
  };
  for (const dir of folders) {
    let names: string[];
    try {
      names = readdirSync(dir).filter(isDaemonTempName);
    } catch {
      continue;
    }
    if (!names.length) continue;
    try {
      assertStillInsideSync(root, dir);
    } catch {
      continue; // a link on the way: nothing below it is the daemon's to remove
    }
    for (const name of names) {
      const path = join(dir, name);
      const st = lstatQuiet(path);
      if (!st) continue;
      const notOurs = notTheDaemons(st, me);
      if (notOurs) {
        leave(path, dir, st, () => notOurs);
        continue;
      }
      // this user's, made since this process started: a write of a live process (this one's), not litter
      if (st.mtimeMs >= startedAtMs) continue;
      try {
        unlinkSync(path);
        if (out.removed.length < SWEEP_NAMED) out.removed.push(relative(root, path));
        out.removedCount++;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "ENOENT") leave(path, dir, st, () => `the daemon's unlink failed (${code ?? String(e)})`, true);
      }
    }
  }
  return out;
}

/** Why the entry is not a temporary the daemon made (undefined: it may be). `me`: this process's uid (undefined where there are none). */
function notTheDaemons(st: Stats, me: number | undefined): string | undefined {
  if (st.isSymbolicLink()) return "a link is never one of the daemon's temporaries (neither followed nor removed)";
  if (!st.isFile()) return `the daemon's temporaries are regular files, this is ${kindOf(st)}`;
  if (me !== undefined && st.uid !== me) return `owned by uid ${st.uid}, not by the daemon's uid ${me}`;
  // a temporary the daemon made has one name; another is a hard link to some other file
  if (st.nlink !== 1) return `it has ${st.nlink} hard links, a temporary of the daemon's has one`;
  return undefined;
}

/**
 * The look-alike at `path` (in `dir`) said with its fix. `failed`: the daemon's own temporary it could
 * not remove (the reason holds the error). A hard link's owner is its file's, not who linked it: its fix
 * shows the file's other names rather than sending the reader after the file's owner (the daemon's
 * user, where an agent linked the readable log, say).
 */
function leftAt(root: string, path: string, dir: string, st: Stats, reason: string, failed = false): TempLeft {
  const found = kindOf(st);
  const rm = `\`rm ${shellArg(path)}\``;
  const agentsOwn = "Agents name their own temporaries .<name>.tmp, never with the daemon's 24 hex.";
  let fix: string;
  if (failed) fix = `Remove it as root (${rm}); \`ls -ld ${shellArg(dir)}\` and \`lsattr ${shellArg(path)}\` show what kept uid ${st.uid} from it (the folder's mode, a read-only mount, an immutable flag).`;
  else if (st.isFile() && st.nlink !== 1) fix = `A hard link's owner is its file's, not who linked it: \`find ${shellArg(root)} -xdev -samefile ${shellArg(path)}\` shows the file's other names. Find what links files into ${shellArg(dir)}, and remove this name as uid ${st.uid} or root (${rm}); the other names keep the file. ${agentsOwn}`;
  else fix = `${findWhoMakes(st.uid, found, dir)}; remove it as uid ${st.uid} or root (${rm}). ${agentsOwn}`;
  return {
    file: relative(root, path),
    found,
    uid: st.uid,
    reason: `${found} of uid ${st.uid} at ${relative(root, path)} is named like the daemon's temporaries (.<name>.<24 hex>.tmp) but ${failed ? "could not be removed" : "is not one"}: ${reason}; left in place${failed ? "" : ", unopened"}`,
    fix,
  };
}

/**
 * The real folders (no link) directly in `dir`, absolute; none when `dir` is not a real folder. Their
 * kind is the folder entry's own (readdir's d_type, as lstat would say: a link is a link), so listing
 * 10,000 epics costs one readdir, not an lstat each.
 */
function subfolders(dir: string): string[] {
  if (!isRealDir(dir)) return [];
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}

/** When this process started (epoch ms): a temporary of this user's made since is a write in flight, never litter. */
export const startedAtMs = (): number => Math.floor(performance.timeOrigin);

/** The logger calls reportTempSweep makes (the daemon's and the bridge's pino loggers). */
interface SweepLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What `find` lists as the daemon's temporaries' names (isDaemonTempName's form), for a fix to run. */
const FIND_TEMPS = "-regextype posix-extended -regex '.*/\\.([^/]+\\.)?[0-9a-f]{24}\\.tmp'";

/**
 * Logs a sweep: one info line naming the first temporaries removed with their count (none when there
 * were none), a warning per look-alike named (its file, what it is, its owner, why and the fix), and one
 * warning counting the rest by folder and owner, with the command that lists them.
 */
export function reportTempSweep(s: TempSweep, log: SweepLog): void {
  const n = s.removedCount;
  if (n) log.info({ removed: s.removed, count: n, ...(n > s.removed.length ? { unnamed: n - s.removed.length } : {}) }, `removed ${n} temporar${n === 1 ? "y" : "ies"} a killed writer left (its write is re-run from the log where it was not done)${n > s.removed.length ? `; the first ${s.removed.length} are named` : ""}`);
  for (const l of s.left) log.warn({ file: l.file, found: l.found, owner_uid: l.uid, fix: l.fix }, l.reason);
  if (!s.leftUnnamed.length) return;
  const more = s.leftUnnamed.reduce((a, g) => a + g.count, 0);
  const shown = s.leftUnnamed.slice(0, SWEEP_NAMED);
  const where = shown.map((g) => `${g.count} of uid ${g.uid} in ${g.folder}`).join(", ");
  const lists = shown.map((g) => `\`find ${shellArg(g.path)} -maxdepth 1 -uid ${g.uid} ${FIND_TEMPS} -ls\``).join(", ");
  const rest = s.leftUnnamed.length > shown.length ? ` (and ${s.leftUnnamed.length - shown.length} more folders or owners)` : "";
  log.warn(
    { more, by_folder: shown.map((g) => ({ folder: g.folder, owner_uid: g.uid, count: g.count })), fix: `Find what runs as ${[...new Set(shown.map((g) => g.uid))].map((u) => `uid ${u} (\`getent passwd ${u}\`)`).join(", ")} and makes these; list them with ${lists}, and remove them as their owner or root. Agents name their own temporaries .<name>.tmp, never with the daemon's 24 hex.` },
    `${more} more entries named like the daemon's temporaries (.<name>.<24 hex>.tmp) are not its own and are left in place, unopened: ${where}${rest}. Only the first ${s.left.length} get a warning each, so no agent can fill the log with them`,
  );
}
