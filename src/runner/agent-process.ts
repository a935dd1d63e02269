/**
 * Agent processes: spawn in their own process group (so a timeout or a daemon stop takes the whole
 * tree, and a daemon that is SIGKILLed leaves them running for the next daemon to wait for), pid files
 * written atomically, and liveness that tells the same process from a recycled pid (Linux start time).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeAtomic } from "../store/fs/atomic-write.js";

export interface PidFile {
  launch_id: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot); absent where /proc is not available. */
  start_time?: string;
  started_at: string;
}

export interface ProcStat {
  /** Field 3: R, S, D, Z (zombie) … */
  state: string;
  /** Field 5: the process group. */
  pgid: number;
  /** Field 22: clock ticks since boot, which tells the process from a later one given the same pid. */
  startTime: string;
}

/** One read of /proc/<pid>/stat; undefined when the process does not exist (or /proc is not there). */
export function procStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: split after the last ')'; rest[0] is field 3.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0] ?? "", pgid: Number(rest[2]), startTime: rest[19] ?? "" };
}

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Still the process the pid file names: alive, not a zombie, and (where known) the same start time. */
export function isSameProcess(p: PidFile): boolean {
  if (!exists(p.pid)) return false;
  const st = procStat(p.pid);
  if (!st) return true; // no /proc: trust kill(0)
  return st.state !== "Z" && (p.start_time === undefined || st.startTime === p.start_time);
}

export async function readPidFile(dir: string, launchId: string): Promise<PidFile | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, `${launchId}.json`), "utf8")) as PidFile;
  } catch {
    return undefined;
  }
}

export async function writePidFile(dir: string, p: PidFile): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await writeAtomic(join(dir, `${p.launch_id}.json`), JSON.stringify(p), { durable: true });
}

export async function removePidFile(dir: string, launchId: string): Promise<void> {
  await rm(join(dir, `${launchId}.json`), { force: true });
}

export interface SpawnSpec {
  argv?: string[];
  shell?: string;
  cwd: string;
  env: Record<string, string>;
  /** Absolute path of the output log (appended to). */
  output: string;
}

/** Starts the agent; stdout and stderr go to the output file. Throws (ENOENT …) only through the 'error' event. */
export function spawnAgent(s: SpawnSpec): ChildProcess {
  mkdirSync(dirname(s.output), { recursive: true });
  const fd = openSync(s.output, "a");
  try {
    const [cmd, args] = s.shell !== undefined ? ["/bin/sh", ["-c", s.shell]] : [s.argv![0]!, s.argv!.slice(1)];
    return spawn(cmd, args, { cwd: s.cwd, env: s.env, detached: true, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
}

/** Signals the process group (falls back to the process). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

/** `${CONSENSUS_X}` in an argv element → its value (unknown names are left as written). */
export function expandArg(arg: string, env: Record<string, string>): string {
  return arg.replace(/\$\{(CONSENSUS_[A-Z_]+)\}/g, (m, name: string) => env[name] ?? m);
}

/**
 * The window between spawn and the pid file: a daemon killed there left no pid file, but the agent's
 * environment names its launch. Finds it in /proc (Linux; elsewhere nothing is found and the launch is
 * relaunched once, as for a dead one).
 */
export function findByLaunchId(launchId: string): PidFile | undefined {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((n) => /^[0-9]+$/.test(n));
  } catch {
    return undefined;
  }
  const needle = `\0CONSENSUS_LAUNCH_ID=${launchId}\0`;
  for (const p of pids) {
    try {
      if (!`\0${readFileSync(`/proc/${p}/environ`, "latin1")}`.includes(needle)) continue;
      // the first such process is the agent itself (its children inherit the variable and start later);
      // the pid file names its process group's leader, as the spawn's did
      const st = procStat(Number(p));
      if (!st) continue;
      const leader = st.pgid > 0 && st.pgid !== Number(p) ? procStat(st.pgid) : undefined;
      const pid = leader ? st.pgid : Number(p);
      return { launch_id: launchId, pid, start_time: (leader ?? st).startTime, started_at: new Date().toISOString() };
    } catch {
      /* gone, or not ours */
    }
  }
  return undefined;
}
