/**
 * The runner, the shell around decide-run.ts: takes launch wants (from the engine's launch effects),
 * process exits, timeouts and due retries as inputs; decides each against the view; commits the
 * decision through the engine (the log is the commit point) and only then spawns, kills or schedules.
 * The daemon calls pump() from its loop, so the runner's commits never interleave with a batch.
 */
import type { ChildProcess } from "node:child_process";
import { appendFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Engine } from "../engine/engine.js";
import type { Logger } from "../daemon/logger.js";
import type { LaunchWant } from "../machine/effects.js";
import type { Layout } from "../store/fs/layout.js";
import { decideRun, jobOfInput, pendingAtStart, type LaunchPlan, type RunnerInput } from "./decide-run.js";
import { expandArg, findByLaunchId, isSameProcess, procStat, readPidFile, removePidFile, signalGroup, spawnAgent, writePidFile, type PidFile } from "./agent-process.js";

interface Proc {
  launch_id: string;
  job: string;
  pid?: number;
  child?: ChildProcess;
  startedMs: number;
  timers: NodeJS.Timeout[];
  done: boolean;
  exited: Promise<void>;
  markExited: () => void;
}

export interface RunnerOptions {
  engine: Engine;
  layout: Layout;
  log: Logger;
  /** Wakes the daemon loop so it calls pump(). */
  wake: () => void;
  clock?: () => Date;
  /** Several daemons on one store: whether another live daemon made this launch (then it is that daemon's to watch, not lost). */
  launchedElsewhere?: (launchId: string) => Promise<boolean>;
}

const POLL_MS = 250;

export class Runner {
  private inputs: RunnerInput[] = [];
  private queue: RunnerInput[] = [];
  private procs = new Map<string, Proc>();
  private timers = new Set<NodeJS.Timeout>();
  private stopping = false;
  private readonly clock: () => Date;
  private readonly project: string;

  constructor(private readonly o: RunnerOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.project = dirname(resolve(o.layout.root));
  }

  /** A launch effect (also re-run for entries after the last checkpoint: a known job is not relaunched). */
  want(w: LaunchWant): void {
    this.push({ type: "want", want: w });
  }

  get running(): number {
    return this.procs.size;
  }

  get hasWork(): boolean {
    return this.inputs.length > 0 || (this.queue.length > 0 && this.procs.size < this.o.engine.pipeline.runner.maxConcurrent);
  }

  /** At daemon start: the crash policy for launches with no exit, then whatever the view says is pending. */
  async start(): Promise<void> {
    const { inFlight, inputs, retries } = pendingAtStart(this.o.engine.state.agents, this.o.engine.world);
    for (const job of inFlight) {
      const id = job.running!.launch_id;
      if (await this.o.launchedElsewhere?.(id)) continue;
      const pf = (await readPidFile(this.o.layout.agentPids, id)) ?? findByLaunchId(id);
      if (pf && isSameProcess(pf)) {
        this.o.log.warn({ launch_id: id, pid: pf.pid }, "agent from before the restart still runs: waiting for it");
        this.adopt(job.id, pf, Date.parse(job.running!.started_at));
      } else {
        await removePidFile(this.o.layout.agentPids, id);
        this.push({ type: "relaunch", job: job.id, reason: "daemon_crashed" });
      }
    }
    for (const i of inputs) this.push(i);
    for (const r of retries) this.after(Math.max(0, Date.parse(r.at) - this.clock().getTime()), { type: "retry_due", job: r.job });
  }

  /** Decides and commits pending inputs, then acts; `rescan` processes an epic's pending drops (before an exit is judged). */
  async pump(rescan: (epicId: string) => Promise<void>): Promise<void> {
    for (;;) {
      if (!this.inputs.length && this.queue.length && this.procs.size < this.o.engine.pipeline.runner.maxConcurrent) this.inputs.push(this.queue.shift()!);
      const input = this.inputs.shift();
      if (!input) return;
      if (this.stopping && input.type !== "stopped") continue;
      if (input.type === "exited") {
        const job = this.o.engine.state.agents.jobs.get(input.job);
        if (job?.epic_id) await rescan(job.epic_id);
      }
      const engine = this.o.engine;
      // decided again if another writer changed the epic first (a store several daemons share)
      let d;
      try {
        d = await engine.decideAndCommit(() => decideRun({ world: engine.world, agents: engine.state.agents, running: this.procs.size, now: this.clock().toISOString() }, input));
      } catch (e) {
        // nothing was committed (the store failed): the input waits for the next pump
        this.inputs.unshift(input);
        throw e;
      }
      if (input.type === "exited" || input.type === "stopped") await removePidFile(this.o.layout.agentPids, input.launch_id);
      const a = d.action;
      if (a.type === "spawn") await this.spawn(a.plan);
      else if (a.type === "kill") this.kill(a.launch_id);
      else if (a.type === "schedule") this.after(a.delay_ms, { type: "retry_due", job: a.job });
      else if (a.type === "queue") {
        const job = jobOfInput(a.input);
        if (!this.queue.some((q) => jobOfInput(q) === job)) this.queue.push(a.input);
      } else this.o.log.debug({ input: input.type, why: a.why }, "runner: nothing to do");
    }
  }

  /** Daemon stop: SIGTERM each agent's group, SIGKILL after the grace, and log agent_stopped for each. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const procs = [...this.procs.values()];
    if (!procs.length) return;
    const grace = this.o.engine.pipeline.runner.killGraceMs;
    const stopped: RunnerInput[] = [];
    await Promise.all(
      procs.map(async (p) => {
        const signal = await this.terminate(p, grace);
        stopped.push({ type: "stopped", job: p.job, launch_id: p.launch_id, signal, duration_ms: Date.now() - p.startedMs });
      }),
    );
    this.inputs = stopped;
    await this.pump(async () => {});
  }

  private async spawn(plan: LaunchPlan): Promise<void> {
    const root = resolve(this.o.layout.root);
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...plan.env,
      CONSENSUS_ROOT: root,
      CONSENSUS_ROLE: plan.role,
      CONSENSUS_AGENT: plan.agent,
      CONSENSUS_PROMPT: join(this.project, plan.prompt),
      CONSENSUS_LAUNCH_ID: plan.launch_id,
      CONSENSUS_ATTEMPT: String(plan.attempt),
      ...(plan.epic_id ? { CONSENSUS_EPIC: plan.epic_id } : {}),
      ...(plan.iteration ? { CONSENSUS_ITERATION: String(plan.iteration) } : {}),
      ...(plan.stage ? { CONSENSUS_STAGE: plan.stage } : {}),
      ...(plan.notice ? { CONSENSUS_NOTICE: join(root, plan.notice) } : {}),
      ...(plan.on ? { CONSENSUS_TRIGGER: plan.on, CONSENSUS_TRIGGER_SEQ: String(plan.trigger_seq) } : {}),
    };
    const p = this.track(plan.launch_id, plan.job, Date.now());
    let child: ChildProcess;
    try {
      child = spawnAgent({ ...(plan.argv ? { argv: plan.argv.map((x) => expandArg(x, env)) } : { shell: plan.shell! }), cwd: join(this.project, plan.cwd), env, output: join(root, plan.output) });
    } catch (e) {
      this.finish(p, { code: 127, signal: null, reason: `could not start: ${(e as Error).message}` });
      return;
    }
    p.child = child;
    child.once("error", (e) => {
      // the output log says it too, for whoever opens it first
      appendFile(join(root, plan.output), `consensus: could not start ${plan.argv?.[0] ?? "/bin/sh"}: ${e.message}\n`).catch(() => {});
      this.finish(p, { code: 127, signal: null, reason: `could not start: ${e.message}` });
    });
    child.once("exit", (code, signal) => this.finish(p, { code, signal }));
    if (child.pid !== undefined) {
      p.pid = child.pid;
      const pf: PidFile = { launch_id: plan.launch_id, pid: child.pid, started_at: new Date(p.startedMs).toISOString() };
      const st = procStat(child.pid);
      if (st) pf.start_time = st.startTime;
      await writePidFile(this.o.layout.agentPids, pf);
      this.o.log.info({ launch_id: plan.launch_id, pid: child.pid }, "agent started");
    }
    this.armTimeout(p, plan.timeout_ms);
  }

  /** A process from before a restart: not our child, so no exit status; watched by polling. */
  private adopt(job: string, pf: PidFile, startedMs: number): void {
    const p = this.track(pf.launch_id, job, Number.isFinite(startedMs) ? startedMs : Date.now());
    p.pid = pf.pid;
    const poll = setInterval(() => {
      if (!isSameProcess(pf)) this.finish(p, { code: null, signal: null, reason: "exit status unknown: the daemon restarted while the agent ran" });
    }, POLL_MS);
    p.timers.push(poll as unknown as NodeJS.Timeout);
    const spec = this.o.engine.pipeline.agents.get(this.o.engine.state.agents.jobs.get(job)?.agent ?? "");
    if (spec) this.armTimeout(p, Math.max(0, p.startedMs + spec.timeoutMs - Date.now()));
  }

  private track(launchId: string, job: string, startedMs: number): Proc {
    let markExited!: () => void;
    const exited = new Promise<void>((r) => (markExited = r));
    const p: Proc = { launch_id: launchId, job, startedMs, timers: [], done: false, exited, markExited };
    this.procs.set(launchId, p);
    return p;
  }

  private armTimeout(p: Proc, ms: number): void {
    const t = setTimeout(() => this.push({ type: "timed_out", job: p.job, launch_id: p.launch_id, timeout_ms: ms }), ms);
    p.timers.push(t);
  }

  private finish(p: Proc, x: { code: number | null; signal: string | null; reason?: string }): void {
    if (p.done) return;
    p.done = true;
    for (const t of p.timers) (clearTimeout(t), clearInterval(t));
    this.procs.delete(p.launch_id);
    p.markExited();
    if (this.stopping) return;
    this.push({ type: "exited", job: p.job, launch_id: p.launch_id, code: x.code, signal: x.signal, duration_ms: Date.now() - p.startedMs, ...(x.reason ? { reason: x.reason } : {}) });
  }

  /** A timeout: the attempt's exit is judged when it comes (its exit event, or adopt()'s poll). */
  private kill(launchId: string): void {
    const p = this.procs.get(launchId);
    if (p) void this.terminate(p, this.o.engine.pipeline.runner.killGraceMs);
  }

  /** SIGTERM the group, wait up to the grace, SIGKILL; returns the last signal sent. */
  private async terminate(p: Proc, graceMs: number): Promise<string | null> {
    if (!p.pid) return null;
    signalGroup(p.pid, "SIGTERM");
    // p.exited resolves on the child's exit event, or (adopted) when adopt()'s poll sees it gone
    const within = async (ms: number): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const gone = await Promise.race([p.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
      clearTimeout(timer);
      return gone;
    };
    if (await within(graceMs)) return "SIGTERM";
    signalGroup(p.pid, "SIGKILL");
    await within(1000);
    return "SIGKILL";
  }

  private after(ms: number, input: RunnerInput): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.push(input);
    }, ms);
    this.timers.add(t);
  }

  private push(i: RunnerInput): void {
    this.inputs.push(i);
    this.o.wake();
  }
}
