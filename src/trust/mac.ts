/**
 * Keyed MACs from the daemon key. Pure: the secret comes in as bytes.
 *
 * One daemon secret (32 random bytes, see key-file.ts) is never used directly: each use gets its own
 * sub-key, HKDF-SHA-256(secret, info = "consensus/" + purpose), so a MAC made for one purpose (a log
 * line) is never valid for another (a notice, a launch token). A tag is `<key id>.<hex HMAC-SHA-256>`:
 * the key id says which key of the keyring made it, so a rotated key keeps verifying until retired.
 */
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";

/** What a MAC is for; each purpose has its own derived key. */
export type MacPurpose = "log" | "checkpoint" | "request" | "notice" | "notice_name" | "token" | "config";

/** One key of the keyring. `secret` is 32 bytes; never logged (see Keyring.toJSON). */
export interface DaemonKey {
  /** Short id, [a-z0-9]{1,16}: written beside every tag. */
  id: string;
  secret: Uint8Array;
  /** ISO-8601: when the key was made. */
  created_at: string;
  /** ISO-8601: after this instant tags made with the key no longer verify (set when rotated out). */
  retire_at?: string;
}

const KEY_ID = /^[a-z0-9]{1,16}$/;
const TAG = /^([a-z0-9]{1,16})\.([0-9a-f]{64})$/;

/** Sub-keys derived so far, per secret (by identity: a keyring keeps its secrets for its life). */
const derived = new WeakMap<Uint8Array, Map<MacPurpose, Buffer>>();

/**
 * The sub-key for a purpose: HKDF-SHA-256 with no salt and info "consensus/<purpose>", 32 bytes.
 * Derived once per secret and purpose (HKDF was ~60 µs of every sealed log line, issue 17.2); the
 * cache holds the secret's object, so a secret whose bytes were changed in place must not be reused.
 */
export function subKey(secret: Uint8Array, purpose: MacPurpose): Buffer {
  let bySecret = derived.get(secret);
  if (!bySecret) derived.set(secret, (bySecret = new Map()));
  let k = bySecret.get(purpose);
  if (!k) bySecret.set(purpose, (k = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), `consensus/${purpose}`, 32))));
  return k;
}

/** HMAC-SHA-256 of data (text, bytes, or bytes in parts taken in order) under the purpose's sub-key of key, as the tag `<id>.<hex>`. */
export function macWith(key: DaemonKey, purpose: MacPurpose, data: string | Uint8Array | readonly Uint8Array[]): string {
  if (!KEY_ID.test(key.id)) throw new Error(`key id ${JSON.stringify(key.id)} is not [a-z0-9]{1,16}`);
  const h = createHmac("sha256", subKey(key.secret, purpose));
  if (Array.isArray(data)) for (const part of data as readonly Uint8Array[]) h.update(part);
  else h.update(data as string | Uint8Array);
  return `${key.id}.${h.digest("hex")}`;
}

export type TagCheck = { ok: true; keyId: string } | { ok: false; reason: string };

/**
 * Checks a tag against the keyring at instant `now` (ms since the epoch): the key it names must be in
 * the ring and not retired, and the HMAC must match (constant-time compare). Never throws on bad input.
 */
export function checkTag(keys: readonly DaemonKey[], purpose: MacPurpose, data: string | Uint8Array, tag: unknown, now: number): TagCheck {
  if (typeof tag !== "string") return { ok: false, reason: "no MAC" };
  const m = TAG.exec(tag);
  if (!m) return { ok: false, reason: "the MAC is not <key id>.<64 hex digits>" };
  const key = keys.find((k) => k.id === m[1]);
  if (!key) return { ok: false, reason: `made with key ${m[1]}, which this keyring does not hold` };
  if (key.retire_at !== undefined && Date.parse(key.retire_at) <= now) return { ok: false, reason: `made with key ${key.id}, retired at ${key.retire_at}` };
  const want = Buffer.from(macWith(key, purpose, data).slice(key.id.length + 1), "hex");
  const got = Buffer.from(m[2]!, "hex");
  return timingSafeEqual(want, got) ? { ok: true, keyId: key.id } : { ok: false, reason: "the MAC does not match: the bytes were changed, or made without the daemon key" };
}
