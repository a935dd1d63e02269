/**
 * Who wrote an input, and may they (PROTOCOL "Proofs and permissions"). The shell proves what it can
 * (the file's owner, a launch token's signature, a person's signed command: src/trust/prove.ts) and
 * hands the Proof in with the input; here, purely, the proof is held against what the input claims
 * (its `from`, the artifact's owning role), the token's scope (role, epic, iteration, expiry) against
 * the epic and the time, and the claimed or proven role against the permissions of the config.
 */
import { issue, type Issue } from "../errors/issue.js";
import type { Pipeline } from "../config/pipeline.js";
import type { Epic } from "../schemas/types.gen.js";
import { nonceId } from "../log/replay.js";

/**
 * What the shell could prove about an input's author.
 * - user: the file's owner is the OS user agents.<role>.user runs as;
 * - token: a launch token's signature over the file (its scope, never the token itself);
 * - person: a person's command, signed with the daemon key by a consensus CLI that could read it;
 *   `user` is the OS user who owns the file (who ran the command), `as` what they called themselves;
 * - none: nothing proves the author (unverified);
 * - invalid: the file came with a signature that does not verify (refused, with the reason).
 * `note` (token, person, none): the file's owner runs a role but proved nothing (the file was writable
 * by its group or others, or several roles share that OS user): why, and the fix. Recorded beside the
 * proof as `details.proof_note`.
 */
export type Proof =
  | { by: "user"; role: string; user: string; uid: number }
  | { by: "token"; role: string; epic_id: string; iteration: number; expires_at: string; nonce: string; key: string; launch?: string; note?: ProofNote }
  | { by: "person"; user: string; as?: string; note?: ProofNote }
  | { by: "none"; note?: ProofNote }
  | { by: "invalid"; reason: string };

/** Why a file's owner proved no role: `reason` a sentence naming the file, user and mode; `fix` an imperative sentence. */
export interface ProofNote {
  reason: string;
  fix: string;
  /**
   * The OS user that owns the file and the one role it runs, when only the file's mode kept it from
   * proving that role: whatever wrote the bytes, that user holds the name (only its owner may rename
   * or remove a file in a sticky drop zone), so a name its role may not write is set aside all the same
   * (transports/files/set-aside.ts).
   */
  owner?: { role: string; user: string; uid: number };
  /**
   * The OS user several roles share, when it owns the file: it proves none of them, and speaks for no
   * other role (nor holds a name none of them may write), as `owner` above.
   */
  shared?: { user: string; uid: number; roles: readonly string[] };
}

/** The note of a proof (undefined: none). */
export const proofNoteOf = (p: Proof | undefined): ProofNote | undefined => (p && "note" in p ? p.note : undefined);

/**
 * The OS user that owns a file and the roles it runs, when its mode or a shared user kept it from
 * proving any (ProofNote.owner, .shared). It holds the file's name whatever proved the bytes.
 */
export function ownerOf(p: Proof | undefined): { user: string; uid: number; roles: readonly string[] } | undefined {
  const n = proofNoteOf(p);
  return n?.owner ? { user: n.owner.user, uid: n.owner.uid, roles: [n.owner.role] } : n?.shared;
}

/**
 * The roles a file is held by: its proven role, or else the roles of the OS user owning it though it
 * proves none (ownerOf); undefined when neither is known (a person, or nothing at all).
 */
export function holderRoles(p: Proof | undefined): readonly string[] | undefined {
  const role = provenRole(p);
  return role !== undefined ? [role] : isProven(p) ? undefined : ownerOf(p)?.roles;
}

/** The proof as the log records it: no secret, only who and how ("unverified" when nothing proves it). */
export function proofRecord(p: Proof | undefined): Record<string, unknown> | "unverified" {
  if (!p || p.by === "none") return "unverified";
  if (p.by === "user") return { by: "os_user", role: p.role, user: p.user, uid: p.uid };
  if (p.by === "token") return { by: "token", role: p.role, epic_id: p.epic_id, iteration: p.iteration, expires_at: p.expires_at, nonce: p.nonce, key: p.key, ...(p.launch ? { launch: p.launch } : {}) };
  if (p.by === "person") return { by: "person", user: p.user, ...(p.as ? { as: p.as } : {}) };
  return { by: "invalid", reason: p.reason };
}


/** The role a proof proves (undefined: none proven). */
export const provenRole = (p: Proof | undefined): string | undefined => (p && (p.by === "user" || p.by === "token") ? p.role : undefined);

/** Is the input proven at all (an agent's role, or a person)? */
export const isProven = (p: Proof | undefined): boolean => !!p && (p.by === "user" || p.by === "token" || p.by === "person");

const FIX_PROOF = "submit with `consensus submit` or the MCP tools, or run this role as its own user (agents.<role>.user)";

/**
 * The proof against the claim: `claimed` is the role the input says wrote it (a message's from; an
 * artifact's writer, which is the proven role or else the stage owner). `epic` is the epic it is for
 * (the token's scope is checked against it), `now` the decision's time.
 */
export function proofIssues(pipeline: Pipeline, proof: Proof | undefined, claimed: string | undefined, what: { file: string; fromPath: string; epic?: Epic }, now: string, used: (id: string) => boolean = () => false): Issue[] {
  const out: Issue[] = [];
  if (proof?.by === "invalid") {
    out.push(issue("PROOF_INVALID", { message: `${what.file} came with a signature that does not verify: ${proof.reason}`, found: proof.reason, fix: `Submit it again with \`consensus submit\` from the agent's own launch (CONSENSUS_TOKEN), or drop it as a plain file.` }));
    return out;
  }
  if (proof?.by === "user" && claimed !== undefined && claimed !== proof.role) {
    out.push(issue("ROLE_NOT_PROVEN", { message: `${what.file} is owned by OS user ${proof.user} (uid ${proof.uid}), who runs role ${proof.role}, but it speaks for ${claimed}`, path: what.fromPath, expected: proof.role, found: claimed, fix: `Role ${proof.role} writes only as ${proof.role}; ${claimed}'s own agent (its own OS user) must write this.` }));
  }
  // the OS user owning an unproven file (its mode let its group write it, or several roles share the
  // user) proves none of its roles, and nothing at all for another: left unverified it would pass where
  // unverified input is accepted (a squatter's or forger's `chmod g+w`), so it is refused as that user's
  // file speaking for another role
  const held = !isProven(proof) ? ownerOf(proof) : undefined;
  if (held && claimed !== undefined && !held.roles.includes(claimed)) {
    const one = held.roles.length === 1 ? held.roles[0]! : undefined;
    const runs = one !== undefined ? `who runs role ${one}` : `whom roles ${held.roles.join(", ")} share`;
    const why = one !== undefined ? `; its mode lets its group write it, so it proves nothing for ${one} either` : "";
    const fix = one !== undefined ? `Role ${one} writes only as ${one}; ${claimed}'s own agent (its own OS user) must write this, with umask 027.` : `${claimed}'s own agent (its own OS user) must write this; give each role its own OS user (agents.<role>.user).`;
    out.push(issue("ROLE_NOT_PROVEN", { message: `${what.file} is owned by OS user ${held.user} (uid ${held.uid}), ${runs}, but it speaks for ${claimed}${why}`, path: what.fromPath, expected: one ?? `one of ${held.roles.join(", ")}`, found: claimed, fix }));
  }
  if (proof?.by === "token") {
    if (claimed !== undefined && claimed !== proof.role) out.push(issue("ROLE_NOT_PROVEN", { message: `${what.file} is signed with a launch token of role ${proof.role}, but it speaks for ${claimed}`, path: what.fromPath, expected: proof.role, found: claimed, fix: `A launch token acts only for its own role; ${claimed}'s own launch must submit this.` }));
    const e = what.epic;
    if (e && proof.epic_id !== e.epic_id) out.push(issue("TOKEN_SCOPE", { message: `${what.file} is signed with a launch token for epic ${proof.epic_id}, not ${e.epic_id}`, expected: e.epic_id, found: proof.epic_id, fix: `A launch token acts only for its own epic; submit from a launch for ${e.epic_id}.` }));
    else if (e && proof.iteration !== e.iteration) out.push(issue("TOKEN_SCOPE", { message: `${what.file} is signed with a launch token for iteration ${proof.iteration} of ${e.epic_id}, which is at iteration ${e.iteration}`, expected: String(e.iteration), found: String(proof.iteration), fix: `A launch token acts only in the iteration it was issued for; the agent launched for iteration ${e.iteration} has its own.` }));
    if (used(nonceId(proof.nonce))) out.push(issue("REPLAYED_MESSAGE", { message: `${what.file} is signed with nonce ${proof.nonce}, which an accepted input already used`, found: proof.nonce, fix: "Submit again with `consensus submit` (each submission signs with a fresh nonce)." }));
    if (!(Date.parse(proof.expires_at) > Date.parse(now))) out.push(issue("TOKEN_EXPIRED", { message: `${what.file} is signed with a launch token that expired at ${proof.expires_at}`, found: proof.expires_at, expected: `a token valid at ${now}`, fix: "A launch token lives as long as its launch's timeout; the next launch gets a fresh one." }));
  }
  if (!isProven(proof) && claimed !== undefined && pipeline.proof.requireProof(claimed)) {
    const note = proofNoteOf(proof);
    out.push(issue("PROOF_REQUIRED", { message: `${what.file} is unverified: nothing proves ${claimed} wrote it${note ? ` (${note.reason})` : ""}, and ${pipeline.proof.requireProofWhere} requires proof for ${claimed}`, path: what.fromPath, found: "unverified", expected: `a proof that ${claimed} wrote it`, fix: note ? note.fix : `${FIX_PROOF.replace("<role>", claimed)}.` }));
  }
  return out;
}

/** A refusal by a permission rule, naming the rule and where it is configured. */
export function permissionIssue(what: string, p: { allowed: readonly string[]; rule: string; where: string }, found: string, path = ""): Issue {
  return issue("NOT_PERMITTED", { message: `${found} may not ${what} (rule: ${p.rule})`, path, expected: p.allowed.length ? `one of ${p.allowed.join(", ")}` : "no role", found, fix: `Have ${p.allowed.length ? p.allowed.join(" or ") : "an allowed role"} do it, or change ${p.where}.` });
}

/** Open vetoes of `role` no person may override that an approval or artifact of `role` would now resolve. */
function lockedResolvable(pipeline: Pipeline, epic: Epic, role: string): Epic["open_vetoes"] {
  return epic.open_vetoes.filter((v) => v.from === role && v.iteration < epic.iteration && pipeline.isNonOverridable(v.subject, v.stage));
}

function provenResolutionIssue(pipeline: Pipeline, epic: Epic | undefined, role: string, proof: Proof | undefined, file: string, path: string): Issue[] {
  if (!epic || !pipeline.proof.provenResolution || provenRole(proof) === role) return [];
  const locked = lockedResolvable(pipeline, epic, role);
  if (!locked.length) return [];
  const v = locked[0]!;
  const note = proofNoteOf(proof);
  return [issue("PROOF_REQUIRED", { message: `${file} would resolve ${role}'s non-overridable veto "${v.subject}" (iteration ${v.iteration}), but nothing proves ${role} wrote it${note ? ` (${note.reason})` : ""}; consensus.yaml security.proven_resolution requires the vetoing role proven`, path, found: proof?.by === "person" ? `person ${proof.user}` : "unverified", expected: `${role}, proven`, fix: note ? note.fix : `${FIX_PROOF.replace("<role>", role)}.` })];
}

/** An artifact: the proof, who may write it (permissions.write), and a non-overridable veto's resolution. */
export function artifactAuthority(pipeline: Pipeline, a: { file: string; name: string; proof?: Proof }, owner: string, epic: Epic | undefined, now: string, used?: (id: string) => boolean): Issue[] {
  // unproven, the file's owner still says whose it is: one of its roles that may write the name
  // (permissions.write may let a role other than the stage's owner), else the stage's owner
  const held = isProven(a.proof) ? undefined : ownerOf(a.proof)?.roles;
  const holder = held && !held.includes(owner) ? held.find((r) => pipeline.permissions.write(r, a.name).ok) : undefined;
  const writer = provenRole(a.proof) ?? holder ?? owner;
  const out = proofIssues(pipeline, a.proof, writer, { file: a.file, fromPath: "", ...(epic ? { epic } : {}) }, now, used);
  const may = pipeline.permissions.write(writer, a.name);
  if (!may.ok) {
    const who = a.proof?.by === "user" ? `${writer} (OS user ${a.proof.user} owns the file)` : a.proof?.by === "token" ? `${writer} (signed with ${writer}'s launch token)` : writer;
    out.push(permissionIssue(`write ${a.name}`, may, who));
  }
  if (may.ok) out.push(...provenResolutionIssue(pipeline, epic, writer, a.proof, a.file, ""));
  return out;
}

/** A message: the proof against its from, who may send its type, approve the stage, and a non-overridable veto's resolution. */
export function messageAuthority(pipeline: Pipeline, m: { file: string; proof?: Proof }, d: { from?: unknown; type?: unknown }, epic: Epic | undefined, now: string, used?: (id: string) => boolean): Issue[] {
  const from = typeof d.from === "string" && pipeline.isRole(d.from) ? d.from : undefined;
  const out = proofIssues(pipeline, m.proof, from, { file: m.file, fromPath: "/from", ...(epic ? { epic } : {}) }, now, used);
  if (!from || typeof d.type !== "string") return out;
  const send = pipeline.permissions.send(from, d.type);
  if (!send.ok) out.push(permissionIssue(`send a ${d.type} message`, send, from, "/from"));
  if (d.type === "approve" && epic && epic.status === "in_progress") {
    const may = pipeline.permissions.approve(from, epic.stage, epic.open_vetoes.map((v) => v.from));
    if (!may.ok) out.push(permissionIssue(`approve stage ${epic.stage}`, may, from, "/from"));
    else out.push(...provenResolutionIssue(pipeline, epic, from, m.proof, m.file, "/from"));
  }
  return out;
}

/** What to say of an OS user several roles run as (the daemon at start, `consensus doctor`). Pure. */
export function sharedUserNote(s: { user: string; roles: readonly string[] }, uid?: number): ProofNote {
  return {
    ...(uid !== undefined ? { shared: { user: s.user, uid, roles: [...s.roles] } } : {}),
    reason: `roles ${s.roles.join(", ")} all run as OS user ${s.user}, so the owner of a file proves none of them`,
    fix: `Give each role its own OS user: agents.<role>.user in consensus.yaml (e.g. ${s.roles.map((r) => `agents.${r}.user: consensus-${r}`).join(", ")}), made with useradd and in security.agents_group.`,
  };
}
