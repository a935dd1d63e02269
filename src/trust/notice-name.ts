/**
 * The fallback name of a notice whose regular name an agent keeps taking. A notice's regular name is
 * predictable (`notice-<seq>-<EPIC>-<subject>.yaml`, its seq the log's next), and inboxes are folders
 * agents write: an agent that makes a folder there again each time it is renamed aside wins the
 * window before the daemon's rename every time, and the notice (with every checkpoint) would wait for
 * it. The fallback name adds a keyed part no agent can know first:
 * `notice-<seq>-<EPIC>-<subject>.<16 hex>.yaml`, the hex the first 64 bits of HMAC-SHA-256 under the
 * daemon key's "notice_name" sub-key of `<role>\0<regular name>`. The same key gives the same name, so
 * a notice re-run by recovery finds the copy it wrote and never writes a second. Agents hold only
 * their role's notice keys (notice-mac.ts: another sub-key), from which this one cannot be derived.
 * Pure.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { isKeyedNoticeName, noticeBaseName } from "../config/names.js";
import { subKey, type DaemonKey } from "./mac.js";

/** The keyed fallback name of the notice `name` (a regular name) for `role`, under `key`. */
export function keyedNoticeName(key: DaemonKey, role: string, name: string): string {
  const hex = createHmac("sha256", subKey(key.secret, "notice_name")).update(`${role}\0${name}`).digest("hex").slice(0, 16);
  return `${name.slice(0, -".yaml".length)}.${hex}.yaml`;
}

/**
 * Whether the keyed name `name` (in `role`'s inbox) is one the daemon derives under one of `keys`
 * (any key of the ring, retired or not: the name was made when the notice was written). False for a
 * regular name and for a keyed-looking name an agent made up.
 */
export function keyedNoticeNameOk(keys: readonly DaemonKey[], role: string, name: string): boolean {
  if (!isKeyedNoticeName(name)) return false;
  const base = noticeBaseName(name);
  const got = Buffer.from(name);
  return keys.some((k) => {
    const want = Buffer.from(keyedNoticeName(k, role, base));
    return want.length === got.length && timingSafeEqual(want, got);
  });
}
