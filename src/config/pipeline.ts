/**
 * The config, checked and resolved into the form the machine and the bus use: defaults filled in,
 * lookups precomputed, frozen. Pure: text in, Pipeline or Issues out.
 */
import { createHash } from "node:crypto";
import { issue, type Issue } from "../errors/issue.js";
import { parseDocument } from "../schemas/parse.js";
import { validateKind } from "../schemas/registry.js";
import type { ConsensusConfig } from "../schemas/types.gen.js";

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
}

export function parseConfig(text: string, file = "consensus.yaml"): { pipeline?: Pipeline; issues: Issue[] } {
  const parsed = parseDocument(new TextEncoder().encode(text), "yaml");
  if (parsed.value === undefined) return { issues: parsed.issues.map((i) => ({ ...i, file })) };
  const schemaIssues = validateKind("config", parsed.value);
  if (schemaIssues.length > 0) return { issues: schemaIssues.map((i) => ({ ...i, file })) };
  const config = parsed.value as ConsensusConfig;
  const issues = checkConfig(config).map((i) => ({ ...i, file }));
  if (issues.length > 0) return { issues };
  return { pipeline: resolvePipeline(config, createHash("sha256").update(text).digest("hex")), issues: [] };
}

/** Rules a JSON Schema cannot say: references between roles, stages and artifacts. */
export function checkConfig(c: ConsensusConfig): Issue[] {
  const out: Issue[] = [];
  const roles = new Set(c.roles);
  const stageIds = new Set<string>();
  const artifacts = new Map<string, string>();
  const bad = (path: string, message: string, found: string, fix: string, expected?: string): void => {
    out.push(issue("CONFIG_INVALID", { path, message, found, fix, expected: expected ?? "a defined name" }));
  };
  c.stages.forEach((s, i) => {
    if (stageIds.has(s.id)) bad(`/stages/${i}/id`, `stage id "${s.id}" is used twice`, s.id, "Give each stage its own id.");
    stageIds.add(s.id);
    if (["promoted", "escalated", "cancelled"].includes(s.id)) bad(`/stages/${i}/id`, `stage id "${s.id}" is reserved for a terminal state`, s.id, "Rename the stage.");
    if (!roles.has(s.owner)) bad(`/stages/${i}/owner`, `owner "${s.owner}" is not a role`, s.owner, `Add "${s.owner}" to roles: or pick one of ${c.roles.join(", ")}.`, `one of ${c.roles.join(", ")}`);
    (s.vetoes ?? []).forEach((r, j) => {
      if (!roles.has(r)) bad(`/stages/${i}/vetoes/${j}`, `veto role "${r}" is not a role`, r, `Add "${r}" to roles: or remove it.`);
    });
    if (typeof s.approvers?.quorum === "number" && s.approvers.quorum > s.approvers.roles.length) {
      bad(`/stages/${i}/approvers/quorum`, `quorum ${s.approvers.quorum} is more than the ${s.approvers.roles.length} approver(s)`, String(s.approvers.quorum), "Lower the quorum or name more approvers.", `at most ${s.approvers.roles.length}`);
    }
    (s.approvers?.roles ?? []).forEach((r, j) => {
      if (!roles.has(r)) bad(`/stages/${i}/approvers/roles/${j}`, `approver "${r}" is not a role`, r, `Add "${r}" to roles: or remove it.`);
    });
    s.artifacts.forEach((a, j) => {
      const prev = artifacts.get(a);
      if (prev !== undefined) bad(`/stages/${i}/artifacts/${j}`, `artifact "${a}" is listed by stages "${prev}" and "${s.id}"`, a, "List each artifact in one stage only.");
      artifacts.set(a, s.id);
    });
  });
  for (const [role, target] of Object.entries(c.veto_routes ?? {})) {
    if (!roles.has(role)) bad(`/veto_routes/${role}`, `veto route for unknown role "${role}"`, role, `Add "${role}" to roles: or remove the route.`);
    if (!stageIds.has(target)) bad(`/veto_routes/${role}`, `veto route sends ${role}'s vetoes to unknown stage "${target}"`, target, `Use one of the stage ids: ${[...stageIds].join(", ")}.`, `one of ${[...stageIds].join(", ")}`);
  }
  return out;
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
  });
}

/** all → every approver; majority → more than half; a number → that many (at most all of them). */
export function quorumOf(q: "all" | "majority" | number | undefined, roles: number): number {
  if (q === undefined || q === "all") return roles;
  if (q === "majority") return Math.floor(roles / 2) + 1;
  return Math.min(q, roles);
}

/** For tests and tools: the default pipeline, parsed from the same text init writes. */
export function defaultPipeline(text: string): Pipeline {
  const { pipeline, issues } = parseConfig(text);
  if (!pipeline) throw new Error(`default config is invalid: ${issues.map((i) => i.message).join("; ")}`);
  return pipeline;
}

