/**
 * The config resolved into the form the machine and the bus use: defaults filled in, lookups
 * precomputed, frozen. Pure, and free of the schema compiler, so `status` can load it cheaply.
 * A mode (consensus start --mode) resolves to a Pipeline of its own over a subsequence of the stages.
 */
import type { ConsensusConfig } from "../schemas/types.gen.js";
import { resolveAgents, type AgentSpec, type RunnerSettings, type SecuritySettings } from "./agents.js";
import { durationMs } from "./duration.js";
import { resolvePermissions, resolveProofSettings, type Permissions, type ProofSettings } from "./permissions.js";

export interface StageDef {
  readonly id: string;
  /** Position in the pipeline (or mode) this StageDef belongs to. */
  readonly index: number;
  readonly owner: string;
  readonly artifacts: readonly string[];
  readonly vetoes: readonly string[];
  readonly approvers: readonly string[];
  /** Count rule: how many of the approvers must approve in the current iteration. */
  readonly quorum: number;
  /** Weighted rule: each approver's weight, and the share of the total needed. */
  readonly weights?: Readonly<Record<string, number>>;
  readonly threshold?: number;
  /** Veto subjects raised here that no person may override. */
  readonly nonOverridable: readonly string[];
  /** How long the owner has in this stage (ms), if a deadline is set. */
  readonly deadlineMs?: number;
}

export interface Pipeline {
  readonly maxIterations: number;
  readonly roles: readonly string[];
  readonly stages: readonly StageDef[];
  readonly settleMs: number;
  readonly maxFileBytes: number;
  /** What one epic may spend; crossing it escalates the epic. */
  readonly budget: Readonly<{ cost_usd?: number; tokens?: number }>;
  /** SHA-256 of the config text: recorded with snapshots so a reader knows which rules applied. */
  readonly version: string;
  /** The mode this pipeline runs (undefined: all stages). */
  readonly mode?: string;
  /** The configured modes, with their stage ids and description. */
  readonly modes: Readonly<Record<string, { stages: readonly string[]; description?: string }>>;
  stage(id: string): StageDef | undefined;
  /** The stage that lists this artifact file name. */
  stageOfArtifact(file: string): StageDef | undefined;
  /** Where a blocking veto from this role, raised at this stage, sends the epic. */
  vetoRoute(role: string, atStage?: string): string;
  isRole(role: string): boolean;
  /** May no person override a veto with this subject raised at this stage (any stage of the config, in or out of a mode)? */
  isNonOverridable(subject: string, atStage: string): boolean;
  /** The pipeline of a mode (undefined mode: this one); undefined if the mode is not configured. */
  forMode(mode: string | undefined): Pipeline | undefined;
  /** agents.<role|name>: the commands the runner starts (docs/agents.md). */
  readonly agents: ReadonlyMap<string, AgentSpec>;
  readonly runner: RunnerSettings;
  readonly security: SecuritySettings;
  /** permissions: who may write, approve, send what (config/permissions.ts). */
  readonly permissions: Permissions;
  /** security.require_proof, people, proven_resolution. */
  readonly proof: ProofSettings;
}

export function resolvePipeline(c: ConsensusConfig, version: string): Pipeline {
  const full = build(c, version, c.stages.map((s) => s.id), undefined);
  const modes = new Map<string, Pipeline>();
  for (const [name, m] of Object.entries(c.modes ?? {})) modes.set(name, build(c, version, m.stages, name, full));
  (full as { forMode: Pipeline["forMode"] }).forMode = (mode) => (mode === undefined ? full : modes.get(mode));
  for (const p of modes.values()) {
    (p as { forMode: Pipeline["forMode"] }).forMode = full.forMode;
    Object.freeze(p);
  }
  return Object.freeze(full);
}

function build(c: ConsensusConfig, version: string, ids: readonly string[], mode: string | undefined, full?: Pipeline): Pipeline {
  const globalNonOverridable = c.non_overridable ?? [];
  const chosen = c.stages.filter((s) => ids.includes(s.id));
  const stages: StageDef[] = chosen.map((s, index) => {
    const weights = s.approvers?.weights;
    return Object.freeze({
      id: s.id,
      index,
      owner: s.owner,
      artifacts: Object.freeze([...s.artifacts]),
      // A review.json whose status is not "approved" is its author's veto, so a stage that collects one
      // always lets its owner veto (PROTOCOL §4).
      vetoes: Object.freeze([...new Set([...(s.vetoes ?? []), ...(s.artifacts.includes("review.json") ? [s.owner] : [])])]),
      approvers: Object.freeze([...(s.approvers?.roles ?? [])]),
      quorum: quorumOf(s.approvers?.quorum, s.approvers?.roles.length ?? 0),
      ...(weights ? { weights: Object.freeze({ ...weights }), threshold: s.approvers?.threshold ?? 1 } : {}),
      nonOverridable: Object.freeze([...new Set([...globalNonOverridable, ...(s.non_overridable ?? [])])]),
      ...(s.deadline !== undefined ? { deadlineMs: durationMs(s.deadline) } : {}),
    });
  });
  const byId = new Map(stages.map((s) => [s.id, s]));
  const byArtifact = new Map<string, StageDef>();
  for (const s of stages) for (const a of s.artifacts) byArtifact.set(a, s);
  const routes = new Map(Object.entries(c.veto_routes ?? {}));
  const stageRoutes = new Map(c.stages.map((s) => [s.id, new Map(Object.entries(s.veto_routes ?? {}))]));
  const fallback = byId.has("implementation") ? "implementation" : stages[0]!.id;
  const roleSet = new Set(c.roles);
  const modes: Record<string, { stages: readonly string[]; description?: string }> = {};
  for (const [name, m] of Object.entries(c.modes ?? {})) modes[name] = Object.freeze({ stages: Object.freeze([...m.stages]), ...(m.description ? { description: m.description } : {}) });
  const p: Pipeline = {
    maxIterations: c.max_iterations ?? 3,
    roles: Object.freeze([...c.roles]),
    stages: Object.freeze(stages),
    settleMs: c.bus?.settle_ms ?? 500,
    maxFileBytes: c.bus?.max_file_bytes ?? 1_048_576,
    budget: Object.freeze({ ...(c.budget ?? {}) }),
    version,
    ...(mode ? { mode } : {}),
    modes: Object.freeze(modes),
    stage: (id: string) => byId.get(id),
    // Artifacts of stages outside a mode are still known (to say "not in this mode" rather than "unknown").
    stageOfArtifact: (file: string) => byArtifact.get(file) ?? full?.stageOfArtifact(file),
    vetoRoute: (role: string, atStage?: string) => {
      const to = (atStage !== undefined ? stageRoutes.get(atStage)?.get(role) : undefined) ?? routes.get(role) ?? fallback;
      // In a mode without the target stage, the veto sends the epic to the mode's first stage.
      return byId.has(to) ? to : stages[0]!.id;
    },
    isRole: (role: string) => roleSet.has(role),
    isNonOverridable: (subject: string, atStage: string) => globalNonOverridable.includes(subject) || (c.stages.find((s) => s.id === atStage)?.non_overridable ?? []).includes(subject),
    forMode: () => undefined,
    ...resolveAgents(c),
    permissions: resolvePermissions(c, c.stages),
    proof: resolveProofSettings(c),
  };
  return p;
}

/** all → every approver; majority → more than half; a number → that many (at most all of them). */
export function quorumOf(q: "all" | "majority" | number | undefined, roles: number): number {
  if (q === undefined || q === "all") return roles;
  if (q === "majority") return Math.floor(roles / 2) + 1;
  return Math.min(q, roles);
}

/** The approving share of a weighted stage: the approving roles' weights over the total. */
export function approvalScore(stage: StageDef, approvals: readonly string[]): number {
  if (!stage.weights) return stage.approvers.length ? stage.approvers.filter((r) => approvals.includes(r)).length / stage.approvers.length : 1;
  const total = stage.approvers.reduce((t, r) => t + (stage.weights![r] ?? 0), 0);
  const got = stage.approvers.filter((r) => approvals.includes(r)).reduce((t, r) => t + (stage.weights![r] ?? 0), 0);
  return total > 0 ? got / total : 1;
}

/** Has the stage's approval rule been met by these approvals (count quorum, or weighted threshold)? */
export function approvalsMet(stage: StageDef, approvals: readonly string[]): boolean {
  if (stage.approvers.length === 0) return true;
  // A tiny tolerance so 0.65 of weights that add up to 0.65 in floating point still counts.
  if (stage.weights) return approvalScore(stage, approvals) + 1e-9 >= stage.threshold!;
  return stage.approvers.filter((r) => approvals.includes(r)).length >= stage.quorum;
}

/** A human description of a stage's approval rule ("all of quality, devops", "0.65 of weighted …"). */
export function describeApprovals(stage: StageDef): string {
  if (stage.approvers.length === 0) return "none";
  if (stage.weights) return `weighted ≥ ${stage.threshold} of ${stage.approvers.map((r) => `${r} ${stage.weights![r]}`).join(", ")}`;
  const n = stage.quorum;
  return `${n === stage.approvers.length ? "all" : `${n}`} of ${stage.approvers.join(", ")}`;
}
