/**
 * Agent processes: started as the leader of their own session (so a daemon that is SIGKILLed leaves
 * them running for the next daemon to wait for), through a small /bin/sh gate that waits until the
 * daemon has put them in their cgroup, sets the umask and execs prlimit with the launch's limits;
 * pid files; and proof that a process is the one a launch started before anything signals it.
 *
 * A pid file is a hint, never proof (an agent may be able to write it): a process is taken for a
 * launch's agent only when it leads its own session, started no earlier than the launch was decided
 * (the log of record's time), and its environment holds that launch's CONSENSUS_LAUNCH_ID and
 * CONSENSUS_ROOT (whyNotOurAgent). What it started is found through its cgroup where it has one, else
 * through that environment, its process group and session, and its parent chain (agentMembers).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, closeSync, constants, mkdirSync, openSync, statSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { delimiter, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { ConsensusError, issue } from "../errors/issue.js";
import { PRIVATE_FILE_MODE, writeAtomic } from "../store/fs/atomic-write.js";
import { CAP, readGuardedText } from "../store/fs/guarded-read.js";
import { PRIVATE_DIR_MODE, assertStillInsideSync, safeMkdirSync } from "../store/fs/safe-dirs.js";
import { signalPid } from "./cgroup.js";
import { allProcesses, descendantsOf, procEnviron, procStat, startedAtMs, type ProcStat } from "./procfs.js";

export { procStat } from "./procfs.js";

export interface PidFile {
  launch_id: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot); absent where /proc is not available. */
  start_time?: string;
  started_at: string;
}

/** Who a launch's agent is: its launch id and root (in its environment) and when the launch was decided. */
export interface LaunchIdentity {
  launch_id: string;
  /** Absolute path of the root (CONSENSUS_ROOT). */
  root: string;
  /** The agent_launched entry's time in ms since the epoch (from the log of record, not the pid file). */
  launchedAtMs: number;
}

/** The process may have started this much before the entry's time and still be the launch's (clock granularity: btime has 1 s). */
const START_SLACK_MS = 2000;

/**
 * Why `pid` is not the agent of this launch, in words for the log; undefined when it is. `startTime`
 * (from a pid file or our own spawn) must match too when given. Where /proc cannot say, nothing is
 * proven, so the answer is a reason.
 */
export function whyNotOurAgent(pid: number, who: LaunchIdentity, startTime?: string): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 1) return `${String(pid)} is not a process id an agent can have`;
  const st = procStat(pid);
  if (!st) return `there is no process ${pid} (or no /proc to check it)`;
  if (st.state === "Z") return `process ${pid} has exited`;
  if (startTime !== undefined && st.startTime !== startTime) return `process ${pid} started at another time than recorded (another process got the pid)`;
  if (st.sid !== pid) return `process ${pid} does not lead its own session, as every agent does`;
  return whyNotLaunchMember(st, who);
}

/** A process the launch started (its agent, or anything the agent started and left the launch's environment to). */
function whyNotLaunchMember(st: ProcStat, who: LaunchIdentity): string | undefined {
  const at = startedAtMs(st);
  if (at === undefined) return `the start time of process ${st.pid} is unknown`;
  if (at < who.launchedAtMs - START_SLACK_MS) return `process ${st.pid} started at ${new Date(at).toISOString()}, before the launch`;
  const env = procEnviron(st.pid);
  if (!env) return `the environment of process ${st.pid} cannot be read`;
  if (env.get("CONSENSUS_LAUNCH_ID") !== who.launch_id || env.get("CONSENSUS_ROOT") !== who.root) return `process ${st.pid} was not started for launch ${who.launch_id} of this root`;
  return undefined;
}

/**
 * The window between spawn and the pid file: a daemon killed there left no pid file, but the agent's
 * environment names its launch. Finds the session leader that passes whyNotOurAgent in /proc (Linux;
 * elsewhere nothing is found and the launch is relaunched once, as for a dead one).
 */
export function findAgent(who: LaunchIdentity): PidFile | undefined {
  for (const st of allProcesses()) {
    if (st.sid !== st.pid || whyNotOurAgent(st.pid, who, st.startTime) !== undefined) continue;
    return { launch_id: who.launch_id, pid: st.pid, start_time: st.startTime, started_at: new Date().toISOString() };
  }
  return undefined;
}

/**
 * Everything the launch started that still runs, found without a cgroup: processes whose environment
 * names the launch (they inherit it, setsid or not), the leader's process group and session while the
 * leader is verified alive, and the descendants of all of those. A process that cleared its
 * environment, left the session and lost its parent is not found: only a cgroup holds that one.
 */
export function agentMembers(who: LaunchIdentity, leader?: number): number[] {
  const all = allProcesses();
  const found = new Set<number>();
  for (const st of all) {
    if (st.pid === process.pid || st.state === "Z") continue;
    if (leader !== undefined && (st.sid === leader || st.pgid === leader)) found.add(st.pid);
    else if (whyNotLaunchMember(st, who) === undefined) found.add(st.pid);
  }
  for (const d of descendantsOf(found, all)) found.add(d);
  found.delete(process.pid);
  return [...found];
}

/** Still the process the pid file names: alive, not a zombie, and the same start time. */
export function isSameProcess(p: Pick<PidFile, "pid" | "start_time">): boolean {
  const st = procStat(p.pid);
  return st !== undefined && st.state !== "Z" && st.startTime === p.start_time;
}

/** A pid file, if it is well formed and about this launch (it is a hint: see whyNotOurAgent). */
export async function readPidFile(dir: string, launchId: string): Promise<PidFile | undefined> {
  try {
    // a regular file of bounded size, never through a link, never a FIFO that would block (issue 12.8)
    const p = JSON.parse(await readGuardedText(join(dir, `${launchId}.json`), { maxBytes: CAP.small })) as Partial<PidFile>;
    if (p.launch_id !== launchId || !Number.isSafeInteger(p.pid) || (p.start_time !== undefined && !/^[0-9]{1,20}$/.test(String(p.start_time)))) return undefined;
    return { launch_id: launchId, pid: p.pid!, ...(p.start_time !== undefined ? { start_time: String(p.start_time) } : {}), started_at: String(p.started_at) };
  } catch {
    return undefined;
  }
}

export async function writePidFile(dir: string, p: PidFile): Promise<void> {
  // .consensus/agents: private (0700, files 0600), made without following a link
  safeMkdirSync(dirname(dirname(dir)), dir, PRIVATE_DIR_MODE);
  await writeAtomic(join(dir, `${p.launch_id}.json`), JSON.stringify(p), { durable: true, mode: PRIVATE_FILE_MODE });
}

export async function removePidFile(dir: string, launchId: string): Promise<void> {
  await rm(join(dir, `${launchId}.json`), { force: true });
}

export interface SpawnSpec {
  /** The program and its arguments (for `shell:`, ["/bin/sh", "-c", line]). */
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** Absolute path of the output log (appended to). */
  output: string;
  /** The root the output log must stay inside: its folders are made without following a link. */
  root?: string;
  uid?: number;
  gid?: number;
  /** Set before the agent runs (007 when the drop zones belong to the agents' group). */
  umask?: number;
  /** prlimit(1) to exec with the limits; without it the limits are not applied (doctor says so). */
  prlimit?: string;
  /** RLIMIT_FSIZE, and RLIMIT_NPROC when given (not with a cgroup's pids.max). */
  limits: { fileBytes: number; processes?: number };
  /** Wait at the gate (fd 3) until release(): the daemon first puts the process in its cgroup. */
  gate: boolean;
}

export interface Spawned {
  child: ChildProcess;
  /** Lets a gated agent run (a no-op for one without a gate). */
  release(): void;
}

/**
 * The /bin/sh gate every agent starts through: "$@" is [prlimit --fsize --nproc --] program args.
 * With a gate it reads a line from fd 3 first; EOF (the daemon died before releasing it) exits 125.
 */
export function gateScript(s: Pick<SpawnSpec, "gate" | "umask">): string {
  return [s.gate ? "read -r _ <&3 || exit 125; exec 3<&-" : "", s.umask !== undefined ? `umask ${s.umask.toString(8).padStart(3, "0")}` : "", 'exec "$@"'].filter(Boolean).join("; ");
}

/**
 * Starts the agent; stdout and stderr go to the output file. A program that is not there throws
 * ENOENT here (it is looked up on the agent's PATH first, as exec would); other failures to start
 * come through the child's 'error' event.
 */
export function spawnAgent(s: SpawnSpec): Spawned {
  const program = resolveProgram(s.argv[0]!, s.env.PATH, s.cwd);
  const limits = [`--fsize=${s.limits.fileBytes}`, ...(s.limits.processes !== undefined ? [`--nproc=${s.limits.processes}`] : [])];
  const limited = s.prlimit ? [s.prlimit, ...limits, "--", program, ...s.argv.slice(1)] : [program, ...s.argv.slice(1)];
  const fd = openAgentLog(s.output, s.root);
  try {
    const child = spawn("/bin/sh", ["-c", gateScript(s), "consensus-agent", ...limited], {
      cwd: s.cwd,
      env: s.env,
      detached: true,
      stdio: ["ignore", fd, fd, ...(s.gate ? (["pipe"] as const) : [])],
      ...(s.uid !== undefined ? { uid: s.uid } : {}),
      ...(s.gid !== undefined ? { gid: s.gid } : {}),
    });
    const gate = s.gate ? (child.stdio[3] as NodeJS.WritableStream & { destroy(): void } | null) : null;
    // a gate whose reader is gone (the agent was killed at the gate) must not crash the daemon
    (gate as unknown as NodeJS.EventEmitter | null)?.on("error", () => {});
    return { child, release: () => void gate?.end("go\n") };
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens an agent's output log for appending: its folders made from the root down refusing links, the
 * file opened O_NOFOLLOW (a link planted at its name is refused, never written through) with an
 * explicit mode (issue 12.2, 12.11). Throws ConsensusError(UNSAFE_PATH) with the fix.
 */
export function openAgentLog(output: string, root?: string): number {
  if (root !== undefined) {
    // re-checked where the path is built: the epic id and iteration come from log entries
    const rel = relative(root, output);
    if (!AGENT_LOG_REL.test(rel)) throw new ConsensusError(issue("UNSAFE_PATH", { message: `agent log path ${JSON.stringify(rel)} is not logs/agents/<EPIC>/<iteration>/<agent>-<n>.log`, file: rel, fix: "Run `consensus log verify`: the launch was asked for by a forged or edited entry. Nothing was written." }));
    safeMkdirSync(root, dirname(output));
  }
  else mkdirSync(dirname(output), { recursive: true });
  const fd = openSync(output, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, AGENT_LOG_MODE);
  if (root !== undefined) {
    try {
      assertStillInsideSync(root, dirname(output));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }
  return fd;
}

const AGENT_LOG_REL = /^logs\/agents\/(?:[A-Za-z][A-Za-z0-9_-]{0,63}\/[1-9][0-9]{0,8}|_\/[0-9]{1,12})\/[a-z][a-z0-9_-]{0,63}-[0-9]{1,9}\.log$/;

/** Agents' output logs: readable by people and the agents' group, written only by the daemon. */
export const AGENT_LOG_MODE = 0o644;

/** argv[0] as exec would find it: a path with a slash relative to cwd, else the first match on PATH. */
export function resolveProgram(name: string, path: string | undefined, cwd: string): string {
  const runnable = (p: string): boolean => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (name.includes("/")) {
    const p = isAbsolute(name) ? name : resolve(cwd, name);
    if (runnable(p)) return p;
  } else {
    for (const dir of (path ?? "").split(delimiter)) {
      const p = resolve(cwd, dir || ".", name);
      if (runnable(p)) return p;
    }
  }
  throw Object.assign(new Error(`spawn ${name} ENOENT`), { code: "ENOENT" });
}

/** Signals the process group (falls back to the process). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    signalPid(pid, signal);
  }
}

/** `${CONSENSUS_X}` in an argv element → its value (unknown names are left as written). */
export function expandArg(arg: string, env: Record<string, string>): string {
  return arg.replace(/\$\{(CONSENSUS_[A-Z_]+)\}/g, (m, name: string) => env[name] ?? m);
}
