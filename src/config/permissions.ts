/**
 * `permissions:` and the proof settings of `security:`, resolved: who may write which artifact, approve
 * which stage, send which message type; which roles must prove themselves; who may override or cancel.
 * Each answer says which rule decided it and where that rule is configured, so a refusal can name it.
 * Pure.
 */
import type { ConsensusConfig } from "../schemas/types.gen.js";

/** A permission's verdict: allowed, or refused by the rule `rule` (where it is configured: `where`). */
export type Permit = { ok: true } | { ok: false; allowed: readonly string[]; rule: string; where: string };

export interface Permissions {
  /** May `role` write the artifact `file` (plan.json …)? */
  write(role: string, file: string): Permit;
  /** May `role` approve stage `stage`? `vetoing`: roles whose veto is open on the epic (they approve to withdraw it). */
  approve(role: string, stage: string, vetoing: readonly string[]): Permit;
  /** May `role` send a message of `type`? */
  send(role: string, type: string): Permit;
}

export interface ProofSettings {
  /** Must inputs claimed by this role be proven (own OS user, or a launch token's signature)? */
  requireProof(role: string): boolean;
  /** Where require_proof is configured, for the refusal. */
  readonly requireProofWhere: string;
  /** OS users allowed to run a person's command; undefined: anyone who can run consensus on the bus. */
  readonly people: Readonly<{ override?: readonly string[]; cancel?: readonly string[] }>;
  /** Must a non-overridable veto be resolved by its role proven? */
  readonly provenResolution: boolean;
}

type StageLike = { id: string; owner: string; artifacts: readonly string[]; vetoes?: readonly string[]; approvers?: { roles: readonly string[] } };

const ok: Permit = { ok: true };

export function resolvePermissions(c: Pick<ConsensusConfig, "permissions">, stages: readonly StageLike[]): Permissions {
  const p = c.permissions ?? {};
  const at = (k: string, v: string): string => `consensus.yaml permissions.${k}.${v}`;
  return Object.freeze({
    write(role: string, file: string): Permit {
      const listed = p.write?.[file];
      if (listed) return listed.includes(role) ? ok : { ok: false, allowed: listed, rule: `permissions.write["${file}"]`, where: at("write", file) };
      const i = stages.findIndex((s) => s.artifacts.includes(file));
      if (i < 0) return ok;
      const s = stages[i]!;
      return s.owner === role ? ok : { ok: false, allowed: [s.owner], rule: `the owner of stage ${s.id} writes its artifacts (default)`, where: `consensus.yaml stages[${i}].owner (or permissions.write["${file}"])` };
    },
    approve(role: string, stage: string, vetoing: readonly string[]): Permit {
      const listed = p.approve?.[stage];
      if (listed) return listed.includes(role) || vetoing.includes(role) ? ok : { ok: false, allowed: listed, rule: `permissions.approve.${stage}`, where: at("approve", stage) };
      const i = stages.findIndex((s) => s.id === stage);
      if (i < 0) return ok;
      const s = stages[i]!;
      // A review.json's author vetoes by its status, so the owner of such a stage may approve it too.
      const allowed = [...new Set([...(s.approvers?.roles ?? []), ...(s.vetoes ?? []), ...(s.artifacts.includes("review.json") ? [s.owner] : [])])];
      if (allowed.includes(role) || vetoing.includes(role)) return ok;
      return { ok: false, allowed, rule: `a stage is approved by its approvers and the roles that may veto it, or by a role withdrawing its own open veto (default)`, where: `consensus.yaml stages[${i}].approvers and stages[${i}].vetoes (or permissions.approve.${stage})` };
    },
    send(role: string, type: string): Permit {
      const listed = (p.messages as Record<string, readonly string[] | undefined> | undefined)?.[type];
      if (!listed || listed.includes(role)) return ok;
      return { ok: false, allowed: listed, rule: `permissions.messages.${type}`, where: at("messages", type) };
    },
  });
}

export function resolveProofSettings(c: Pick<ConsensusConfig, "security">): ProofSettings {
  const rp = c.security?.require_proof;
  const people = c.security?.people ?? {};
  return Object.freeze({
    requireProof: (role: string) => rp === true || (Array.isArray(rp) && rp.includes(role)),
    requireProofWhere: "consensus.yaml security.require_proof",
    people: Object.freeze({ ...(people.override ? { override: Object.freeze([...people.override]) } : {}), ...(people.cancel ? { cancel: Object.freeze([...people.cancel]) } : {}) }),
    provenResolution: c.security?.proven_resolution === true,
  });
}
