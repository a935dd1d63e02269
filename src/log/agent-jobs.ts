/**
 * What the runner needs to know, folded from decision-log entries alone (so a restarted daemon sees
 * every launch it already made): the last stage entry of each epic, and each agent job — one per
 * trigger entry and agent — with its launches, exits, retries and outcome. Pure.
 */
import type { LogEntry } from "../schemas/types.gen.js";

export interface StageEntry {
  /** Seq of the epic_started / stage_advanced entry: the trigger of the stage's launch. */
  seq: number;
  stage: string;
  iteration: number;
  /** A rework (the entry has a reason): its notice is named …-rework_requested.yaml. */
  rework?: boolean;
}

/** Which agent a job runs, and for what: shared by the job, the launch wanted and the launch planned. */
export interface JobTarget {
  agent: string;
  role: string;
  kind: "stage" | "trigger";
  trigger_seq: number;
  epic_id?: string;
  iteration?: number;
  stage?: string;
}

export type JobStatus = "queued" | "running" | "exited" | "retry_scheduled" | "stopped" | "done" | "stale" | "failed";

export interface RunningLaunch {
  launch_id: string;
  started_at: string;
  /** This launch replaced one lost in a daemon crash: a second loss escalates. */
  crash_relaunch: boolean;
  timed_out?: boolean;
}

export interface AgentJob extends JobTarget {
  /** `<trigger seq, 8 digits>-<agent>`: deterministic, so a re-run effect finds the job. */
  id: string;
  status: JobStatus;
  /** Retry attempt of the latest launch: 1 for the first; relaunches after a crash or stop keep it. */
  attempt: number;
  /** Launches made so far (launch ids end in this number). */
  launches: number;
  running?: RunningLaunch;
  last_launch_id?: string;
  retry_at?: string;
  /** The notice the stage's launch answers (absolute path is derived by the shell). */
  notice?: string;
}

export interface AgentView {
  stageEntries: Map<string, StageEntry>;
  jobs: Map<string, AgentJob>;
}

export const emptyAgentView = (): AgentView => ({ stageEntries: new Map(), jobs: new Map() });

const pad = (n: number): string => String(n).padStart(8, "0");
/** An epic_started / stage_advanced entry with a reason is a rework (a veto sent the epic back). */
export const isRework = (details: Record<string, unknown> | undefined): boolean => typeof details?.reason === "string";
export const jobIdOf = (triggerSeq: number, agent: string): string => `${pad(triggerSeq)}-${agent}`;
export const launchIdOf = (job: string, n: number): string => `${job}-${n}`;

type D = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

export function applyAgentEntry(v: AgentView, e: LogEntry): void {
  const d = (e.details ?? {}) as D;
  if ((e.decision === "epic_started" || e.decision === "stage_advanced") && e.epic_id && e.seq !== undefined && typeof d.to === "string") {
    v.stageEntries.set(e.epic_id, { seq: e.seq, stage: d.to, iteration: e.iteration ?? 1, ...(isRework(d) ? { rework: true } : {}) });
    return;
  }
  if (!e.decision.startsWith("agent_")) return;
  const id = str(d.job);
  if (!id) return;
  let job = v.jobs.get(id);
  if (!job) {
    const agent = str(d.agent);
    const trigger = num(d.trigger_seq);
    if (!agent || trigger === undefined) return;
    job = {
      id,
      agent,
      role: str(d.role) ?? agent,
      kind: d.kind === "trigger" ? "trigger" : "stage",
      trigger_seq: trigger,
      ...(e.epic_id ? { epic_id: e.epic_id } : {}),
      ...(e.iteration ? { iteration: e.iteration } : {}),
      ...(str(d.stage) ? { stage: str(d.stage)! } : {}),
      ...(str(d.notice) ? { notice: str(d.notice)! } : {}),
      status: "queued",
      attempt: 0,
      launches: 0,
    };
    v.jobs.set(id, job);
  }
  switch (e.decision) {
    case "agent_launched":
      job.status = "running";
      job.attempt = num(d.attempt) ?? job.attempt + 1;
      job.launches = Math.max(job.launches, num(d.n) ?? job.launches + 1);
      job.running = { launch_id: str(d.launch_id)!, started_at: e.timestamp, crash_relaunch: d.crash_relaunch === true };
      job.last_launch_id = str(d.launch_id);
      delete job.retry_at;
      break;
    case "agent_timed_out":
      if (job.running) job.running.timed_out = true;
      break;
    case "agent_exited":
      delete job.running;
      job.status = d.verdict === "ok" ? "done" : "exited";
      break;
    case "agent_stopped":
      delete job.running;
      job.status = "stopped";
      break;
    case "agent_retry_scheduled":
      job.status = "retry_scheduled";
      if (str(d.retry_at)) job.retry_at = str(d.retry_at)!;
      break;
    case "agent_launch_stale":
      delete job.running;
      job.status = "stale";
      break;
    case "agent_gave_up":
      delete job.running;
      job.status = "failed";
      break;
  }
}

/** Jobs a checkpoint must keep: unfinished ones, and those of a stage entry still current. */
export function liveJobs(v: AgentView): AgentJob[] {
  // a job's epic's current stage entry, looked up (not a set of every epic's built per call: a
  // checkpoint at 1,120 epics made ~350 KiB of strings for it, issue 17.3)
  return [...v.jobs.values()].filter((j) => !["done", "stale", "failed"].includes(j.status) || (j.epic_id !== undefined && v.stageEntries.get(j.epic_id)?.seq === j.trigger_seq));
}

/** The agent view as a checkpoint stores it (finished jobs of past stage entries left out). */
export interface AgentViewJson {
  stage_entries: Record<string, StageEntry>;
  jobs: AgentJob[];
}

export const agentViewToJson = (v: AgentView): AgentViewJson => ({ stage_entries: Object.fromEntries(v.stageEntries), jobs: liveJobs(v) });

export const agentViewFromJson = (j: AgentViewJson): AgentView => ({ stageEntries: new Map(Object.entries(j.stage_entries)), jobs: new Map(j.jobs.map((x) => [x.id, x])) });
