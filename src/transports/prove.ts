/**
 * What the shell can prove about who wrote a file, strongest first (PROTOCOL "Proofs and permissions"):
 *
 * 1. the file's owner (the uid of the opened file) is the OS user `agents.<role>.user` runs as: that
 *    role wrote it (a user other than the daemon's; the OS keeps users apart);
 * 2. its claim carries a launch token's signature that verifies with the daemon key: the token's role,
 *    within its scope (decide() holds the scope against the epic and the time);
 * 3. its claim carries a person's MAC made with the daemon key: a person's command, recorded with the
 *    OS user who owns the file;
 * 4. nothing: unverified.
 * A signature or MAC that does not verify proves the file is not what it says: refused.
 *
 * The keyring is read from the private area (re-read when the key file changes); OS users are
 * resolved once per config version.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import type { Pipeline } from "../config/pipeline.js";
import type { Proof } from "../machine/authority.js";
import { keyFileOf, readKeyring } from "../trust/key-file.js";
import type { Keyring } from "../trust/keyring.js";
import { checkPlacement } from "../trust/token.js";
import { personSigned, type Claim } from "./placement.js";
import { uidOfUser, userNameOf } from "./os-identity.js";

export interface TrustContext {
  keyring?: Keyring;
  /** uid → the role whose agent runs as that OS user (never the daemon's own uid). */
  roleOfUid: ReadonlyMap<number, { role: string; user: string }>;
}

const keyrings = new Map<string, { mtimeMs: number; keyring: Keyring }>();
const users = new Map<string, ReadonlyMap<number, { role: string; user: string }>>();

/** The daemon keyring of a root, if this process can read it (re-read when the key file changes). */
export async function keyringOf(root: string): Promise<Keyring | undefined> {
  const dot = join(root, ".consensus");
  // asked per drop (the proof of each file): a stat on this thread, not a pool round trip (issue 17.2)
  let mtimeMs: number;
  try {
    const st = statSync(keyFileOf(dot), { throwIfNoEntry: false });
    if (!st) return undefined;
    mtimeMs = st.mtimeMs;
  } catch {
    return undefined;
  }
  const hit = keyrings.get(root);
  if (hit && hit.mtimeMs === mtimeMs) return hit.keyring;
  try {
    const keyring = await readKeyring(dot);
    keyrings.set(root, { mtimeMs, keyring });
    return keyring;
  } catch {
    return undefined;
  }
}

/** Which OS users run which roles (agents.<role>.user), resolved once per config version. */
export function agentUsersOf(pipeline: Pipeline): ReadonlyMap<number, { role: string; user: string }> {
  const hit = users.get(pipeline.version);
  if (hit) return hit;
  const me = process.getuid?.();
  const out = new Map<number, { role: string; user: string }>();
  for (const [name, spec] of pipeline.agents) {
    if (spec.user === undefined || !pipeline.isRole(name)) continue;
    const acct = uidOfUser(spec.user);
    if (!acct || acct.uid === me) continue;
    out.set(acct.uid, { role: name, user: acct.name });
  }
  users.set(pipeline.version, out);
  return out;
}

export async function trustOf(root: string, pipeline: Pipeline): Promise<TrustContext> {
  const keyring = await keyringOf(root);
  return { ...(keyring ? { keyring } : {}), roleOfUid: agentUsersOf(pipeline) };
}

/** The proof for a file read from the bus: `uid` its owner, `claim` what was placed beside it (if any). */
export function proveFile(t: TrustContext, rel: string, sha256: string, uid: number | undefined, claim: Claim | undefined, now: number): Proof {
  const owner = uid !== undefined ? t.roleOfUid.get(uid) : undefined;
  if (owner) return { by: "user", role: owner.role, user: owner.user, uid: uid! };
  if (claim?.signature) {
    if (!t.keyring) return { by: "invalid", reason: "the daemon key cannot be read to check the signature" };
    const c = checkPlacement(t.keyring.keysForFile(), claim.signature, rel, sha256, now);
    if (!c.ok) return { by: "invalid", reason: c.reason };
    if (c.scope.role !== claim.role) return { by: "invalid", reason: `the claim says role ${claim.role}, the token is ${c.scope.role}'s` };
    return { by: "token", role: c.scope.role, epic_id: c.scope.epic_id, iteration: c.scope.iteration, expires_at: c.scope.expires_at, nonce: c.nonce, key: c.key, launch: c.scope.launch };
  }
  if (claim?.person) {
    if (!t.keyring) return { by: "none" };
    const { person, signature: _s, ...rest } = claim;
    const c = t.keyring.check("request", personSigned(rest, person.as), person.mac);
    if (!c.ok) return { by: "invalid", reason: `a person's command whose MAC does not verify: ${c.reason}` };
    return { by: "person", user: uid !== undefined ? userNameOf(uid) : "unknown", ...(person.as ? { as: person.as } : {}) };
  }
  return { by: "none" };
}
