/**
 * The drop zones given to the agents' group (`security.agents_group`), whatever the umask: the only
 * folders agents running as their own users can write. `consensus init` and the daemon (at start and
 * before each launch, so folders made since — a new role's inbox, an epic's artifacts folder — are
 * covered) call applyDropZones; nothing happens without an agents' group.
 *
 * | path | owner:group | mode |
 * |---|---|---|
 * | artifacts/, artifacts/<EPIC>/, messages/inbox/<role>/ | daemon:agents | 3775 (setgid: what is made inside stays the group's; sticky: only a file's owner may rename or remove it) |
 * | `.placed/` in each of those (the claims beside placed files: transports/placement.ts) | daemon:agents | 3775 (made before an agent can make it its own: a folder's owner may empty it) |
 * | current/decision_log.jsonl (the readable log agents append to) | daemon:agents | 0664 |
 * | the root, messages/, messages/inbox/, current/, logs/, logs/agents/ | daemon | group and others may not write |
 *
 * Agents start with umask 027 (runner.ts), so what they make there is 0640: the group reads it, only
 * its owner writes it. The sticky bit and the umask keep a file's owner the one who wrote its bytes,
 * which is what the owner proof (transports/prove.ts) counts on; a file the group can still write
 * proves nothing. The sticky bit does not bind a folder's owner, so a zone an agent made (it may mkdir
 * artifacts/<EPIC>/ before the daemon does) is given to the daemon's user (chown; reported when that fails). A zone left at 2775 by an older version is set to 3775 like any other wrong mode.
 *
 * The private area (.consensus/) is the store's to lock down (it is never the agents' group's).
 */
import { chmodSync, closeSync, constants as fsc, existsSync, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync } from "node:fs";
import { CLAIM_FOLDER } from "../transports/place-names.js";
import { basename, dirname, join } from "node:path";
import type { Pipeline } from "../config/pipeline.js";
import type { Issue } from "../errors/issue.js";
import type { Logger } from "../daemon/logger.js";
import { asideNameOf, daemonOrRoot, movable } from "../store/fs/entry-aside.js";
import { kindOf } from "../store/fs/guarded-read.js";
import { userNameOf } from "../trust/os-identity.js";
import type { Layout } from "../store/fs/layout.js";
import { resolveGroup } from "./os-users.js";
import { shellArg } from "../errors/issue.js";

/** setgid + sticky + rwxrwxr-x: the group writes new files in it; only a file's owner renames or removes it. */
export const DROP_ZONE_MODE = 0o3775;
/** The umask agents are launched with when they run as their own OS user: their files 0640, folders 0750. */
export const AGENT_UMASK = 0o027;
export const SHARED_LOG_MODE = 0o664;

/** What applyDropZones changed or could not change (for the log; an error never stops the daemon). */
export interface DropZoneReport {
  changed: string[];
  failed: Array<{ path: string; error: string }>;
  /** Another user's entries that stood where a zone's claims folder goes (giveClaimFolder): moved to `to`, in the same zone. */
  setAside: Array<{ path: string; found: string; uid: number; to: string }>;
}

/**
 * applyDropZones for the rules in force: nothing without security.agents_group; an Issue when that
 * group does not exist. `epics` adds those epics' artifacts folders (made if missing).
 */
export function giveDropZones(L: Layout, p: Pick<Pipeline, "roles" | "security">, epics: readonly string[] = []): DropZoneReport | Issue | undefined {
  const group = p.security.agentsGroup;
  if (group === undefined) return undefined;
  const gid = resolveGroup(group, "/security/agents_group");
  return typeof gid === "number" ? applyDropZones(L, p.roles, gid, epics) : gid;
}

/**
 * Gives the drop zones to `gid` and takes group/other write away from the folders around them. Only
 * folders and files that are really there (never through a symlink) are changed; missing drop-zone
 * folders are made. `epics` adds artifacts/<EPIC>/ for those epics.
 */
export function applyDropZones(L: Layout, roles: readonly string[], gid: number, epics: readonly string[] = []): DropZoneReport {
  const report: DropZoneReport = { changed: [], failed: [], setAside: [] };
  const messages = join(L.root, "messages");
  const logs = join(L.root, "logs");
  const inboxes = roles.map((r) => join(L.inbox, r));
  let epicFolders: string[] = epics.map((e) => join(L.artifacts, e));
  try {
    epicFolders = [...new Set([...epicFolders, ...readdirSync(L.artifacts).filter((n) => !n.startsWith(".")).map((n) => join(L.artifacts, n))])];
  } catch {
    /* made below */
  }
  for (const dir of [L.artifacts, ...inboxes, ...epics.map((e) => join(L.artifacts, e))]) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      report.failed.push({ path: dir, error: errText(e) });
    }
  }
  for (const dir of [L.artifacts, ...epicFolders, ...inboxes]) set(report, dir, "dir", gid, DROP_ZONE_MODE);
  for (const dir of [L.artifacts, ...epicFolders, ...inboxes]) giveClaimFolder(report, dir, gid);
  set(report, L.log, "file", gid, SHARED_LOG_MODE);
  for (const dir of [L.root, messages, L.inbox, L.current, logs, L.agentLogs]) noForeignWrites(report, dir);
  return report;
}

/**
 * The claims' folder of a zone (`<zone>/.placed`, transports/placement.ts), made here, the daemon's and
 * 3775 like the zone, before an agent can make it its own: a folder's owner may empty it whatever its
 * mode, so every claim placed there would be at that agent's mercy, and a placer refuses such a folder
 * (NAME_TAKEN). One an agent made first is given to the daemon's user like a zone (set); another user's
 * FIFO, link or file there is set aside in the zone first (setAsideNonFolder). Made and opened
 * through the zone as opened (O_NOFOLLOW), by /proc/self/fd where there is one: a zone swapped for a
 * link meanwhile never puts the folder, or the chown, anywhere else.
 */
function giveClaimFolder(report: DropZoneReport, zone: string, gid: number): void {
  const shown = join(zone, CLAIM_FOLDER);
  let zfd: number;
  try {
    zfd = openSync(zone, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_DIRECTORY);
  } catch {
    return; // a link, not a folder, gone: set() said so for the zone
  }
  try {
    const via = join(existsSync(`/proc/self/fd/${zfd}`) ? `/proc/self/fd/${zfd}` : zone, CLAIM_FOLDER);
    try {
      mkdirSync(via, { mode: DROP_ZONE_MODE });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") return void report.failed.push({ path: shown, error: errText(e) });
      // an agent's FIFO, link or file at the name: every placement into this zone would be refused
      // (NAME_TAKEN) until someone removed it; the zone is the daemon's, so it goes aside, into the zone
      if (setAsideNonFolder(report, via, shown)) {
        try {
          mkdirSync(via, { mode: DROP_ZONE_MODE });
        } catch (e2) {
          // made again meanwhile (a folder: set() gives it; anything else: the next start sets it aside)
          if ((e2 as NodeJS.ErrnoException).code !== "EEXIST") return void report.failed.push({ path: shown, error: errText(e2) });
        }
      }
    }
    set(report, via, "dir", gid, DROP_ZONE_MODE, shown);
  } finally {
    closeSync(zfd);
  }
}

/**
 * Whether a folder's owner may be left as it is: the daemon's user or root. The sticky bit does not
 * bind a folder's owner: an agent that made a zone first (artifacts/<EPIC>/ before the daemon; the
 * zone around it is group-writable) could remove or rename every other agent's file in it, or chmod
 * the folder so they cannot write there at all (their stage then has "no artifact" and escalates).
 */
const ownerTrusted = (uid: number): boolean => daemonOrRoot(uid, process.geteuid?.());

/**
 * Gives `path` to `gid` with `mode`, acting on the opened folder or file, never on its name: an agent
 * may swap a folder it made inside artifacts/ for a symlink between a check and a chown/chmod by name,
 * and the daemon (root) would then give the link's target (any file of the host) to the agents' group
 * with mode 3775. O_NOFOLLOW refuses a link, O_DIRECTORY anything but a folder, O_NONBLOCK a FIFO.
 */
function set(report: DropZoneReport, path: string, kind: "dir" | "file", gid: number, mode: number, shown = path): void {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | (kind === "dir" ? fsc.O_DIRECTORY : 0));
  } catch (e) {
    // a symlink (ELOOP), not a folder (ENOTDIR), gone: never followed, nothing to change
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ELOOP" && code !== "ENOTDIR") report.failed.push({ path: shown, error: errText(e) });
    return;
  }
  try {
    let st = fstatSync(fd);
    if (kind === "file" && !st.isFile()) return;
    let changed = false;
    if (kind === "dir" && !ownerTrusted(st.uid)) {
      const me = process.geteuid?.() ?? 0;
      try {
        fchownSync(fd, me, gid);
        changed = true;
      } catch (e) {
        report.failed.push({ path: shown, error: `owned by uid ${st.uid}, not the daemon's user: the sticky bit does not bind a folder's owner, who may remove or rename the other agents' files in it (${errText(e)}). Fix: \`chown ${me} ${shellArg(shown)}\` as root` });
      }
    }
    if (st.gid !== gid) (fchownSync(fd, -1, gid), (changed = true));
    // chown clears setgid on some systems: the mode goes last, judged on the folder as it is now
    if (changed) st = fstatSync(fd);
    if ((st.mode & 0o7777) !== mode) (fchmodSync(fd, mode), (changed = true));
    if (changed) report.changed.push(shown);
  } catch (e) {
    report.failed.push({ path: shown, error: errText(e) });
  } finally {
    closeSync(fd);
  }
}

/**
 * What stands at a zone's claims folder's name `via` (`shown` in reports) when it is no folder: another
 * user's entry (a FIFO, a link, a file) is renamed aside in the same zone (`.refused-.placed.<tag>-<hex>`,
 * a dot-name no watcher reads) and reported in `setAside`; true when the name is free now (to be made).
 * False for a folder (set() gives it) and for what is left: one of the daemon's or root's, or one that
 * could not be moved (reported in `failed`; set() then changes nothing: it opens only a folder). lstat only: nothing
 * is opened or followed.
 */
function setAsideNonFolder(report: DropZoneReport, via: string, shown: string): boolean {
  let st;
  try {
    st = lstatSync(via);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT";
  }
  if (st.isDirectory()) return false;
  const found = kindOf(st);
  if (!movable(st.uid, process.geteuid?.())) {
    report.failed.push({ path: shown, error: `${found} of uid ${st.uid}, not a folder: placements into this zone are refused until it is removed (\`rm ${shellArg(shown)}\`)` });
    return false;
  }
  const to = asideNameOf(via, "not-a-folder");
  try {
    renameSync(via, to);
  } catch (e) {
    report.failed.push({ path: shown, error: `${found} of uid ${st.uid}, not a folder, could not be set aside (${errText(e)}): placements into this zone are refused until it is removed (\`rm ${shellArg(shown)}\`)` });
    return false;
  }
  report.setAside.push({ path: shown, found, uid: st.uid, to: join(dirname(shown), basename(to)) });
  return true;
}

function noForeignWrites(report: DropZoneReport, dir: string): void {
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory() || (st.mode & 0o022) === 0) return;
    chmodSync(dir, st.mode & 0o7755);
    report.changed.push(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") report.failed.push({ path: dir, error: errText(e) });
  }
}

const errText = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Logs what giveDropZones could not do (it never stops the daemon: the modes are a second line behind validation). */
export function reportDropZones(r: DropZoneReport | Issue | undefined, log: Pick<Logger, "warn" | "error">): void {
  if (!r) return;
  if ("code" in r) return void log.error({ path: r.path }, `${r.message}: the drop zones keep their owners. ${r.fix}`);
  for (const f of r.failed) log.warn({ path: f.path, error: f.error }, "could not give a drop zone to the agents' group");
  for (const a of r.setAside) log.warn({ path: a.path, found: `${a.found} of uid ${a.uid} (${userNameOf(a.uid)})`, moved_to: a.to, fix: `Find what runs as uid ${a.uid} and makes it (\`ps -u ${a.uid}\`); the moved entry may be removed (\`rm ${shellArg(a.to)}\`).` }, "another user's entry stood where a drop zone's claims folder goes: set aside, and the daemon's folder made");
}
