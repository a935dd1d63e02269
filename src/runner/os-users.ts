/**
 * OS users and groups for `agents.<name>.user` / `group` and `security.agents_group`: names (or
 * numeric ids) resolved through NSS with `getent` (so LDAP and sssd users work), and whether this
 * daemon may switch to them at all (root, or CAP_SETUID / CAP_SETGID in /proc/self/status).
 */
import { getent } from "../trust/os-identity.js";
import { readFileSync } from "node:fs";
import { issue, type Issue } from "../errors/issue.js";

export interface Account {
  uid: number;
  gid: number;
  /** The user's name and home, for USER, LOGNAME and HOME (absent for a bare numeric uid with no passwd entry). */
  name?: string;
  home?: string;
}

const numeric = (s: string): number | undefined => (/^[0-9]+$/.test(s) ? Number(s) : undefined);

/** `security.agents_group` or `agents.<name>.group` → a gid; an Issue when there is no such group. */
export function resolveGroup(group: string, where: string): number | Issue {
  const g = getent("group", group);
  const gid = g ? Number(g[2]) : numeric(group);
  if (gid !== undefined && Number.isInteger(gid)) return gid;
  return issue("AGENT_USER_INVALID", { path: where, message: `there is no group "${group}" on this machine`, found: group, expected: "a group name or a numeric gid", fix: `Create it (\`groupadd ${group}\`) or correct ${where.replace(/^\//, "").replace(/\//g, ".")}.` });
}

/**
 * The account an agent runs as: its user (uid, primary gid, home) and the group it is given (the
 * agent's group, else the agents' group, else the user's primary group). With neither a user nor a
 * group: undefined (the daemon's own). An Issue says what cannot be resolved.
 */
export function resolveAccount(agent: string, user: string | undefined, group: string | undefined): Account | undefined | Issue {
  if (user === undefined && group === undefined) return undefined;
  let acct: Account = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  if (user !== undefined) {
    const p = getent("passwd", user);
    if (p) acct = { uid: Number(p[2]), gid: Number(p[3]), name: p[0]!, home: p[5]! };
    else if (numeric(user) !== undefined) acct = { uid: numeric(user)!, gid: numeric(user)! };
    else return issue("AGENT_USER_INVALID", { path: `/agents/${agent}/user`, message: `there is no user "${user}" on this machine`, found: user, expected: "a user name or a numeric uid", fix: `Create it (\`useradd --system --no-create-home ${user}\`) or correct agents.${agent}.user.` });
  }
  if (group !== undefined) {
    const gid = resolveGroup(group, `/agents/${agent}/group`);
    if (typeof gid !== "number") return gid;
    acct = { ...acct, gid };
  }
  return acct;
}

/** Effective capabilities of this process (bit n = capability n), 0n where /proc does not say. */
function capabilities(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}
const CAP_SETGID = 6n;
const CAP_SETUID = 7n;

/** Why this daemon cannot start a process as `acct` (undefined: it can). Switching to its own uid and gid needs nothing. */
export function cannotSwitchTo(agent: string, acct: Account): Issue | undefined {
  const uid = process.geteuid?.();
  const gid = process.getegid?.();
  if (uid === undefined || gid === undefined) return issue("AGENT_USER_INVALID", { path: `/agents/${agent}`, message: "this platform cannot start processes as another user", fix: `Remove agents.${agent}.user and group (or run the daemon on Linux).` });
  const caps = capabilities();
  const missing: string[] = [];
  if (acct.uid !== uid && uid !== 0 && !(caps & (1n << CAP_SETUID))) missing.push("CAP_SETUID");
  // node's spawn also drops supplementary groups (setgroups), which needs CAP_SETGID whenever it switches
  if ((acct.gid !== gid || acct.uid !== uid) && uid !== 0 && !(caps & (1n << CAP_SETGID))) missing.push("CAP_SETGID");
  if (!missing.length) return undefined;
  return issue("AGENT_USER_INVALID", {
    path: `/agents/${agent}`,
    message: `agents.${agent} runs as uid ${acct.uid}, gid ${acct.gid}, but the daemon (uid ${uid}) may not switch to them: it lacks ${missing.join(" and ")}`,
    found: `uid ${uid} without ${missing.join(", ")}`,
    expected: "root, or CAP_SETUID and CAP_SETGID",
    fix: `Run the daemon as root, or give it the capabilities (systemd: AmbientCapabilities=CAP_SETUID CAP_SETGID), or remove agents.${agent}.user and group to run the agent as the daemon's user.`,
  });
}
