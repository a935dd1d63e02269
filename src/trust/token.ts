/**
 * Launch tokens and the signatures made with them. Pure: keys, time and nonces come in as arguments.
 *
 * A launch token is the daemon's MAC (purpose "token", mac.ts) over a scope — role, epic, iteration,
 * expiry, launch id — so nothing is stored per launch: whoever holds the daemon key recomputes it from
 * the scope. Text form: `ct1.<base64url(scope JSON)>.<key id>.<hex MAC>`; the hex MAC is the secret.
 *
 * An agent never hands its token over. It signs what it places: HMAC-SHA-256 under the token's secret
 * of `consensus-placement/v1`, the file's path, its SHA-256 and a fresh nonce; the claim beside the file
 * (placement.ts) carries the scope, the key id, the nonce and that signature. The daemon recomputes the
 * token from the scope with the named key (refused once that key is retired), then the signature.
 * A leaked signature signs one file's content at one path, once (the nonce is recorded).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { DaemonKey } from "./mac.js";
import { macWith } from "./mac.js";
import { EPIC_ID, ROLE } from "../config/names.js";

export interface TokenScope {
  v: 1;
  role: string;
  epic_id: string;
  iteration: number;
  /** ISO-8601: the token signs nothing after this instant. */
  expires_at: string;
  /** The launch it was issued to. */
  launch: string;
}

/** What a signed placement carries beside the file (never the token). */
export interface PlacementSignature {
  /** base64url of the scope's JSON, exactly as MAC'ed. */
  scope: string;
  key: string;
  nonce: string;
  sig: string;
}

const PREFIX = "ct1";
const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const KEY_ID = /^[a-z0-9]{1,16}$/;

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64url");

/** The token for a scope, made with `key` (the keyring's current key). */
export function issueToken(key: DaemonKey, scope: TokenScope): string {
  const text = JSON.stringify(scope);
  return `${PREFIX}.${b64(text)}.${macWith(key, "token", text)}`;
}

export interface ParsedToken {
  scope: TokenScope;
  scopeB64: string;
  key: string;
  secret: string;
}

/** A token's parts, without checking its MAC (an agent reads its own scope); undefined if it is not one (readToken says why). */
export function parseToken(token: string): ParsedToken | undefined {
  const r = readToken(token);
  return r.ok ? r.token : undefined;
}

/**
 * parseToken with the reason a token is refused: not of the form `ct1.<scope>.<key id>.<hex MAC>`, or a
 * scope that is not {v: 1, role, epic_id, iteration, expires_at, launch} with role and epic_id of the
 * schemas' patterns (they become folder names and path parts) and iteration ≥ 1.
 */
export function readToken(token: string): { ok: true; token: ParsedToken } | { ok: false; reason: string } {
  const parts = token.trim().split(".");
  if (parts.length !== 4 || parts[0] !== PREFIX || !KEY_ID.test(parts[2]!) || !HEX64.test(parts[3]!)) return { ok: false, reason: "it is not of the form ct1.<scope>.<key id>.<64 hex digits>" };
  const scope = readScope(parts[1]!);
  return scope.ok ? { ok: true, token: { scope: scope.scope, scopeB64: parts[1]!, key: parts[2]!, secret: parts[3]! } } : scope;
}

/** A token's scope from its base64url text, checked field by field (see readToken); the reason names the field and what it holds. */
export function readScope(b: string): { ok: true; scope: TokenScope } | { ok: false; reason: string } {
  const bad = (reason: string) => ({ ok: false as const, reason: `the token scope is malformed: ${reason}` });
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(b)) return bad("not base64url of at most 2048 characters");
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(b, "base64url").toString("utf8"));
  } catch {
    return bad("not JSON");
  }
  const s = v as Partial<TokenScope> | null;
  if (!s || typeof s !== "object" || s.v !== 1) return bad("not a version 1 scope object");
  if (typeof s.role !== "string" || !ROLE.test(s.role)) return bad(`role ${shown(s.role)} does not match ${ROLE.source}`);
  if (typeof s.epic_id !== "string" || !EPIC_ID.test(s.epic_id)) return bad(`epic_id ${shown(s.epic_id)} does not match ${EPIC_ID.source}`);
  if (!Number.isInteger(s.iteration) || s.iteration! < 1) return bad(`iteration ${shown(s.iteration)} is not an integer ≥ 1`);
  if (typeof s.expires_at !== "string" || Number.isNaN(Date.parse(s.expires_at))) return bad(`expires_at ${shown(s.expires_at)} is not a date-time`);
  if (typeof s.launch !== "string") return bad("launch is not a string");
  return { ok: true, scope: { v: 1, role: s.role, epic_id: s.epic_id, iteration: s.iteration!, expires_at: s.expires_at, launch: s.launch } };
}

/** A scope field for a message: JSON, cut at 80 characters (it is the sender's text). */
const shown = (x: unknown): string => {
  const j = JSON.stringify(x) ?? String(x);
  return j.length > 80 ? `${j.slice(0, 80)}…` : j;
};

const signed = (file: string, sha256: string, nonce: string): string => `consensus-placement/v1\n${file}\n${sha256}\n${nonce}`;

/** Signs a placement of `file` (root-relative) with content `sha256`; `nonce` is fresh randomness from the caller. */
export function signPlacement(token: string, file: string, sha256: string, nonce: string): PlacementSignature | undefined {
  const t = parseToken(token);
  if (!t || !NONCE.test(nonce)) return undefined;
  const sig = createHmac("sha256", Buffer.from(t.secret, "hex")).update(signed(file, sha256, nonce)).digest("hex");
  return { scope: t.scopeB64, key: t.key, nonce, sig };
}

export type SignatureCheck = { ok: true; scope: TokenScope; key: string; nonce: string } | { ok: false; reason: string };

/**
 * Checks a placement's signature with the keyring's keys at instant `now` (ms): the key must be held and
 * not retired, the token recomputed from the scope, the signature over this file and content. The
 * scope (role, epic, iteration, expiry) is for decide() to hold against the input.
 */
export function checkPlacement(keys: readonly DaemonKey[], p: unknown, file: string, sha256: string, now: number): SignatureCheck {
  const s = p as Partial<PlacementSignature> | null;
  if (!s || typeof s !== "object" || typeof s.scope !== "string" || typeof s.key !== "string" || typeof s.nonce !== "string" || typeof s.sig !== "string") return { ok: false, reason: "the signature is not {scope, key, nonce, sig}" };
  if (!NONCE.test(s.nonce) || !HEX64.test(s.sig)) return { ok: false, reason: "the nonce or signature is malformed" };
  const read = readScope(s.scope);
  if (!read.ok) return read;
  const scope = read.scope;
  const key = keys.find((k) => k.id === s.key);
  if (!key) return { ok: false, reason: `the token was made with key ${s.key}, which the daemon's keyring does not hold (rotated out?)` };
  if (key.retire_at !== undefined && Date.parse(key.retire_at) <= now) return { ok: false, reason: `the token was made with key ${key.id}, retired at ${key.retire_at}` };
  const secret = macWith(key, "token", Buffer.from(s.scope, "base64url").toString("utf8")).slice(key.id.length + 1);
  const want = createHmac("sha256", Buffer.from(secret, "hex")).update(signed(file, sha256, s.nonce)).digest();
  const got = Buffer.from(s.sig, "hex");
  if (!timingSafeEqual(want, got)) return { ok: false, reason: "the signature does not match this file and content (made with another token, or the file was changed)" };
  return { ok: true, scope, key: key.id, nonce: s.nonce };
}
