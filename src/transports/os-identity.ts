/**
 * The OS user behind a uid (the owner of a file a person's command wrote), through NSS (`getent`, so
 * LDAP and sssd users work), cached; `uid:N` when the uid has no passwd entry.
 */
import { execFileSync } from "node:child_process";
import { userInfo } from "node:os";

const names = new Map<number, string>();

export function userNameOf(uid: number): string {
  const hit = names.get(uid);
  if (hit) return hit;
  let name: string | undefined;
  try {
    if (uid === process.getuid?.()) name = userInfo().username;
  } catch {
    /* no passwd entry for ourselves */
  }
  if (!name) {
    try {
      name = execFileSync("getent", ["passwd", String(uid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).split(":")[0] || undefined;
    } catch {
      /* none */
    }
  }
  const out = name && /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/.test(name) ? name : `uid:${uid}`;
  names.set(uid, out);
  return out;
}

/** The uid of an OS user (a name, or a numeric uid), through NSS; undefined when there is none. */
export function uidOfUser(user: string): { uid: number; name: string } | undefined {
  try {
    const p = execFileSync("getent", ["passwd", user], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).split(":");
    if (p.length >= 3 && /^[0-9]+$/.test(p[2]!)) return { uid: Number(p[2]), name: p[0]! };
  } catch {
    /* none */
  }
  return /^[0-9]+$/.test(user) ? { uid: Number(user), name: user } : undefined;
}
