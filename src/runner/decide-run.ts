/**
 * The runner's decisions, as log-entry drafts plus what to do after they are durable. Pure: the view
 * (epics, stage entries, agent jobs), the config and the time come in as arguments. The shell
 * (runner.ts) commits the drafts through the engine and only then spawns, kills or schedules.
 *
 * Policies (docs/agents.md):
 * - a launch happens only while its epic is still at the stage and iteration that asked for it, else
 *   it is logged stale; a job (trigger entry × agent) is launched once, relaunched only as below;
 * - an attempt fails on a non-zero exit, a timeout, or (stage agents) an exit while the stage still
 *   lacks its artifacts; failures are retried `retries` times, `backoff_ms × 2^(attempt-1)` apart,
 *   then the epic is escalated (agent_failed / agent_no_artifact);
 * - after a daemon crash a launch whose process is gone is judged like an exit first: if its stage's
 *   work is done (the epic moved on, or every artifact is in) it is done; otherwise it is relaunched
 *   once, and a relaunch lost again escalates (agent_lost). Launches stopped by a clean daemon stop
 *   are relaunched at the next start, not counted as a retry;
 * - argv and `shell:` are logged with secrets redacted (src/config/secrets.ts); the plan keeps them whole.
 */
import type { AgentSpec } from "../config/agents.js";
import { redactArgv, redactShell } from "../config/secrets.js";
import type { Pipeline } from "../config/pipeline.js";
import { jobIdOf, launchIdOf, type AgentJob, type AgentView, type JobTarget } from "../log/agent-jobs.js";
import { decide, type Draft, type World } from "../machine/decide.js";
import { stageLaunchWant, type LaunchWant } from "../machine/effects.js";
import type { Epic } from "../schemas/types.gen.js";

export type RunnerInput =
  | { type: "want"; want: LaunchWant }
  | { type: "exited"; job: string; launch_id: string; code: number | null; signal: string | null; duration_ms: number; reason?: string }
  | { type: "timed_out"; job: string; launch_id: string; timeout_ms: number }
  | { type: "stopped"; job: string; launch_id: string; signal: string | null; duration_ms: number }
  | { type: "retry_due"; job: string }
  /** At start: the job's launch has no exit entry. alive: its process still runs (same start time). */
  | { type: "relaunch"; job: string; reason: "daemon_crashed" | "daemon_stopped" };

/** A launch as decided: everything the shell needs, with paths relative (cwd/prompt to the project folder, output/notice to the root). */
export interface LaunchPlan extends JobTarget {
  launch_id: string;
  job: string;
  n: number;
  attempt: number;
  notice?: string;
  on?: string;
  argv?: string[];
  shell?: string;
  cwd: string;
  env: Record<string, string>;
  prompt: string;
  output: string;
  timeout_ms: number;
  crash_relaunch: boolean;
  /** OS user and group (names or ids) to run as; the shell resolves them. */
  user?: string;
  group?: string;
  /** Names (or PREFIX*) of the daemon's environment the agent gets. */
  env_allow: readonly string[];
  max_output_bytes: number;
  max_processes: number;
}

export type RunnerAction =
  | { type: "spawn"; plan: LaunchPlan }
  /** Stop the attempt's process group (timeout): SIGTERM, SIGKILL after the grace. */
  | { type: "kill"; launch_id: string }
  | { type: "schedule"; job: string; delay_ms: number }
  /** No free slot: wait in the queue (re-derivable from the view: see pendingAtStart). */
  | { type: "queue"; input: RunnerInput }
  | { type: "none"; why: string };

export interface RunnerDecision {
  drafts: Draft[];
  /** The epic's state after an escalation. */
  epic?: Epic;
  action: RunnerAction;
}

export interface RunnerContext {
  world: World;
  agents: AgentView;
  /** Attempts running now (this daemon's children and processes it waits for). */
  running: number;
  now: string;
  /** Secret values to keep out of the log (the daemon's and the agents' environments: secretValuesOf). */
  secrets?: readonly string[];
}

/** The job an input is about: the queue holds at most one input per job. */
export const jobOfInput = (i: RunnerInput): string => (i.type === "want" ? i.want.job : i.job);

const none = (why: string): RunnerDecision => ({ drafts: [], action: { type: "none", why } });

/** Output of attempt n of a job: logs/agents/<EPIC>/<iteration>/<agent>-<n>.log (relative to the root). */
export const outputOf = (p: { epic_id?: string; iteration?: number; agent: string; n: number; trigger_seq: number }): string =>
  p.epic_id ? `logs/agents/${p.epic_id}/${p.iteration ?? 1}/${p.agent}-${p.n}.log` : `logs/agents/_/${p.trigger_seq}/${p.agent}-${p.n}.log`;

export const backoffOf = (spec: Pick<AgentSpec, "backoffMs">, attempt: number): number => spec.backoffMs * 2 ** Math.max(0, attempt - 1);

export function decideRun(ctx: RunnerContext, input: RunnerInput): RunnerDecision {
  const pipeline = ctx.world.pipeline;
  switch (input.type) {
    case "want": {
      const w = input.want;
      const job = ctx.agents.jobs.get(w.job);
      if (job && job.status !== "queued") return none(`job ${w.job} is already ${job.status}`);
      return launch(ctx, pipeline, w, input, { attempt: 1, n: 1, crash_relaunch: false, queuedBefore: job !== undefined });
    }
    case "retry_due": {
      const job = ctx.agents.jobs.get(input.job);
      if (!job || job.status !== "retry_scheduled") return none(`job ${input.job} has no retry scheduled`);
      return launch(ctx, pipeline, wantOf(job), input, { attempt: job.attempt + 1, n: job.launches + 1, crash_relaunch: false, queuedBefore: true });
    }
    case "relaunch": {
      const job = ctx.agents.jobs.get(input.job);
      if (!job || (job.status !== "running" && job.status !== "stopped")) return none(`job ${input.job} is not waiting for a relaunch`);
      const previous = job.last_launch_id ?? launchIdOf(job.id, job.launches);
      // lost in a crash after its work was done: done, neither relaunched nor escalated
      if (input.reason === "daemon_crashed" && job.kind === "stage" && verdictOf(ctx, job, { code: null, signal: null }) === "ok") {
        return { drafts: [{ decision: "agent_exited", ...where(job), details: { job: job.id, launch_id: previous, code: null, signal: null, verdict: "ok", reason: "the daemon restarted and the process is gone; its stage's work is done" } }], action: { type: "none", why: "done" } };
      }
      if (input.reason === "daemon_crashed" && job.running?.crash_relaunch) {
        return giveUp(ctx, job, "agent_lost", `launch ${previous} was lost in a daemon crash after it had been relaunched for one`, { launch_id: previous, attempts: job.attempt }, [
          { decision: "agent_exited", ...where(job), details: { job: job.id, launch_id: previous, code: null, signal: null, verdict: "lost", reason: "the daemon restarted and the process is gone" } },
        ]);
      }
      const d = launch(ctx, pipeline, wantOf(job), input, { attempt: Math.max(1, job.attempt), n: job.launches + 1, crash_relaunch: input.reason === "daemon_crashed", queuedBefore: true });
      if (d.action.type !== "spawn") return d;
      const reason = input.reason === "daemon_crashed" ? "the daemon restarted and the process is gone (relaunched once)" : "the daemon was stopped while it ran (relaunched, not counted as a retry)";
      return { ...d, drafts: [{ decision: "agent_relaunched", ...where(job), details: { job: job.id, previous, launch_id: d.action.plan.launch_id, reason } }, ...d.drafts] };
    }
    case "timed_out": {
      const job = ctx.agents.jobs.get(input.job);
      if (!job?.running || job.running.launch_id !== input.launch_id) return none(`launch ${input.launch_id} is not running`);
      return { drafts: [{ decision: "agent_timed_out", ...where(job), details: { job: job.id, launch_id: input.launch_id, timeout_ms: input.timeout_ms } }], action: { type: "kill", launch_id: input.launch_id } };
    }
    case "stopped": {
      const job = ctx.agents.jobs.get(input.job);
      if (!job?.running || job.running.launch_id !== input.launch_id) return none(`launch ${input.launch_id} is not running`);
      return { drafts: [{ decision: "agent_stopped", ...where(job), details: { job: job.id, launch_id: input.launch_id, signal: input.signal, duration_ms: input.duration_ms, reason: "the daemon is stopping; relaunched at its next start" } }], action: { type: "none", why: "stopped" } };
    }
    case "exited":
      return decideExit(ctx, input);
  }
}

/** Judges an exit (after the shell rescanned the epic's folder, so a file dropped just before exit counts). */
function decideExit(ctx: RunnerContext, x: Extract<RunnerInput, { type: "exited" }>): RunnerDecision {
  const job = ctx.agents.jobs.get(x.job);
  if (!job?.running || job.running.launch_id !== x.launch_id) return none(`launch ${x.launch_id} is not running`);
  const spec = ctx.world.pipeline.agents.get(job.agent);
  const exit: Draft = { decision: "agent_exited", ...where(job), details: { job: job.id, launch_id: x.launch_id, code: x.code, signal: x.signal, duration_ms: x.duration_ms, ...(x.reason ? { reason: x.reason } : {}) } };
  const verdict = verdictOf(ctx, job, x);
  exit.details.verdict = verdict;
  if (verdict === "ok") return { drafts: [exit], action: { type: "none", why: "done" } };
  const retries = spec?.retries ?? 0;
  if (spec && job.attempt <= retries && stillWanted(ctx, job)) {
    const delay = backoffOf(spec, job.attempt);
    const retryAt = new Date(Date.parse(ctx.now) + delay).toISOString();
    return {
      drafts: [exit, { decision: "agent_retry_scheduled", ...where(job), details: { job: job.id, after: x.launch_id, reason: verdict, attempt: job.attempt + 1, of: retries + 1, delay_ms: delay, retry_at: retryAt } }],
      action: { type: "schedule", job: job.id, delay_ms: delay },
    };
  }
  const reason = verdict === "no_artifact" ? "agent_no_artifact" : "agent_failed";
  const what = verdict === "no_artifact" ? `exited ${x.code ?? "(status unknown)"} without the stage's artifacts` : verdict === "timed_out" ? "timed out" : `exited with ${x.code ?? x.signal}`;
  return giveUp(ctx, job, reason, `agent ${job.agent} ${what} on each of ${job.attempt} attempt(s)`, { agent: job.agent, attempts: job.attempt, last_code: x.code, last_signal: x.signal, launch_id: x.launch_id }, [exit]);
}

type Verdict = "ok" | "failed" | "timed_out" | "no_artifact";

function verdictOf(ctx: RunnerContext, job: AgentJob, x: { code: number | null; signal: string | null }): Verdict {
  if (job.kind === "trigger") return job.running?.timed_out ? "timed_out" : x.code === 0 || (x.code === null && x.signal === null) ? "ok" : "failed";
  // A stage agent is judged by the stage: once the epic has left this stage entry, the work is done.
  if (!stillWanted(ctx, job)) return "ok";
  const epic = ctx.world.epic(job.epic_id!)!;
  const stage = ctx.world.pipeline.stage(epic.stage);
  const allIn = stage ? stage.artifacts.every((a) => epic.received[a] !== undefined) : true;
  if (allIn) return "ok"; // waiting for approvals or another role's veto, not for this agent
  if (job.running?.timed_out) return "timed_out";
  return x.code === 0 || x.code === null ? "no_artifact" : "failed";
}

/** The epic is still at the stage entry that asked for this job (stage agents), or still open (trigger agents). */
function stillWanted(ctx: RunnerContext, job: Pick<AgentJob, "kind" | "epic_id" | "trigger_seq" | "stage" | "iteration">): boolean {
  if (!job.epic_id) return true;
  const epic = ctx.world.epic(job.epic_id);
  if (!epic) return false;
  if (job.kind === "trigger") return epic.status === "in_progress" || epic.status === "escalated";
  const entry = ctx.agents.stageEntries.get(job.epic_id);
  return epic.status === "in_progress" && epic.stage === job.stage && epic.iteration === job.iteration && entry?.seq === job.trigger_seq;
}

/** The job's last attempt failed: log it, and escalate the epic of a stage job as any escalate command would. */
function giveUp(ctx: RunnerContext, job: AgentJob, reason: string, detail: string, figures: Record<string, unknown>, first: Draft[]): RunnerDecision {
  const drafts: Draft[] = [...first, { decision: "agent_gave_up", ...where(job), details: { job: job.id, reason, detail } }];
  const action: RunnerAction = { type: "none", why: reason };
  if (job.kind !== "stage" || !job.epic_id) return { drafts, action };
  const d = decide(ctx.world, { type: "escalate", epic_id: job.epic_id, reason, detail, by: "orchestrator", data: figures }, ctx.now);
  // refused: the epic is no longer open (or not known), so there is nothing to escalate
  if (d.kind !== "commit") return { drafts, action };
  return { drafts: [...drafts, ...d.drafts], ...(d.epic ? { epic: d.epic } : {}), action };
}

/** `input` is what asked for the launch: with no free slot it waits in the queue as itself, to be decided again. */
function launch(ctx: RunnerContext, pipeline: Pipeline, w: LaunchWant, input: RunnerInput, o: { attempt: number; n: number; crash_relaunch: boolean; queuedBefore: boolean }): RunnerDecision {
  const spec = pipeline.agents.get(w.agent);
  const stale = (reason: string): RunnerDecision => ({ drafts: [{ decision: "agent_launch_stale", ...where(w), details: { ...jobDetails(w), reason } }], action: { type: "none", why: reason } });
  if (!spec) return stale(`agents.${w.agent} is not configured any more`);
  if (!stillWanted(ctx, w)) {
    const epic = w.epic_id ? ctx.world.epic(w.epic_id) : undefined;
    return stale(epic ? `epic ${epic.epic_id} is now ${epic.status} at ${epic.stage}, iteration ${epic.iteration}; the launch was for ${w.stage ?? "-"}, iteration ${w.iteration ?? "-"}` : `epic ${w.epic_id} is not known`);
  }
  if (ctx.running >= pipeline.runner.maxConcurrent) {
    const queue: RunnerAction = { type: "queue", input };
    // A stage launch is re-derivable from the stage entry; a trigger's is kept in the log.
    if (w.kind === "trigger" && !o.queuedBefore) return { drafts: [{ decision: "agent_queued", ...where(w), details: { ...jobDetails(w), running: ctx.running, max_concurrent: pipeline.runner.maxConcurrent } }], action: queue };
    return { drafts: [], action: queue };
  }
  const launchId = launchIdOf(w.job, o.n);
  const plan: LaunchPlan = {
    launch_id: launchId,
    job: w.job,
    agent: w.agent,
    role: w.role,
    kind: w.kind,
    n: o.n,
    attempt: o.attempt,
    trigger_seq: w.trigger_seq,
    ...(w.epic_id ? { epic_id: w.epic_id } : {}),
    ...(w.iteration ? { iteration: w.iteration } : {}),
    ...(w.stage ? { stage: w.stage } : {}),
    ...(w.notice ? { notice: w.notice } : {}),
    ...(w.on ? { on: w.on } : {}),
    ...(spec.command ? { argv: [...spec.command] } : { shell: spec.shell! }),
    cwd: spec.cwd,
    env: { ...spec.env },
    prompt: spec.prompt,
    output: outputOf({ ...w, n: o.n }),
    timeout_ms: spec.timeoutMs,
    crash_relaunch: o.crash_relaunch,
    ...(spec.user !== undefined ? { user: spec.user } : {}),
    ...(spec.group !== undefined ? { group: spec.group } : {}),
    env_allow: spec.envAllow,
    max_output_bytes: spec.maxOutputBytes,
    max_processes: spec.maxProcesses,
  };
  const secrets = ctx.secrets ?? [];
  const details: Record<string, unknown> = {
    ...jobDetails(w),
    launch_id: launchId,
    n: o.n,
    attempt: o.attempt,
    ...(plan.argv ? { argv: redactArgv(plan.argv, secrets) } : { shell: redactShell(plan.shell!, secrets, pipeline.security.redact) }),
    ...(plan.user !== undefined ? { user: plan.user } : {}),
    ...(plan.group !== undefined ? { group: plan.group } : {}),
    cwd: plan.cwd || ".",
    output: plan.output,
    prompt: plan.prompt,
    timeout_ms: plan.timeout_ms,
    ...(o.crash_relaunch ? { crash_relaunch: true } : {}),
  };
  return { drafts: [{ decision: "agent_launched", ...where(w), details }], action: { type: "spawn", plan } };
}

function jobDetails(w: LaunchWant): Record<string, unknown> {
  return { job: w.job, agent: w.agent, role: w.role, kind: w.kind, trigger_seq: w.trigger_seq, ...(w.stage ? { stage: w.stage } : {}), ...(w.notice ? { notice: w.notice } : {}), ...(w.on ? { on: w.on } : {}) };
}

const where = (j: { epic_id?: string; iteration?: number }): { epic_id?: string; iteration?: number } => ({ ...(j.epic_id ? { epic_id: j.epic_id } : {}), ...(j.iteration ? { iteration: j.iteration } : {}) });

export function wantOf(job: AgentJob): LaunchWant {
  return {
    job: job.id,
    agent: job.agent,
    role: job.role,
    kind: job.kind,
    trigger_seq: job.trigger_seq,
    ...where(job),
    ...(job.stage ? { stage: job.stage } : {}),
    ...(job.notice ? { notice: job.notice } : {}),
  };
}

/**
 * What a starting daemon has to do, from the view alone: launches without an exit (the shell checks
 * whether each process still runs), relaunches of stopped ones, retries still due, queued trigger
 * jobs, and stage entries whose agent was never launched (the queue, re-derived).
 */
export function pendingAtStart(agents: AgentView, world: World): { inFlight: AgentJob[]; inputs: RunnerInput[]; retries: Array<{ job: string; at: string }> } {
  const inFlight: AgentJob[] = [];
  const inputs: RunnerInput[] = [];
  const retries: Array<{ job: string; at: string }> = [];
  for (const job of agents.jobs.values()) {
    if (job.status === "running") inFlight.push(job);
    else if (job.status === "stopped") inputs.push({ type: "relaunch", job: job.id, reason: "daemon_stopped" });
    else if (job.status === "retry_scheduled") retries.push({ job: job.id, at: job.retry_at ?? "1970-01-01T00:00:00.000Z" });
    else if (job.status === "queued") inputs.push({ type: "want", want: wantOf(job) });
  }
  const pipeline = world.pipeline;
  for (const [epicId, entry] of [...agents.stageEntries].sort((a, b) => a[1].seq - b[1].seq)) {
    const epic = world.epic(epicId);
    if (!epic || epic.status !== "in_progress" || epic.stage !== entry.stage || epic.iteration !== entry.iteration) continue;
    const stage = pipeline.stage(entry.stage);
    if (!stage || !pipeline.agents.has(stage.owner)) continue;
    if (agents.jobs.has(jobIdOf(entry.seq, stage.owner))) continue;
    inputs.push({ type: "want", want: stageLaunchWant(epicId, entry, stage.owner) });
  }
  return { inFlight, inputs, retries };
}
