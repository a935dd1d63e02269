/** consensus.yaml text → a checked Pipeline, or Issues that say what is wrong and where. Pure. */
import { createHash } from "node:crypto";
import { errorsOf, issue, type Issue } from "../errors/issue.js";
import { parseDocument } from "../schemas/parse.js";
import { validateKind } from "../schemas/registry.js";
import type { ConsensusConfig } from "../schemas/types.gen.js";
import { resolvePipeline, type Pipeline } from "./resolve.js";
import { checkAgents } from "./agents.js";
import { secretWarnings } from "./secrets.js";

export { approvalsMet, approvalScore, describeApprovals, quorumOf, resolvePipeline, type Pipeline, type StageDef } from "./resolve.js";

export function parseConfig(text: string, file = "consensus.yaml"): { pipeline?: Pipeline; issues: Issue[] } {
  const parsed = parseDocument(new TextEncoder().encode(text), "yaml");
  if (parsed.value === undefined) return { issues: parsed.issues.map((i) => ({ ...i, file })) };
  const schemaIssues = validateKind("config", parsed.value);
  if (schemaIssues.length > 0) return { issues: schemaIssues.map((i) => ({ ...i, file })) };
  const config = parsed.value as ConsensusConfig;
  const issues = [...checkConfig(config), ...secretWarnings(config)].map((i) => ({ ...i, file }));
  if (errorsOf(issues).length > 0) return { issues };
  // warnings (a secret written into the file …) come with the pipeline
  return { pipeline: resolvePipeline(config, createHash("sha256").update(text).digest("hex")), issues };
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
    const w = s.approvers?.weights;
    if (w && s.approvers?.quorum !== undefined) bad(`/stages/${i}/approvers`, "approvers has both quorum and weights", "quorum and weights", "Keep quorum (a count) or weights + threshold, not both.", "one rule");
    if (w && s.approvers) {
      for (const r of s.approvers.roles) if (w[r] === undefined) bad(`/stages/${i}/approvers/weights`, `approver "${r}" has no weight`, "no weight", `Give ${r} a weight, e.g. ${r}: 0.5.`, "a weight for every approver");
      for (const r of Object.keys(w)) if (!s.approvers.roles.includes(r)) bad(`/stages/${i}/approvers/weights/${r}`, `weight for "${r}", who is not an approver of this stage`, r, `Add ${r} to approvers.roles or remove its weight.`, s.approvers.roles.join(", "));
    }
    for (const [role, target] of Object.entries(s.veto_routes ?? {})) {
      if (!roles.has(role)) bad(`/stages/${i}/veto_routes/${role}`, `veto route for unknown role "${role}"`, role, `Add "${role}" to roles: or remove the route.`);
      const at = c.stages.findIndex((x) => x.id === target);
      if (at < 0) bad(`/stages/${i}/veto_routes/${role}`, `veto route sends ${role}'s vetoes to unknown stage "${target}"`, target, `Use a stage id at or before ${s.id}.`);
      else if (at > i) bad(`/stages/${i}/veto_routes/${role}`, `a veto sends the epic back, but "${target}" comes after "${s.id}"`, target, `Route ${role}'s vetoes at ${s.id} to ${s.id} or an earlier stage.`, `a stage at or before ${s.id}`);
    }
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
  for (const [name, m] of Object.entries(c.modes ?? {})) {
    let last = -1;
    m.stages.forEach((id, j) => {
      const at = c.stages.findIndex((x) => x.id === id);
      if (at < 0) bad(`/modes/${name}/stages/${j}`, `mode ${name} names unknown stage "${id}"`, id, `Use stage ids from stages: ${[...stageIds].join(", ")}.`, `one of ${[...stageIds].join(", ")}`);
      else if (at < last) bad(`/modes/${name}/stages/${j}`, `mode ${name} lists "${id}" out of pipeline order`, m.stages.join(", "), `List the stages in the order of stages: (${c.stages.map((x) => x.id).filter((x) => m.stages.includes(x)).join(", ")}).`, "pipeline order");
      last = Math.max(last, at);
    });
  }
  out.push(...checkAgents(c));
  checkPermissions(c, roles, stageIds, artifacts, bad);
  return out;
}

/** permissions: and security.require_proof name roles, stages and artifacts the config has. */
function checkPermissions(c: ConsensusConfig, roles: Set<string>, stageIds: Set<string>, artifacts: Map<string, string>, bad: (path: string, message: string, found: string, fix: string, expected?: string) => void): void {
  const p = c.permissions ?? {};
  const list = `one of ${[...roles].join(", ")}`;
  const rolesAt = (path: string, rs: readonly string[]) =>
    rs.forEach((r, j) => {
      if (!roles.has(r)) bad(`${path}/${j}`, `"${r}" is not a role`, r, `Add "${r}" to roles: or remove it.`, list);
    });
  for (const [file, rs] of Object.entries(p.write ?? {})) {
    if (!artifacts.has(file)) bad(`/permissions/write/${file}`, `"${file}" is not an artifact of any stage`, file, `Use one of ${[...artifacts.keys()].join(", ")}.`, "an artifact a stage lists");
    rolesAt(`/permissions/write/${file}`, rs);
  }
  for (const [stage, rs] of Object.entries(p.approve ?? {})) {
    if (!stageIds.has(stage)) bad(`/permissions/approve/${stage}`, `"${stage}" is not a stage`, stage, `Use one of ${[...stageIds].join(", ")}.`, "a stage id");
    rolesAt(`/permissions/approve/${stage}`, rs);
  }
  for (const [type, rs] of Object.entries(p.messages ?? {})) rolesAt(`/permissions/messages/${type}`, rs ?? []);
  const rp = c.security?.require_proof;
  if (Array.isArray(rp)) rolesAt("/security/require_proof", rp);
}

/** For tests and tools: the default pipeline, parsed from the same text init writes. */
export function defaultPipeline(text: string): Pipeline {
  const { pipeline, issues } = parseConfig(text);
  if (!pipeline) throw new Error(`default config is invalid: ${issues.map((i) => i.message).join("; ")}`);
  return pipeline;
}

