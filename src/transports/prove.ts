/**
 * What the shell can prove about who wrote a file, strongest first (PROTOCOL "Proofs and permissions"):
 *
 * 1. the file's owner (the uid of the opened file) is the OS user `agents.<role>.user` runs as: that
 *    role wrote it (a user other than the daemon's; the OS keeps users apart). Only while the file as
 *    opened is writable by its owner alone (mode & 0o022 === 0): a file its group (the agents' group)
 *    or others may write can have been rewritten by another role's agent and still carry the owner's
 *    uid. Only while that OS user runs one role: a user shared by several roles proves none of them.
 *    Either way the proof falls to the next rung, with a note saying why and the fix (ProofNote);
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
import { joinFast } from "../store/fs/plain-path.js";
import type { Pipeline } from "../config/pipeline.js";
import { sharedUserNote, type Proof, type ProofNote } from "../machine/authority.js";
import { keyFileOf, readKeyring } from "../trust/key-file.js";
import type { Keyring } from "../trust/keyring.js";
import { checkPlacement } from "../trust/token.js";
import { personSigned, type Claim } from "./placement.js";
import { uidOfUser, userNameOf } from "../trust/os-identity.js";

/** The OS users that run roles: uid → its role, for a user that runs exactly one role; `shared`: users that run several. */
export interface AgentUsers {
  /** uid → the one role whose agent runs as that OS user (never the daemon's own uid). */
  roleOfUid: ReadonlyMap<number, { role: string; user: string }>;
  /** uid → the OS user and the roles (two or more, sorted) that all run as it: its files prove none of them. */
  shared: ReadonlyMap<number, { user: string; roles: readonly string[] }>;
}

export interface TrustContext extends AgentUsers {
  keyring?: Keyring;
}

const keyrings = new Map<string, { mtimeMs: number; keyring: Keyring }>();
const users = new Map<string, AgentUsers>();

/** The daemon keyring of a root, if this process can read it (re-read when the key file changes). */
export async function keyringOf(root: string): Promise<Keyring | undefined> {
  const dot = joinFast(root, ".consensus");
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

/**
 * Which OS users run which roles (agents.<role>.user), resolved once per config version. A uid that
 * several roles run as goes to `shared`, never to `roleOfUid`: the OS cannot tell those roles apart,
 * so its files prove none of them (not the last role configured, as before).
 */
export function agentUsersOf(pipeline: Pick<Pipeline, "version" | "agents" | "isRole">): AgentUsers {
  const hit = users.get(pipeline.version);
  if (hit) return hit;
  const me = process.getuid?.();
  const byUid = new Map<number, { user: string; roles: string[] }>();
  for (const [name, spec] of pipeline.agents) {
    if (spec.user === undefined || !pipeline.isRole(name)) continue;
    const acct = uidOfUser(spec.user);
    if (!acct || acct.uid === me) continue;
    const seen = byUid.get(acct.uid);
    if (seen) seen.roles.push(name);
    else byUid.set(acct.uid, { user: acct.name, roles: [name] });
  }
  const roleOfUid = new Map<number, { role: string; user: string }>();
  const shared = new Map<number, { user: string; roles: readonly string[] }>();
  for (const [uid, u] of byUid) {
    if (u.roles.length === 1) roleOfUid.set(uid, { role: u.roles[0]!, user: u.user });
    else shared.set(uid, { user: u.user, roles: [...new Set(u.roles)].sort() });
  }
  const out: AgentUsers = { roleOfUid, shared };
  users.set(pipeline.version, out);
  return out;
}


/**
 * What proves a file's author under `root`: the daemon keyring and the OS users of the roles. `keys`:
 * the keyring a caller already asked keyringOf for (the daemon, once per batch: one stat of the key
 * file a batch instead of one a file, issue 17.2); absent, it is asked here.
 */
export async function trustOf(root: string, pipeline: Pipeline, keys?: BatchKeys): Promise<TrustContext> {
  const keyring = keys ? keys.keyring : await keyringOf(root);
  return { ...(keyring ? { keyring } : {}), ...agentUsersOf(pipeline) };
}

/** The daemon keyring as keyringOf answered it for a batch (undefined: no readable key file then). */
export interface BatchKeys {
  keyring: Keyring | undefined;
}

/** The bits of a mode that let the group or others write (0o022). */
export const FOREIGN_WRITE = 0o022;

/**
 * Why the owner of a file proves nothing about its role (undefined: it proves the role in `roleOfUid`).
 * `mode` is st_mode of the file as opened (undefined: not known, so not proof). Pure.
 */
export function ownerNote(t: AgentUsers, rel: string, uid: number | undefined, mode: number | undefined): ProofNote | undefined {
  if (uid === undefined) return undefined;
  const shared = t.shared.get(uid);
  if (shared) return sharedUserNote(shared, uid);
  const owner = t.roleOfUid.get(uid);
  if (!owner) return undefined;
  const holder = { owner: { role: owner.role, user: owner.user, uid } };
  if (mode === undefined) return { reason: `${rel} is owned by OS user ${owner.user} (role ${owner.role}), but its mode could not be read`, fix: "Drop it again.", ...holder };
  if ((mode & FOREIGN_WRITE) === 0) return undefined;
  const oct = (mode & 0o7777).toString(8).padStart(4, "0");
  return {
    reason: `${rel} is owned by OS user ${owner.user} (role ${owner.role}) but its mode ${oct} lets ${mode & 0o020 ? "its group" : "others"}${mode & 0o020 && mode & 0o002 ? " and others" : ""} write it, so another agent may have written these bytes`,
    fix: `Create the file with umask 027 (0640 from the start: the runner launches agents so), then rename it to ${rel}. A chmod after creating it does not do: another agent that opened the file while its group could write it keeps writing through that handle.`,
    ...holder,
  };
}

/**
 * The proof for a file read from the bus: `uid` its owner and `mode` its st_mode (both of the file as
 * opened), `claim` what was placed beside it (if any). When the owner runs a role but proves nothing
 * (writable by others, or a user several roles share), the next rung decides and the proof carries
 * `note`: why, and the fix.
 */
export function proveFile(t: TrustContext, rel: string, sha256: string, uid: number | undefined, mode: number | undefined, claim: Claim | undefined, now: number): Proof {
  const note = ownerNote(t, rel, uid, mode);
  const owner = uid !== undefined ? t.roleOfUid.get(uid) : undefined;
  if (owner && !note) return { by: "user", role: owner.role, user: owner.user, uid: uid! };
  const p = proveClaim(t, rel, sha256, uid, claim, now);
  return note && p.by !== "invalid" ? { ...p, note } : p;
}

function proveClaim(t: TrustContext, rel: string, sha256: string, uid: number | undefined, claim: Claim | undefined, now: number): Exclude<Proof, { by: "user" }> {
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
