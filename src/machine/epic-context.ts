/**
 * Pure updates of an epic's state (the machine's context) and the questions the machine's guards ask
 * of it. Kept apart from the machine definition so each rule is one small function with a test.
 */
import { approvalsMet, type Pipeline, type StageDef } from "../config/resolve.js";
import type { Epic, SeenVeto, Veto } from "../schemas/types.gen.js";

export function newEpic(epicId: string, title: string, firstStage: string, now: string, mode?: string, deadlineMs?: number): Epic {
  return {
    ...(deadlineMs !== undefined ? { deadline: deadlineFrom(now, deadlineMs) } : {}),
    epic_id: epicId,
    title,
    ...(mode ? { mode } : {}),
    stage: firstStage,
    status: "in_progress",
    iteration: 1,
    iteration_base: 0,
    received: {},
    approvals: [],
    open_vetoes: [],
    veto_history: [],
    started_at: now,
    stage_entered_at: now,
    updated_at: now,
  };
}

/** A veto in veto_history: role:subject, and #<what it says> where the subject alone does not tell (a review's findings). */
export const vetoKey = (role: string, subject: string, same?: string): string => `${role}:${subject}${same ? `#${same}` : ""}`;

/** Vetoes from `role` raised in an earlier iteration are resolved when it approves now. */
export function resolvableBy(epic: Epic, role: string): Veto[] {
  return epic.open_vetoes.filter((v) => v.from === role && v.iteration < epic.iteration);
}

export function withArtifact(epic: Epic, file: string, sha256: string, role: string, now: string, spend?: Spend): Epic {
  const resolved = new Set(resolvableBy(epic, role));
  return {
    ...epic,
    ...(spend ? { spend: addSpend(epic.spend, spend) } : {}),
    received: { ...epic.received, [file]: sha256 },
    open_vetoes: epic.open_vetoes.filter((v) => !resolved.has(v)),
    updated_at: now,
  };
}

export function withApproval(epic: Epic, role: string, now: string): Epic {
  const resolved = new Set(resolvableBy(epic, role));
  return {
    ...epic,
    approvals: epic.approvals.includes(role) ? epic.approvals : [...epic.approvals, role],
    open_vetoes: epic.open_vetoes.filter((v) => !resolved.has(v)),
    updated_at: now,
  };
}

export function stageComplete(epic: Epic, stage: StageDef): boolean {
  return stage.artifacts.every((a) => epic.received[a] !== undefined) && approvalsMet(stage, epic.approvals);
}

export const blockingOpen = (epic: Epic): boolean => epic.open_vetoes.some((v) => v.blocking);

/** Would the stage be done — and may the epic leave it — after this update? */
export function mayAdvance(epic: Epic, stage: StageDef, pipeline: Pipeline): boolean {
  if (!stageComplete(epic, stage)) return false;
  const last = stage.index === pipeline.stages.length - 1;
  return !last || !blockingOpen(epic);
}

export function withVeto(epic: Epic, veto: Veto, now: string, same?: string, seen?: SeenVeto): Epic {
  return {
    ...withSeenVeto(epic, seen),
    open_vetoes: [...epic.open_vetoes, veto],
    veto_history: [...epic.veto_history, vetoKey(veto.from, veto.subject, same)],
    updated_at: now,
  };
}

/** The epic with a recorded veto remembered by what it says (so a copy of it is recognised). */
export function withSeenVeto(epic: Epic, seen: SeenVeto | undefined): Epic {
  return seen ? { ...epic, vetoes_seen: [...(epic.vetoes_seen ?? []), seen] } : epic;
}

/** The recorded veto a new one is a copy of, if any. */
export function copyOf(epic: Epic, key: string): SeenVeto | undefined {
  return epic.vetoes_seen?.find((v) => v.key === key);
}

export function enteredStage(epic: Epic, stage: string, now: string, deadlineMs?: number): Epic {
  // xstate's assign merges into the context, so a key is removed by setting it undefined (run() in
  // decide.ts drops such keys from the state it returns).
  return { ...epic, stage, status: "in_progress", received: {}, approvals: [], stage_entered_at: now, updated_at: now, deadline: deadlineMs !== undefined ? deadlineFrom(now, deadlineMs) : (undefined as never) };
}

/** The epic handed to a person: why, and at which stage. One rule for every escalation. */
export function withEscalation(epic: Epic, reason: string, detail: string, now: string): Epic {
  return { ...epic, status: "escalated", escalation: { reason, stage: epic.stage, detail }, updated_at: now };
}

export const deadlineFrom = (now: string, ms: number): { at: string; reminded: boolean } => ({ at: new Date(Date.parse(now) + ms).toISOString(), reminded: false });

/** Has the stage's deadline passed at `now`? */
export const deadlineDue = (epic: Epic, now: string): boolean => epic.deadline !== undefined && Date.parse(now) >= Date.parse(epic.deadline.at);

export type Spend = { cost_usd: number; tokens: number };

export function addSpend(a: Spend | undefined, b: Partial<Spend>): Spend {
  return { cost_usd: Math.round(((a?.cost_usd ?? 0) + (b.cost_usd ?? 0)) * 1e6) / 1e6, tokens: (a?.tokens ?? 0) + (b.tokens ?? 0) };
}

/** Which limits of the budget this spend is over (empty: within budget). */
export function overBudget(spend: Spend | undefined, budget: Pipeline["budget"]): Array<"cost_usd" | "tokens"> {
  if (!spend) return [];
  const out: Array<"cost_usd" | "tokens"> = [];
  if (budget.cost_usd !== undefined && spend.cost_usd > budget.cost_usd) out.push("cost_usd");
  if (budget.tokens !== undefined && spend.tokens > budget.tokens) out.push("tokens");
  return out;
}

/** What holds an in-progress epic at its stage: the owner's missing artifacts, the approvers not yet in
 *  (while the approval rule is unmet), and — once the stage is otherwise complete — its blocking vetoes. */
export interface Blockers {
  stage?: StageDef;
  missing: string[];
  pendingApprovers: string[];
  blockingVetoes: Veto[];
}

export function blockersOf(epic: Epic, pipeline: Pipeline): Blockers {
  const stage = pipelineOf(pipeline, epic).stage(epic.stage);
  if (!stage) return { missing: [], pendingApprovers: [], blockingVetoes: [] };
  const missing = stage.artifacts.filter((a) => epic.received[a] === undefined);
  const pendingApprovers = approvalsMet(stage, epic.approvals) ? [] : stage.approvers.filter((r) => !epic.approvals.includes(r));
  const complete = missing.length === 0 && approvalsMet(stage, epic.approvals);
  return { stage, missing, pendingApprovers, blockingVetoes: complete ? epic.open_vetoes.filter((v) => v.blocking) : [] };
}

/** The roles the epic waits for: the stage owner's missing artifacts, missing approvals, open vetoes. */
export function waitingFor(epic: Epic, pipeline: Pipeline): string[] {
  if (epic.status === "escalated") return ["person"];
  if (epic.status !== "in_progress") return [];
  const b = blockersOf(epic, pipeline);
  const out = new Set<string>();
  if (b.missing.length) out.add(b.stage!.owner);
  for (const r of b.pendingApprovers) out.add(r);
  for (const v of b.blockingVetoes) out.add(v.from);
  return [...out];
}

/** The pipeline an epic runs: its mode's, or the whole one (also when its mode is gone from the config). */
export function pipelineOf(pipeline: Pipeline, epic: Pick<Epic, "mode">): Pipeline {
  return (epic.mode !== undefined ? pipeline.forMode(epic.mode) : undefined) ?? pipeline;
}

/** Roles of the blocking vetoes in the order they were raised (veto_history holds role:subject). */
export function vetoRoles(epic: Epic): string[] {
  return epic.veto_history.map((k) => k.slice(0, k.indexOf(":")));
}

/** A and B vetoing in turn (A, B, A) over the last three blocking vetoes: rework that goes round in circles. */
export function circularWith(epic: Epic, role: string): string[] | undefined {
  return alternating([...vetoRoles(epic), role]);
}

/** The last three roles if they alternate (A, B, A). */
export function alternating(roles: string[]): string[] | undefined {
  const last = roles.slice(-3);
  return last.length === 3 && last[0] === last[2] && last[0] !== last[1] ? last : undefined;
}

/** Open vetoes no person may override (by the subject rules of the stage each was raised at). */
export function nonOverridableOpen(epic: Epic, pipeline: Pipeline): Veto[] {
  return epic.open_vetoes.filter((v) => pipeline.isNonOverridable(v.subject, v.stage));
}
