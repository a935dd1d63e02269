/**
 * The OS user behind a uid (the owner of a file a person's command wrote), through NSS (`getent`, so
 * LDAP and sssd users work), cached; `uid:N` when the uid has no passwd entry.
 * A shell file in the trust room (eslint.config.js SHELL_IN_PURE): it asks the OS user database.
 */
import { execFileSync } from "node:child_process";
import { userInfo } from "node:os";

const names = new Map<number, string>();

/** getent's entry (`name:x:uid:gid:gecos:home:shell` for passwd, `name:x:gid:members` for group); undefined when there is none. */
export function getent(db: "passwd" | "group", key: string): string[] | undefined {
  try {
    const line = execFileSync("getent", [db, key], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).split("\n")[0];
    return line ? line.split(":") : undefined;
  } catch {
    return undefined;
  }
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
