/** Where an epic stands, as `consensus status --json` prints it (and the MCP status tool returns it). Pure. */
import type { Pipeline } from "../config/resolve.js";
import { waitingFor } from "../machine/epic-context.js";
import { currentRejection } from "../machine/rejections.js";
import type { Epic } from "../schemas/types.gen.js";

export interface EpicStatus {
  epic_id: string;
  title: string;
  mode?: string;
  stage: string;
  status: Epic["status"];
  iteration: number;
  waiting_for: string[];
  open_vetoes: Array<{ from: string; subject: string; iteration: number; blocking: boolean; violation?: string }>;
  escalation?: Epic["escalation"];
  /** The latest rejected drop, while the epic is still at that stage and iteration (and the file was not accepted since). */
  last_rejection?: Epic["last_rejection"];
  /** What the epic's artifacts report spent, against the configured per-epic budget. */
  spend?: { cost_usd: number; tokens: number; budget?: { cost_usd?: number; tokens?: number } };
  deadline?: Epic["deadline"];
  updated_at: string;
}

export function statusOf(e: Epic, p: Pipeline | undefined): EpicStatus {
  return {
    epic_id: e.epic_id,
    title: e.title,
    ...(e.mode ? { mode: e.mode } : {}),
    stage: e.stage,
    status: e.status,
    iteration: e.iteration,
    waiting_for: p ? waitingFor(e, p) : [],
    open_vetoes: e.open_vetoes.map((v) => ({ from: v.from, subject: v.subject, iteration: v.iteration, blocking: v.blocking, ...(v.violation ? { violation: v.violation } : {}) })),
    ...(e.escalation ? { escalation: e.escalation } : {}),
    ...(currentRejection(e) ? { last_rejection: currentRejection(e) } : {}),
    ...(e.spend || (p && Object.keys(p.budget).length) ? { spend: { cost_usd: e.spend?.cost_usd ?? 0, tokens: e.spend?.tokens ?? 0, ...(p && Object.keys(p.budget).length ? { budget: { ...p.budget } } : {}) } } : {}),
    ...(e.deadline && e.status === "in_progress" ? { deadline: e.deadline } : {}),
    updated_at: e.updated_at,
  };
}

