/**
 * The runner, the shell around decide-run.ts: takes launch wants (from the engine's launch effects),
 * process exits, timeouts and due retries as inputs; decides each against the view; commits the
 * decision through the engine (the log is the commit point) and only then spawns, kills or schedules.
 * The daemon calls pump() from its loop, so the runner's commits never interleave with a batch.
 */
import type { ChildProcess } from "node:child_process";
import { appendFileSync, closeSync, statSync } from "node:fs";
import { appendFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Engine } from "../engine/engine.js";
import type { Logger } from "../daemon/logger.js";
import type { Issue } from "../errors/issue.js";
import { secretValuesOf } from "../config/secrets.js";
import type { LaunchWant } from "../machine/effects.js";
import type { Layout } from "../store/fs/layout.js";
import { decideRun, jobOfInput, outputOf, pendingAtStart, type LaunchPlan, type RunnerInput } from "./decide-run.js";
import { agentMembers, expandArg, findAgent, openAgentLog, isSameProcess, procStat, readPidFile, removePidFile, resolveProgram, signalGroup, spawnAgent, whyNotOurAgent, writePidFile, type LaunchIdentity, type PidFile } from "./agent-process.js";
import { Cage, detectCgroup, signalPid, type CgroupDetection } from "./cgroup.js";
import { AGENT_UMASK, giveDropZones, reportDropZones } from "./drop-zones.js";
import { agentEnvironment } from "./environment.js";
import type { Keyring } from "../trust/keyring.js";
import { noticeKeysEnv } from "../trust/notice-mac.js";
import { noticeFileOf } from "./notice-file.js";
import { issueToken } from "../trust/token.js";
import { cannotSwitchTo, resolveAccount, type Account } from "./os-users.js";
import { tasksOfUid } from "./procfs.js";

interface Proc {
  launch_id: string;
  job: string;
  /** Who the agent must be before anything signals a process that is not our child. */
  who: LaunchIdentity;
  pid?: number;
  /** The leader's /proc start time, as verified (adopted) or read after our spawn. */
  startTime?: string;
  child?: ChildProcess;
  cage?: Cage;
  /** The output log and its cap: an exit with the log at the cap says so. */
  output?: { path: string; maxBytes: number };
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
  /** The daemon keyring: each launch gets a token and its role's notice keys from it (issue 15). */
  keys?: () => Keyring | undefined;
  /** What must be decided before a stage agent's exit is judged (the file daemon's drops); none: judged at once. */
  exitGate?: ExitGate;
}

/**
 * Before a stage agent's exit is judged, what it left must be decided: its artifacts, and a message it
 * sent (a veto to another role is an answer as good as the artifacts). The file daemon implements it.
 */
export interface ExitGate {
  /**
   * Reads what the agent left for the epic (its drops, whose writer has closed them) and returns the
   * paths of messages still to be decided (settling, or written since `sinceMs`, ms since the epoch,
   * and not yet read): the exit waits for them.
   */
  beforeExit(epicId: string, sinceMs: number): Promise<string[]>;
  /** Which of these paths are still to be decided. */
  undecided(paths: readonly string[]): string[];
}

/**
 * An exit waiting for messages to be decided; judged once they are, or at `untilMs` whatever they are.
 * Also a launch found gone at start (`relaunch`, daemon_crashed): its exit was lost with the daemon
 * (a stop while the exit was held, or a crash), and what it sent is judged first the same way, or it
 * would be relaunched, its veto sent a second time, and a second loss escalate the epic.
 */
interface HeldExit {
  input: Extract<RunnerInput, { type: "exited" } | { type: "relaunch" }>;
  paths: string[];
  untilMs: number;
}

const POLL_MS = 250;

export class Runner {
  private inputs: RunnerInput[] = [];
  private queue: RunnerInput[] = [];
  private procs = new Map<string, Proc>();
  private timers = new Set<NodeJS.Timeout>();
  /** Exits waiting for the messages their agents may have sent to be decided (ExitGate). */
  private held: HeldExit[] = [];
  private stopping = false;
  private readonly clock: () => Date;
  private readonly project: string;

  private readonly root: string;
  /** Where launches get cgroups (detected at start). */
  private cgroup: CgroupDetection = { why: "not detected yet" };
  /** prlimit(1) on the daemon's PATH: the limits are applied through it. */
  private prlimit: string | undefined;

  constructor(private readonly o: RunnerOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.root = resolve(o.layout.root);
    this.project = dirname(this.root);
  }

  /** A launch effect (also re-run for entries after the last checkpoint: a known job is not relaunched). */
  want(w: LaunchWant): void {
    this.push({ type: "want", want: w });
  }

  get running(): number {
    return this.procs.size;
  }

  get hasWork(): boolean {
    return this.inputs.length > 0 || (this.queue.length > 0 && this.procs.size < this.o.engine.pipeline.runner.maxConcurrent) || this.released().length > 0;
  }

  /** Held exits whose messages are decided, or that waited as long as they may. */
  private released(): HeldExit[] {
    if (!this.held.length) return [];
    const now = Date.now();
    return this.held.filter((h) => now >= h.untilMs || !this.o.exitGate?.undecided(h.paths).length);
  }

  /**
   * A stage agent's exit: what it dropped is read first (its writer has closed it); a message it may
   * have sent that is still settling holds the exit until it is decided (a veto moves the epic on,
   * and the exit is then ok, where judged before it the agent had "left no artifacts"), at most
   * 4 × settle_ms (≥ 2 s), then the exit is judged as things are. True: held.
   */
  private async holdExit(input: HeldExit["input"]): Promise<boolean> {
    const gate = this.o.exitGate;
    const job = this.o.engine.state.agents.jobs.get(input.job);
    if (!gate || job?.kind !== "stage" || !job.epic_id) return false;
    // the launch's own time (its entry), not now less the run: an exit that waited in the queue would move it later
    const startedMs = Date.parse(job.running?.started_at ?? "");
    if (Number.isNaN(startedMs)) return false;
    // since the launch, with a second for coarse file times
    const paths = await gate.beforeExit(job.epic_id, startedMs - 1000);
    if (!paths.length) return false;
    const waitMs = Math.max(2000, 4 * this.o.engine.pipeline.settleMs);
    this.held.push({ input, paths, untilMs: Date.now() + waitMs });
    const t = setTimeout(() => (this.timers.delete(t), this.o.wake()), waitMs);
    this.timers.add(t);
    this.o.log.debug({ job: input.job, ...(input.type === "exited" ? { launch_id: input.launch_id } : {}), messages: paths }, `${input.type === "exited" ? "agent exited" : "agent gone since before the restart"}: its exit is judged once these messages are decided`);
    return true;
  }

  /** At daemon start: the crash policy for launches with no exit, then whatever the view says is pending. */
  async start(): Promise<void> {
    this.cgroup = detectCgroup(this.o.engine.pipeline.runner.cgroup);
    try {
      this.prlimit = resolveProgram("prlimit", process.env.PATH, "/");
    } catch {
      this.prlimit = undefined;
    }
    this.o.log.info({ cgroup: this.cgroup.home?.base ?? null, prlimit: this.prlimit ?? null }, `agents: ${this.cgroup.home ? "one cgroup each" : "session and /proc walk"} (${this.cgroup.why}); limits ${this.prlimit ? "through prlimit" : "not applied: prlimit (util-linux) is not on PATH"}`);
    const { inFlight, inputs, retries } = pendingAtStart(this.o.engine.state.agents, this.o.engine.world);
    for (const job of inFlight) {
      const id = job.running!.launch_id;
      if (await this.o.launchedElsewhere?.(id)) continue;
      const who: LaunchIdentity = { launch_id: id, root: this.root, launchedAtMs: Date.parse(job.running!.started_at) };
      // the pid file is a hint: what it names must prove to be this launch's agent (agent-process.ts)
      let pf = await readPidFile(this.o.layout.agentPids, id);
      const why = pf ? whyNotOurAgent(pf.pid, who, pf.start_time) : undefined;
      if (pf && why) this.o.log.warn({ launch_id: id, pid: pf.pid, why }, "the pid file does not name this launch's agent: not trusted, nothing is signalled");
      if (!pf || why) pf = findAgent(who);
      if (pf) {
        this.o.log.warn({ launch_id: id, pid: pf.pid }, "agent from before the restart still runs: waiting for it");
        this.adopt(job.id, { ...pf, start_time: pf.start_time ?? procStat(pf.pid)?.startTime }, who);
      } else {
        // gone: what it started and left running goes too, before it is relaunched
        this.sweep({ launch_id: id, who, ...(this.cgroup.home ? { cage: Cage.find(this.cgroup.home, this.root, id) } : {}) });
        await removePidFile(this.o.layout.agentPids, id);
        this.push({ type: "relaunch", job: job.id, reason: "daemon_crashed" });
      }
    }
    for (const i of inputs) this.push(i);
    for (const r of retries) this.after(Math.max(0, Date.parse(r.at) - this.clock().getTime()), { type: "retry_due", job: r.job });
  }

  /** Decides and commits pending inputs, then acts; an exit is judged once what its agent left is decided (ExitGate). */
  async pump(): Promise<void> {
    if (this.emptying.size) await this.removeEmptied();
    const released = this.released();
    if (released.length) {
      this.held = this.held.filter((h) => !released.includes(h));
      for (const h of released) this.inputs.unshift(h.input);
    }
    for (;;) {
      if (!this.inputs.length && this.queue.length && this.procs.size < this.o.engine.pipeline.runner.maxConcurrent) this.inputs.push(this.queue.shift()!);
      const input = this.inputs.shift();
      if (!input) return;
      if (this.stopping && input.type !== "stopped") continue;
      const judged = input.type === "exited" || (input.type === "relaunch" && input.reason === "daemon_crashed");
      if (judged && !released.some((h) => h.input === input) && (await this.holdExit(input))) continue;
      const engine = this.o.engine;
      // decided again if another writer changed the epic first (a store several daemons share)
      let d;
      try {
        d = await engine.decideAndCommit(() => decideRun({ world: engine.world, agents: engine.state.agents, running: this.procs.size, now: this.clock().toISOString(), secrets: this.secrets() }, input));
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
    await this.pump();
    await this.removeEmptied(2000);
  }

  /** Values kept out of the log: the daemon's and every agent's environment variables named like secrets (or listed in security.redact). */
  private secrets(): string[] {
    const p = this.o.engine.pipeline;
    return secretValuesOf([process.env, ...[...p.agents.values()].map((a) => a.env)], p.security.redact);
  }

  private async spawn(plan: LaunchPlan): Promise<void> {
    const root = this.root;
    // only the daemon's own notice file: never a name another user holds (notice-file.ts)
    const notice = plan.notice ? noticeFileOf(root, plan.notice, this.o.keys?.()?.keysForFile() ?? []) : undefined;
    if (notice && notice.path === undefined) this.o.log.warn({ launch_id: plan.launch_id, agent: plan.agent, notice: plan.notice, fix: notice.fix }, `launch ${plan.launch_id}: ${notice.reason}`);
    const launch: Record<string, string> = {
      CONSENSUS_ROOT: root,
      CONSENSUS_ROLE: plan.role,
      CONSENSUS_AGENT: plan.agent,
      CONSENSUS_PROMPT: join(this.project, plan.prompt),
      CONSENSUS_LAUNCH_ID: plan.launch_id,
      CONSENSUS_ATTEMPT: String(plan.attempt),
      ...(plan.epic_id ? { CONSENSUS_EPIC: plan.epic_id } : {}),
      ...(plan.iteration ? { CONSENSUS_ITERATION: String(plan.iteration) } : {}),
      ...(plan.stage ? { CONSENSUS_STAGE: plan.stage } : {}),
      ...(notice?.path !== undefined ? { CONSENSUS_NOTICE: notice.path } : {}),
      ...(plan.on ? { CONSENSUS_TRIGGER: plan.on, CONSENSUS_TRIGGER_SEQ: String(plan.trigger_seq) } : {}),
      ...this.credentials(plan),
    };
    const p = this.track(plan.launch_id, plan.job, Date.now(), { launch_id: plan.launch_id, root, launchedAtMs: Date.now() });
    const output = join(root, plan.output);
    p.output = { path: output, maxBytes: plan.max_output_bytes };
    const refuse = (reason: string): void => {
      // the output log says it too, for whoever opens it first
      try {
        const fd = openAgentLog(output, root);
        try {
          appendFileSync(fd, `consensus: ${reason}\n`);
        } finally {
          closeSync(fd);
        }
      } catch {
        /* a link where the log goes: refused (the launch entry says why anyway) */
      }
      this.finish(p, { code: 127, signal: null, reason });
    };
    const acct = this.accountOf(plan);
    if (acct && "code" in acct) return refuse(`could not start: ${acct.message}. ${acct.fix}`);
    this.giveDropZones(plan.epic_id);
    const env = agentEnvironment({ daemon: process.env, allow: plan.env_allow, env: plan.env, ...(acct && plan.user !== undefined ? { account: acct } : {}), launch });
    const home = this.cgroup.home;
    let cage: Cage | undefined;
    if (home) {
      try {
        cage = Cage.create(home, root, plan.launch_id, plan.max_processes);
      } catch (e) {
        this.o.log.warn({ launch_id: plan.launch_id, err: e }, "could not make the agent's cgroup: it runs without one (session and /proc walk)");
      }
    }
    // RLIMIT_NPROC counts every task of the user: the cap is what the user runs now plus the agent's share
    const uid = acct?.uid ?? process.getuid?.() ?? 0;
    const processes = cage && home?.pids ? undefined : uid === 0 ? undefined : tasksOfUid(uid) + plan.max_processes;
    let child: ChildProcess;
    try {
      const spawned = spawnAgent({
        argv: plan.argv ? plan.argv.map((x) => expandArg(x, env)) : ["/bin/sh", "-c", plan.shell!],
        cwd: join(this.project, plan.cwd),
        env,
        output,
        root,
        ...(acct ? { uid: acct.uid, gid: acct.gid } : {}),
        // files the agent makes are not group-writable: another agent of the group cannot rewrite them
        // under this agent's uid (the owner proof, transports/prove.ts)
        ...(this.o.engine.pipeline.security.agentsGroup !== undefined || acct ? { umask: AGENT_UMASK } : {}),
        ...(this.prlimit ? { prlimit: this.prlimit } : {}),
        limits: { fileBytes: plan.max_output_bytes, ...(processes !== undefined ? { processes } : {}) },
        gate: cage !== undefined,
      });
      child = spawned.child;
      if (cage && child.pid !== undefined) {
        try {
          cage.enter(child.pid);
          p.cage = cage;
        } catch (e) {
          this.o.log.warn({ launch_id: plan.launch_id, err: e }, "could not move the agent into its cgroup: it runs without one (session and /proc walk)");
          cage.remove();
        }
      }
      spawned.release();
    } catch (e) {
      cage?.remove();
      return refuse(`could not start ${plan.argv?.[0] ?? "/bin/sh"}: ${(e as Error).message}`);
    }
    p.child = child;
    child.once("error", (e) => refuse(`could not start ${plan.argv?.[0] ?? "/bin/sh"}: ${e.message}`));
    child.once("exit", (code, signal) => this.finish(p, { code, signal }));
    // armed before the first await: an agent that exits while its pid file is written (two fsyncs)
    // is finished by then, and a timer armed after finish() would hold the daemon's exit for timeout_ms
    this.armTimeout(p, plan.timeout_ms);
    if (child.pid !== undefined) {
      p.pid = child.pid;
      const pf: PidFile = { launch_id: plan.launch_id, pid: child.pid, started_at: new Date(p.startedMs).toISOString() };
      const st = procStat(child.pid);
      if (st) pf.start_time = p.startTime = st.startTime;
      await writePidFile(this.o.layout.agentPids, pf);
      this.o.log.info({ launch_id: plan.launch_id, pid: child.pid, ...(acct ? { uid: acct.uid, gid: acct.gid } : {}), cgroup: p.cage?.path ?? null }, "agent started");
    }
  }

  /**
   * CONSENSUS_TOKEN (scoped to the launch's role, epic and iteration, valid for its timeout plus the
   * kill grace) and CONSENSUS_NOTICE_KEY (its role's notice keys). Derived from the daemon key, so
   * nothing is stored per launch; never logged (the agent_launched entry names neither).
   */
  private credentials(plan: LaunchPlan): Record<string, string> {
    const ring = this.o.keys?.();
    if (!ring) return {};
    const keys = ring.keysForFile();
    const now = this.clock().getTime();
    const out: Record<string, string> = { CONSENSUS_NOTICE_KEY: noticeKeysEnv(keys, plan.role, now) };
    if (plan.epic_id && plan.iteration) {
      const expires_at = new Date(now + plan.timeout_ms + this.o.engine.pipeline.runner.killGraceMs).toISOString();
      out.CONSENSUS_TOKEN = issueToken(keys.at(-1)!, { v: 1, role: plan.role, epic_id: plan.epic_id, iteration: plan.iteration, expires_at, launch: plan.launch_id });
    }
    return out;
  }

  /** The user and group a launch runs as (undefined: the daemon's own), or why it cannot. */
  private accountOf(plan: LaunchPlan): Account | Issue | undefined {
    const acct = resolveAccount(plan.agent, plan.user, plan.group);
    if (!acct || "code" in acct) return acct;
    return cannotSwitchTo(plan.agent, acct) ?? acct;
  }

  /** With security.agents_group: the drop zones (and the epic's artifacts folder) are the group's before the agent runs. */
  private giveDropZones(epicId: string | undefined): void {
    reportDropZones(giveDropZones(this.o.layout, this.o.engine.pipeline, epicId ? [epicId] : []), this.o.log);
  }

  /** A process from before a restart, proven to be the launch's agent: not our child, so no exit status; watched by polling. */
  private adopt(job: string, pf: PidFile, who: LaunchIdentity): void {
    const p = this.track(pf.launch_id, job, Number.isFinite(who.launchedAtMs) ? who.launchedAtMs : Date.now(), who);
    p.pid = pf.pid;
    if (pf.start_time !== undefined) p.startTime = pf.start_time;
    const cage = Cage.of(pf.pid, this.cgroup.home, this.root, pf.launch_id);
    if (cage) p.cage = cage;
    const j = this.o.engine.state.agents.jobs.get(job);
    const spec = this.o.engine.pipeline.agents.get(j?.agent ?? "");
    if (j && spec) p.output = { path: join(this.root, outputOf({ ...j, n: j.launches })), maxBytes: spec.maxOutputBytes };
    const poll = setInterval(() => {
      if (!isSameProcess({ pid: pf.pid, start_time: p.startTime })) this.finish(p, { code: null, signal: null, reason: "exit status unknown: the daemon restarted while the agent ran" });
    }, POLL_MS);
    p.timers.push(poll as unknown as NodeJS.Timeout);
    if (spec) this.armTimeout(p, Math.max(0, p.startedMs + spec.timeoutMs - Date.now()));
  }

  private track(launchId: string, job: string, startedMs: number, who: LaunchIdentity): Proc {
    let markExited!: () => void;
    const exited = new Promise<void>((r) => (markExited = r));
    const p: Proc = { launch_id: launchId, job, who, startedMs, timers: [], done: false, exited, markExited };
    this.procs.set(launchId, p);
    return p;
  }

  /** The attempt's timeout; none for one already finished (finish() clears the timers it knows of, once). */
  private armTimeout(p: Proc, ms: number): void {
    if (p.done) return;
    const t = setTimeout(() => this.push({ type: "timed_out", job: p.job, launch_id: p.launch_id, timeout_ms: ms }), ms);
    p.timers.push(t);
  }

  private finish(p: Proc, x: { code: number | null; signal: string | null; reason?: string }): void {
    if (p.done) return;
    p.done = true;
    for (const t of p.timers) (clearTimeout(t), clearInterval(t));
    this.procs.delete(p.launch_id);
    if (p.pid !== undefined) this.sweep(p);
    p.markExited();
    if (this.stopping) return;
    const reason = x.reason ?? this.capReached(p);
    this.push({ type: "exited", job: p.job, launch_id: p.launch_id, code: x.code, signal: x.signal, duration_ms: Date.now() - p.startedMs, ...(reason ? { reason } : {}) });
  }

  /** The agent is gone: whatever it started and left running is stopped (SIGKILL), and its cgroup removed. */
  private sweep(p: Pick<Proc, "launch_id" | "who" | "cage">): void {
    let left = 0;
    for (let round = 0; round < 5; round++) {
      const members = p.cage ? p.cage.members() : agentMembers(p.who);
      if (!members.length) break;
      left = Math.max(left, members.length);
      if (p.cage) p.cage.killAll();
      else for (const m of members) signalPid(m, "SIGKILL");
    }
    if (left) this.o.log.warn({ launch_id: p.launch_id, processes: left }, "the agent left processes running: stopped them");
    if (p.cage && !p.cage.remove()) this.emptying.add(p.cage);
  }

  /** Cgroups whose last processes were still exiting when their agent was swept: removed as they empty. */
  private emptying = new Set<Cage>();

  /** Removes the cgroups that have emptied since; at a stop, waits up to `ms` for the rest. */
  private async removeEmptied(ms = 0): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      for (const c of this.emptying) if (c.remove()) this.emptying.delete(c);
      if (!this.emptying.size || Date.now() >= end) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Why an exit happened when the output log reached its cap (SIGXFSZ, or a write that failed with EFBIG). */
  private capReached(p: Proc): string | undefined {
    if (!p.output) return undefined;
    try {
      if (statSync(p.output.path).size < p.output.maxBytes) return undefined;
    } catch {
      return undefined;
    }
    return `its output reached max_output_bytes (${p.output.maxBytes} bytes): a file larger than that cannot be written`;
  }

  /** A timeout: the attempt's exit is judged when it comes (its exit event, or adopt()'s poll). */
  private kill(launchId: string): void {
    const p = this.procs.get(launchId);
    if (p) void this.terminate(p, this.o.engine.pipeline.runner.killGraceMs);
  }

  /** SIGTERM the group, wait up to the grace, SIGKILL; returns the last signal sent. */
  private async terminate(p: Proc, graceMs: number): Promise<string | null> {
    if (!p.pid) return null;
    this.signal(p, "SIGTERM");
    // p.exited resolves on the child's exit event, or (adopted) when adopt()'s poll sees it gone
    const within = async (ms: number): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const gone = await Promise.race([p.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
      clearTimeout(timer);
      return gone;
    };
    if (await within(graceMs)) return "SIGTERM";
    this.signal(p, "SIGKILL");
    await within(1000);
    return "SIGKILL";
  }

  /**
   * Signals the agent and everything it started: its process group (only while the leader is our
   * child, or proven to be the launch's agent), then each process of its cgroup — or, without one,
   * each found by the /proc walk — that is not in that group.
   */
  private signal(p: Proc, signal: NodeJS.Signals): void {
    const leader = p.pid !== undefined && !p.done && (p.child !== undefined || whyNotOurAgent(p.pid, p.who, p.startTime) === undefined) ? p.pid : undefined;
    if (leader !== undefined) signalGroup(leader, signal);
    if (signal === "SIGKILL" && p.cage) p.cage.killAll();
    for (const m of p.cage ? p.cage.members() : agentMembers(p.who, leader)) {
      if (leader === undefined || procStat(m)?.pgid !== leader) signalPid(m, signal);
    }
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
