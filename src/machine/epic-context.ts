/**
 * Pure updates of an epic's state (the machine's context) and the questions the machine's guards ask
 * of it. Kept apart from the machine definition so each rule is one small function with a test.
 */
import type { Pipeline, StageDef } from "../config/pipeline.js";
import type { Epic, Veto } from "../schemas/types.gen.js";

export function newEpic(epicId: string, title: string, firstStage: string, now: string): Epic {
  return {
    epic_id: epicId,
    title,
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

export const vetoKey = (role: string, subject: string): string => `${role}:${subject}`;

/** Vetoes from `role` raised in an earlier iteration are resolved when it approves now. */
export function resolvableBy(epic: Epic, role: string): Veto[] {
  return epic.open_vetoes.filter((v) => v.from === role && v.iteration < epic.iteration);
}

export function withArtifact(epic: Epic, file: string, sha256: string, role: string, now: string): Epic {
  const resolved = new Set(resolvableBy(epic, role));
  return {
    ...epic,
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
  return stage.artifacts.every((a) => epic.received[a] !== undefined) && stage.approvers.filter((r) => epic.approvals.includes(r)).length >= stage.quorum;
}

export const blockingOpen = (epic: Epic): boolean => epic.open_vetoes.some((v) => v.blocking);

/** Would the stage be done — and may the epic leave it — after this update? */
export function mayAdvance(epic: Epic, stage: StageDef, pipeline: Pipeline): boolean {
  if (!stageComplete(epic, stage)) return false;
  const last = stage.index === pipeline.stages.length - 1;
  return !last || !blockingOpen(epic);
}

export function withVeto(epic: Epic, veto: Veto, now: string): Epic {
  return {
    ...epic,
    open_vetoes: [...epic.open_vetoes, veto],
    veto_history: [...epic.veto_history, vetoKey(veto.from, veto.subject)],
    updated_at: now,
  };
}

export function enteredStage(epic: Epic, stage: string, now: string): Epic {
  return { ...epic, stage, status: "in_progress", received: {}, approvals: [], stage_entered_at: now, updated_at: now };
}

/** The roles the epic waits for: the stage owner's missing artifacts, missing approvals, open vetoes. */
export function waitingFor(epic: Epic, pipeline: Pipeline): string[] {
  if (epic.status === "escalated") return ["person"];
  if (epic.status !== "in_progress") return [];
  const stage = pipeline.stage(epic.stage);
  const out = new Set<string>();
  if (stage) {
    if (stage.artifacts.some((a) => epic.received[a] === undefined)) out.add(stage.owner);
    const approved = stage.approvers.filter((r) => epic.approvals.includes(r)).length;
    if (approved < stage.quorum) for (const r of stage.approvers) if (!epic.approvals.includes(r)) out.add(r);
    if (stageComplete(epic, stage)) for (const v of epic.open_vetoes) if (v.blocking) out.add(v.from);
  }
  return [...out];
}
