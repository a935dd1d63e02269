/**
 * The OS user behind a uid (the owner of a file a person's command wrote), through NSS (`getent`, so
 * LDAP and sssd users work), cached; `uid:N` when the uid has no passwd entry.
 * A shell file in the trust room (eslint.config.js SHELL_IN_PURE): it asks the OS user database.
 */
import { execFileSync } from "node:child_process";
import { userInfo } from "node:os";

const names = new Map<number, string>();

/**
 * How long (ms) an entry getent found is used again without asking NSS: every agent launch resolves
 * its user and group, and each getent is a process the daemon's loop waits for (2–6 ms here, three
 * per launch). An entry not found is never kept: the fix the error gives is to create it.
 */
export const GETENT_REUSE_MS = 60_000;
const found = new Map<string, { at: number; entry: string[] }>();

/**
 * getent's entry (`name:x:uid:gid:gecos:home:shell` for passwd, `name:x:gid:members` for group);
 * undefined when there is none. `now`: ms since the epoch (entries found are reused for GETENT_REUSE_MS).
 */
export function getent(db: "passwd" | "group", key: string, now = Date.now()): string[] | undefined {
  const k = `${db}\n${key}`;
  const hit = found.get(k);
  if (hit && now - hit.at >= 0 && now - hit.at < GETENT_REUSE_MS) return hit.entry;
  let entry: string[] | undefined;
  try {
    const line = execFileSync("getent", [db, key], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).split("\n")[0];
    entry = line ? line.split(":") : undefined;
  } catch {
    entry = undefined;
  }
  if (entry) found.set(k, { at: now, entry });
  else found.delete(k);
  return entry;
}

export function userNameOf(uid: number): string {
  const hit = names.get(uid);
  if (hit) return hit;
  let name: string | undefined;
  try {
    if (uid === process.getuid?.()) name = userInfo().username;
  } catch {
    /* no passwd entry for ourselves */
  }
  if (!name) name = getent("passwd", String(uid))?.[0] || undefined;
  const out = name && /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/.test(name) ? name : `uid:${uid}`;
  names.set(uid, out);
  return out;
}

/**
 * The OS user running this process, named exactly as userNameOf names the owner of a file it writes
 * (so a person's command and the request file it leaves agree: REQUEST_NOT_YOURS compares the two).
 */
export function currentUser(): string {
  const uid = process.getuid?.();
  if (uid !== undefined) return userNameOf(uid);
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/** The uid of an OS user (a name, or a numeric uid), through NSS; undefined when there is none. */
export function uidOfUser(user: string): { uid: number; name: string } | undefined {
  const p = getent("passwd", user);
  if (p && p.length >= 3 && /^[0-9]+$/.test(p[2]!)) return { uid: Number(p[2]), name: p[0]! };
  return /^[0-9]+$/.test(user) ? { uid: Number(user), name: user } : undefined;
}
