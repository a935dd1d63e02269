import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_YAML } from "../../src/config/default-config.js";
import { parseConfig } from "../../src/config/pipeline.js";
import { DEFAULT_TIMEOUT_MS } from "../../src/config/agents.js";
import { agentViewFromJson, agentViewToJson } from "../../src/log/agent-jobs.js";
import { applyEntry } from "../../src/log/replay.js";
import { effectsOf, type LaunchWant } from "../../src/machine/effects.js";
import { backoffOf, decideRun, pendingAtStart, type RunnerDecision, type RunnerInput } from "../../src/runner/decide-run.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";
import { Harness, variant } from "../support/pipeline.js";

const AGENTS = `
agents:
  planner: { command: [node, planner.mjs], retries: 2, backoff_ms: 100, timeout: 10s }
  developer: { shell: "dev-agent --go", retries: 0 }
  fixer: { command: [fixer] }
runner:
  max_concurrent: 2
`;

function pipelineWith(extra = AGENTS, base = DEFAULT_CONFIG_YAML) {
  const { pipeline, issues } = parseConfig(base + extra);
  if (!pipeline) throw new Error(issues.map((i) => `${i.path} ${i.message}`).join("; "));
  return pipeline;
}

class RunHarness extends Harness {
  running = 0;
  constructor(base?: string, agents = AGENTS) {
    super(pipelineWith(agents, base));
  }
  /** The launch wants the entries from `from` on yield (as the engine's effects would). */
  wants(from = 0): LaunchWant[] {
    return this.log.slice(from).flatMap((e) => effectsOf(e, this.p).flatMap((fx) => (fx.type === "launch" ? [fx.want] : [])));
  }
  run(input: RunnerInput, secrets: string[] = []): RunnerDecision {
    const d = decideRun({ world: this.world, agents: this.view.agents, running: this.running, now: "2026-11-21T11:00:00.000Z", secrets }, input);
    d.drafts.forEach((draft, i) => {
      const entry: LogEntry = { seq: this.view.seq + 1, timestamp: "2026-11-21T11:00:00.000Z", agent: "orchestrator", decision: draft.decision, details: draft.details };
      if (draft.epic_id) entry.epic_id = draft.epic_id;
      if (draft.iteration) entry.iteration = draft.iteration;
      if (i === d.drafts.length - 1 && d.epic) entry.state = d.epic;
      this.log.push(entry);
      applyEntry(this.view, entry);
    });
    this.world.reset(this.view);
    return d;
  }
}

function started(base?: string): { h: RunHarness; want: LaunchWant } {
  const h = new RunHarness(base);
  h.apply({ type: "start", epic_id: "EP-001", title: "Health", by: "alice" });
  const [want] = h.wants();
  return { h, want: want! };
}

const exited = (h: RunHarness, code: number | null, signal: string | null = null): RunnerInput => {
  const job = [...h.view.agents.jobs.values()].find((j) => j.status === "running")!;
  return { type: "exited", job: job.id, launch_id: job.running!.launch_id, code, signal, duration_ms: 5 };
};

describe("runner decisions", () => {
  it("launches the owner's agent on stage entry, once, with the notice and a per-epic output log", () => {
    const { h, want } = started();
    expect(want).toMatchObject({ job: "00000001-planner", agent: "planner", kind: "stage", epic_id: "EP-001", iteration: 1, stage: "plan", notice: "messages/inbox/planner/notice-00000001-EP-001-stage_entered.yaml" });
    const d = h.run({ type: "want", want });
    expect(d.drafts.map((x) => x.decision)).toEqual(["agent_launched"]);
    expect(d.action).toMatchObject({ type: "spawn", plan: { launch_id: "00000001-planner-1", argv: ["node", "planner.mjs"], output: "logs/agents/EP-001/1/planner-1.log", timeout_ms: 10_000, attempt: 1 } });
    // the effect re-run after a crash finds the job: no second launch
    expect(h.run({ type: "want", want }).drafts).toEqual([]);
  });

  it("a role without agents.<role> gets no launch effect", () => {
    const { h } = started();
    h.artifact("plan.json");
    h.artifact("implementation.json");
    expect(h.wants().filter((w) => w.stage === "review")).toEqual([]);
  });

  it("logs a launch whose epic has moved on as stale instead of starting it", () => {
    const { h, want } = started();
    h.artifact("plan.json");
    const d = h.run({ type: "want", want });
    expect(d.drafts.map((x) => x.decision)).toEqual(["agent_launch_stale"]);
    expect(d.action.type).toBe("none");
    expect(h.view.agents.jobs.get(want.job)?.status).toBe("stale");
  });

  it("retries an exit 0 without the artifact with exponential backoff, then escalates the epic", () => {
    const { h, want } = started();
    h.run({ type: "want", want });
    const delays: number[] = [];
    for (let i = 0; i < 2; i++) {
      const d = h.run(exited(h, 0));
      expect(d.drafts.map((x) => x.decision)).toEqual(["agent_exited", "agent_retry_scheduled"]);
      expect(d.drafts[0]!.details.verdict).toBe("no_artifact");
      if (d.action.type === "schedule") delays.push(d.action.delay_ms);
      const r = h.run({ type: "retry_due", job: want.job });
      expect(r.action).toMatchObject({ type: "spawn", plan: { attempt: i + 2, n: i + 2 } });
    }
    expect(delays).toEqual([100, 200]);
    const last = h.run(exited(h, 0));
    expect(last.drafts.map((x) => x.decision)).toEqual(["agent_exited", "agent_gave_up", "escalated"]);
    expect(last.drafts[2]!.details).toMatchObject({ reason: "agent_no_artifact", attempts: 3, agent: "planner" });
    expect(h.epic()).toMatchObject({ status: "escalated", escalation: { reason: "agent_no_artifact", stage: "plan" } });
  });

  it("a non-zero exit is a failure; with retries: 0 it escalates at once as agent_failed", () => {
    const { h } = started();
    h.artifact("plan.json");
    const want = h.wants().find((w) => w.agent === "developer")!;
    expect(h.run({ type: "want", want }).action).toMatchObject({ type: "spawn", plan: { shell: "dev-agent --go" } });
    const d = h.run(exited(h, 3));
    expect(d.drafts.map((x) => x.decision)).toEqual(["agent_exited", "agent_gave_up", "escalated"]);
    expect(h.epic().escalation?.reason).toBe("agent_failed");
  });

  it("an exit after the stage moved on is ok, whatever the code", () => {
    const { h, want } = started();
    h.run({ type: "want", want });
    h.artifact("plan.json");
    const d = h.run(exited(h, 1));
    expect(d.drafts[0]!.details.verdict).toBe("ok");
    expect(d.drafts).toHaveLength(1);
  });

  it("a timed-out attempt is killed, then counted as a failure", () => {
    const { h, want } = started();
    h.run({ type: "want", want });
    const job = h.view.agents.jobs.get(want.job)!;
    const t = h.run({ type: "timed_out", job: job.id, launch_id: job.running!.launch_id, timeout_ms: 10_000 });
    expect(t.drafts.map((x) => x.decision)).toEqual(["agent_timed_out"]);
    expect(t.action).toEqual({ type: "kill", launch_id: "00000001-planner-1" });
    const d = h.run(exited(h, null, "SIGTERM"));
    expect(d.drafts.map((x) => [x.decision, x.details.verdict ?? x.details.reason])).toEqual([["agent_exited", "timed_out"], ["agent_retry_scheduled", "timed_out"]]);
  });

  it("crash policy: a lost launch is relaunched once (same attempt), a second loss escalates", () => {
    const { h, want } = started();
    h.run({ type: "want", want });
    const start = pendingAtStart(h.view.agents, h.world);
    expect(start.inFlight.map((j) => j.id)).toEqual([want.job]);
    const r = h.run({ type: "relaunch", job: want.job, reason: "daemon_crashed" });
    expect(r.drafts.map((x) => x.decision)).toEqual(["agent_relaunched", "agent_launched"]);
    expect(r.action).toMatchObject({ type: "spawn", plan: { launch_id: "00000001-planner-2", attempt: 1, crash_relaunch: true } });
    const again = h.run({ type: "relaunch", job: want.job, reason: "daemon_crashed" });
    expect(again.drafts.map((x) => x.decision)).toEqual(["agent_exited", "agent_gave_up", "escalated"]);
    expect(h.epic().escalation?.reason).toBe("agent_lost");
  });

  it("a relaunch lost in a crash after its stage's work was done is done: not relaunched, not escalated (agent_lost)", () => {
    const { h, want } = started();
    h.run({ type: "want", want });
    h.run({ type: "relaunch", job: want.job, reason: "daemon_crashed" });
    // the relaunched planner drops its plan; the daemon dies again before it sees the exit
    h.artifact("plan.json");
    const again = h.run({ type: "relaunch", job: want.job, reason: "daemon_crashed" });
    expect(again.drafts.map((x) => [x.decision, x.details.verdict])).toEqual([["agent_exited", "ok"]]);
    expect(again.action.type).toBe("none");
    expect(h.epic()).toMatchObject({ status: "in_progress", stage: "implementation" });
    expect(h.view.agents.jobs.get(want.job)?.status).toBe("done");
    // the same on a first loss: a done launch is not relaunched either
    const first = started();
    first.h.run({ type: "want", want: first.want });
    first.h.artifact("plan.json");
    expect(first.h.run({ type: "relaunch", job: first.want.job, reason: "daemon_crashed" }).drafts.map((x) => [x.decision, x.details.verdict])).toEqual([["agent_exited", "ok"]]);
  });

  it("logs argv and shell lines with secrets redacted; the plan keeps them whole", () => {
    const h = new RunHarness(undefined, `
agents:
  planner: { command: [tool, --api-key, k-1234567890, "--header=Bearer vault-value-1"], env: { GITHUB_TOKEN: "ghx-config-secret" } }
  developer: { shell: "DB_PASSWORD=hunter22 tool --token ghx-config-secret --name dev" }
`);
    h.apply({ type: "start", epic_id: "EP-001", title: "Health", by: "alice" });
    const d = h.run({ type: "want", want: h.wants()[0]! }, ["vault-value-1"]);
    expect(d.drafts[0]!.details.argv).toEqual(["tool", "--api-key", "[redacted]", "--header=Bearer [redacted]"]);
    expect(d.action).toMatchObject({ type: "spawn", plan: { argv: ["tool", "--api-key", "k-1234567890", "--header=Bearer vault-value-1"] } });
    h.artifact("plan.json");
    const dev = h.run({ type: "want", want: h.wants().find((w) => w.agent === "developer")! }, ["ghx-config-secret"]);
    expect(dev.drafts[0]!.details.shell).toBe("DB_PASSWORD=[redacted] tool --token [redacted] --name dev");
  });

  it("a launch stopped with the daemon is relaunched at the next start, not counted as a retry", () => {
    const { h, want } = started();
    h.run({ type: "want", want });
    const job = h.view.agents.jobs.get(want.job)!;
    h.run({ type: "stopped", job: job.id, launch_id: job.running!.launch_id, signal: "SIGTERM", duration_ms: 3 });
    const start = pendingAtStart(h.view.agents, h.world);
    expect(start.inputs).toEqual([{ type: "relaunch", job: want.job, reason: "daemon_stopped" }]);
    const r = h.run(start.inputs[0]!);
    expect(r.action).toMatchObject({ type: "spawn", plan: { n: 2, attempt: 1, crash_relaunch: false } });
  });

  it("beyond max_concurrent a stage launch waits in a queue re-derivable from the view", () => {
    const { h, want } = started();
    h.running = 2;
    const d = h.run({ type: "want", want });
    expect(d.drafts).toEqual([]);
    expect(d.action.type).toBe("queue");
    const again = pendingAtStart(h.view.agents, h.world);
    expect(again.inputs).toEqual([{ type: "want", want }]);
  });

  it("a retry or a relaunch that finds no free slot waits in the queue as itself, and spawns once dequeued", () => {
    const { h, want } = started();
    h.run({ type: "want", want });
    h.run(exited(h, 0));
    expect(h.view.agents.jobs.get(want.job)?.status).toBe("retry_scheduled");
    h.running = 2;
    const retry = h.run({ type: "retry_due", job: want.job });
    expect(retry.drafts).toEqual([]);
    expect(retry.action).toEqual({ type: "queue", input: { type: "retry_due", job: want.job } });
    h.running = 1;
    if (retry.action.type !== "queue") throw new Error("not queued");
    expect(h.run(retry.action.input).action).toMatchObject({ type: "spawn", plan: { launch_id: "00000001-planner-2", attempt: 2, n: 2 } });
    // the daemon crashed while it ran and max_concurrent is taken by adopted agents
    h.running = 2;
    const relaunch = h.run({ type: "relaunch", job: want.job, reason: "daemon_crashed" });
    expect(relaunch.drafts).toEqual([]);
    expect(relaunch.action).toEqual({ type: "queue", input: { type: "relaunch", job: want.job, reason: "daemon_crashed" } });
    h.running = 1;
    if (relaunch.action.type !== "queue") throw new Error("not queued");
    const d = h.run(relaunch.action.input);
    expect(d.drafts.map((x) => x.decision)).toEqual(["agent_relaunched", "agent_launched"]);
    expect(d.action).toMatchObject({ type: "spawn", plan: { launch_id: "00000001-planner-3", attempt: 2, crash_relaunch: true } });
  });

  it("an agent that gives up escalates the epic as the escalate command does, in the epic's current iteration", () => {
    const { h, want } = started();
    h.run({ type: "want", want });
    for (let i = 0; i < 2; i++) {
      h.run(exited(h, 2));
      h.run({ type: "retry_due", job: want.job });
    }
    const d = h.run(exited(h, 2));
    expect(d.drafts.map((x) => [x.decision, x.iteration])).toEqual([["agent_exited", 1], ["agent_gave_up", 1], ["escalated", 1]]);
    expect(d.drafts[2]!.details).toMatchObject({ reason: "agent_failed", stage: "plan", attempts: 3, last_code: 2, launch_id: "00000001-planner-3" });
    expect(d.epic).toMatchObject({ status: "escalated", escalation: { reason: "agent_failed" } });
    // an epic no longer open is not escalated again: the job just gives up
    const again = started();
    again.h.run({ type: "want", want: again.want });
    again.h.apply({ type: "cancel", epic_id: "EP-001", reason: "dropped", by: "alice" });
    expect(again.h.run({ type: "relaunch", job: again.want.job, reason: "daemon_crashed" }).action.type).toBe("none");
  });

  it("a finished launch survives a checkpoint while its stage entry is current: re-running the launch effect launches nothing", () => {
    const { h, want } = started(variant("    artifacts: [plan.json]\n", "    artifacts: [plan.json]\n    approvers: { roles: [quality] }\n"));
    h.run({ type: "want", want });
    h.artifact("plan.json");
    expect(h.epic().stage).toBe("plan"); // waiting for quality's approval
    expect(h.run(exited(h, 0)).drafts[0]!.details.verdict).toBe("ok");
    const checkpointed = (): void => {
      h.view.agents = agentViewFromJson(JSON.parse(JSON.stringify(agentViewToJson(h.view.agents))));
      h.world.reset(h.view);
    };
    checkpointed();
    expect(h.view.agents.jobs.get(want.job)).toMatchObject({ status: "done", launches: 1 });
    expect(pendingAtStart(h.view.agents, h.world).inputs).toEqual([]);
    const rerun = h.run({ type: "want", want });
    expect(rerun.drafts).toEqual([]);
    expect(rerun.action.type).toBe("none");
    expect(h.log.filter((e) => e.decision === "agent_launched")).toHaveLength(1);
    // once the epic has moved on, the finished job of the past stage entry is left out of the checkpoint
    h.message("quality", "planner", "approve");
    expect(h.epic().stage).toBe("implementation");
    checkpointed();
    expect(h.view.agents.jobs.has(want.job)).toBe(false);
    expect(h.run({ type: "want", want }).drafts.map((x) => x.decision)).toEqual(["agent_launch_stale"]);
  });

  it("triggers launch a named agent on a matching entry; a queued trigger launch is logged", () => {
    const { h } = started();
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.artifact("review.json", { doc: { review_status: "approved", findings: [] } });
    const from = h.log.length;
    h.veto("devops", "quality", "not_production_ready");
    const triggers = [{ agent: "fixer", role: "devops", on: "veto_recorded", stage: "deployment", from: "devops" }];
    const wants = h.log.slice(from).flatMap((e) => effectsOf(e, h.p, triggers)).filter((fx) => fx.type === "launch");
    const fixer = wants.map((fx) => (fx.type === "launch" ? fx.want : undefined)).find((w) => w?.agent === "fixer")!;
    expect(fixer).toMatchObject({ kind: "trigger", on: "veto_recorded", stage: "deployment", epic_id: "EP-001" });
    expect(effectsOf(h.log.at(-1)!, h.p, [{ ...triggers[0]!, from: "quality" }]).some((fx) => fx.type === "launch" && fx.want.agent === "fixer")).toBe(false);
    h.running = 2;
    expect(h.run({ type: "want", want: fixer }).drafts.map((x) => x.decision)).toEqual(["agent_queued"]);
    expect(pendingAtStart(h.view.agents, h.world).inputs).toContainEqual({ type: "want", want: expect.objectContaining({ job: fixer.job }) });
    h.running = 0;
    expect(h.run({ type: "want", want: fixer }).action).toMatchObject({ type: "spawn", plan: { agent: "fixer", role: "devops", on: "veto_recorded" } });
  });

  it("backoff doubles per attempt", () => {
    expect([1, 2, 3, 4].map((a) => backoffOf({ backoffMs: 250 }, a))).toEqual([250, 500, 1000, 2000]);
  });
});

describe("agents config", () => {
  it("reads timeout as any other duration of the config: ms, or a number with s, m, h or d; 30m when not given", () => {
    const timeouts = (...ts: unknown[]): number[] => {
      const agents = ts.map((t, i) => `  a${i}: ${JSON.stringify({ command: ["x"], ...(t === undefined ? {} : { timeout: t }) })}\n`).join("");
      const p = pipelineWith(`\nagents:\n${agents}`);
      return ts.map((_, i) => p.agents.get(`a${i}`)!.timeoutMs);
    };
    expect(timeouts(500, "30s", "10m", "2h", "1.5d", undefined)).toEqual([500, 30_000, 600_000, 7_200_000, 129_600_000, DEFAULT_TIMEOUT_MS]);
    expect(DEFAULT_TIMEOUT_MS).toBe(1_800_000);
    for (const bad of ["soon", "500ms", 0]) expect(parseConfig(DEFAULT_CONFIG_YAML + `\nagents:\n  planner: { command: [a], timeout: ${JSON.stringify(bad)} }\n`).issues[0]?.path).toBe("/agents/planner/timeout");
  });

  it("says what is wrong when command and shell are both given, or neither", () => {
    const both = parseConfig(DEFAULT_CONFIG_YAML + `\nagents:\n  planner: { command: [a], shell: "b" }\n  developer: { cwd: sub }\n`);
    expect(both.pipeline).toBeUndefined();
    expect(both.issues.map((i) => [i.code, i.path])).toEqual([["CONFIG_INVALID", "/agents/planner"], ["CONFIG_INVALID", "/agents/developer"]]);
    expect(both.issues[0]!.fix).toMatch(/remove the other/);
  });

  it("refuses a cwd that leaves the project and bad field types", () => {
    const r = parseConfig(DEFAULT_CONFIG_YAML + `\nagents:\n  planner: { command: [a], cwd: ../x }\n`);
    expect(r.issues.map((i) => i.path)).toEqual(["/agents/planner/cwd"]);
    const t = parseConfig(DEFAULT_CONFIG_YAML + `\nagents:\n  planner: { command: [a], timeout: soon }\n`);
    expect(t.issues[0]?.path).toBe("/agents/planner/timeout");
  });
});
