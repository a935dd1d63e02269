/**
 * The config resolved into the form the machine and the bus use: defaults filled in, lookups
 * precomputed, frozen. Pure, and free of the schema compiler, so `status` can load it cheaply.
 */
import type { ConsensusConfig } from "../schemas/types.gen.js";
import { resolveAgents, type AgentSpec, type RunnerSettings } from "./agents.js";

export interface StageDef {
  readonly id: string;
  readonly index: number;
  readonly owner: string;
  readonly artifacts: readonly string[];
  readonly vetoes: readonly string[];
  readonly approvers: readonly string[];
  /** How many of the approvers must approve in the current iteration. */
  readonly quorum: number;
}

export interface Pipeline {
  readonly maxIterations: number;
  readonly roles: readonly string[];
  readonly stages: readonly StageDef[];
  readonly settleMs: number;
  readonly maxFileBytes: number;
  /** SHA-256 of the config text: recorded with snapshots so a reader knows which rules applied. */
  readonly version: string;
  stage(id: string): StageDef | undefined;
  /** The stage that lists this artifact file name. */
  stageOfArtifact(file: string): StageDef | undefined;
  /** Where a blocking veto from this role sends the epic. */
  vetoRoute(role: string): string;
  isRole(role: string): boolean;
  /** agents.<role|name>: the commands the runner starts (docs/agents.md). */
  readonly agents: ReadonlyMap<string, AgentSpec>;
  readonly runner: RunnerSettings;
}

export function resolvePipeline(c: ConsensusConfig, version: string): Pipeline {
  const stages: StageDef[] = c.stages.map((s, index) =>
    Object.freeze({
      id: s.id,
      index,
      owner: s.owner,
      artifacts: Object.freeze([...s.artifacts]),
      // A review.json whose status is not "approved" is its author's veto, so a stage that collects one
      // always lets its owner veto (PROTOCOL §4).
      vetoes: Object.freeze([...new Set([...(s.vetoes ?? []), ...(s.artifacts.includes("review.json") ? [s.owner] : [])])]),
      approvers: Object.freeze([...(s.approvers?.roles ?? [])]),
      quorum: quorumOf(s.approvers?.quorum, s.approvers?.roles.length ?? 0),
    }),
  );
  const byId = new Map(stages.map((s) => [s.id, s]));
  const byArtifact = new Map<string, StageDef>();
  for (const s of stages) for (const a of s.artifacts) byArtifact.set(a, s);
  const routes = new Map(Object.entries(c.veto_routes ?? {}));
  const fallback = byId.has("implementation") ? "implementation" : stages[0]!.id;
  const roleSet = new Set(c.roles);
  return Object.freeze({
    maxIterations: c.max_iterations ?? 3,
    roles: Object.freeze([...c.roles]),
    stages: Object.freeze(stages),
    settleMs: c.bus?.settle_ms ?? 500,
    maxFileBytes: c.bus?.max_file_bytes ?? 1_048_576,
    version,
    stage: (id: string) => byId.get(id),
    stageOfArtifact: (file: string) => byArtifact.get(file),
    vetoRoute: (role: string) => routes.get(role) ?? fallback,
    isRole: (role: string) => roleSet.has(role),
    ...resolveAgents(c),
  });
}

/** all → every approver; majority → more than half; a number → that many (at most all of them). */
export function quorumOf(q: "all" | "majority" | number | undefined, roles: number): number {
  if (q === undefined || q === "all") return roles;
  if (q === "majority") return Math.floor(roles / 2) + 1;
  return Math.min(q, roles);
}

