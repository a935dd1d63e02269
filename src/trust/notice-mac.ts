/**
 * The daemon's MAC on the notices it writes, so an agent can tell a genuine notice from one another
 * agent dropped in its inbox. Pure.
 *
 * Each role has its own notice key, HMAC-SHA-256(sub-key "notice" of the daemon key, "role:" + role):
 * the runner gives an agent its role's keys (CONSENSUS_NOTICE_KEY, `<key id>:<hex>` for each key not
 * retired), which verify notices to that role and no other; knowing it, an agent can forge nothing for
 * another role. A notice file is the notice's YAML followed by one last line `mac: "<key id>.<hex>"`,
 * the MAC of every byte before that line.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { subKey, type DaemonKey } from "./mac.js";

const LAST = /\nmac: "([a-z0-9]{1,16})\.([0-9a-f]{64})"\n$/;

/** The notice key of `role` under `key` (hex). */
export function roleNoticeKey(key: DaemonKey, role: string): string {
  return createHmac("sha256", subKey(key.secret, "notice")).update(`role:${role}`).digest("hex");
}

/** Role notice keys as bytes, derived once per daemon key object and role (every notice is sealed with one). */
const sealingKeys = new WeakMap<DaemonKey, Map<string, Buffer>>();

function sealingKey(key: DaemonKey, role: string): Buffer {
  let byRole = sealingKeys.get(key);
  if (!byRole) sealingKeys.set(key, (byRole = new Map()));
  let k = byRole.get(role);
  if (!k) byRole.set(role, (k = Buffer.from(roleNoticeKey(key, role), "hex")));
  return k;
}

/** The notice's text with its MAC line appended (made with `key`, the current one). */
export function sealNotice(key: DaemonKey, role: string, body: string): string {
  const text = body.endsWith("\n") ? body : `${body}\n`;
  const mac = createHmac("sha256", sealingKey(key, role)).update(text).digest("hex");
  return `${text}mac: "${key.id}.${mac}"\n`;
}

/** A role's notice keys (key id → hex) from every daemon key not retired at `now` (ms). */
export function roleNoticeKeys(keys: readonly DaemonKey[], role: string, now: number): Map<string, string> {
  return new Map(keys.filter((k) => k.retire_at === undefined || Date.parse(k.retire_at) > now).map((k) => [k.id, roleNoticeKey(k, role)]));
}

/** CONSENSUS_NOTICE_KEY for a role: `<id>:<hex>` of every key not retired at `now` (ms), comma-separated. */
export function noticeKeysEnv(keys: readonly DaemonKey[], role: string, now: number): string {
  return [...roleNoticeKeys(keys, role, now)].map(([id, hex]) => `${id}:${hex}`).join(",");
}

/** Parses CONSENSUS_NOTICE_KEY (`id:hex,…`); malformed parts are dropped. */
export function parseNoticeKeys(env: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (env ?? "").split(",")) {
    const m = /^([a-z0-9]{1,16}):([0-9a-f]{64})$/.exec(part.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

export type NoticeCheck = { ok: true; body: string } | { ok: false; reason: string };

/** Checks a notice file's text with the role's notice keys (key id → hex). */
export function checkNotice(roleKeys: ReadonlyMap<string, string>, text: string): NoticeCheck {
  const m = LAST.exec(text);
  if (!m) return { ok: false, reason: "no daemon MAC (its last line is not mac: \"<key id>.<hex>\")" };
  const body = text.slice(0, m.index + 1);
  const k = roleKeys.get(m[1]!);
  if (!k) return { ok: false, reason: `MAC made with key ${m[1]}, which is not one of this role's notice keys` };
  const want = createHmac("sha256", Buffer.from(k, "hex")).update(body).digest();
  return timingSafeEqual(want, Buffer.from(m[2]!, "hex")) ? { ok: true, body } : { ok: false, reason: "the MAC does not match: not written by the daemon, or changed since" };
}
