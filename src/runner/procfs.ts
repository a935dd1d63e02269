/**
 * What Linux's /proc says about processes: stat fields, start times in wall-clock ms, environments, and
 * every process at once (for the walk that finds what an agent started). Elsewhere every function
 * answers "unknown" (undefined or empty), and callers treat unknown as "not proven ours".
 */
import { readFileSync, readdirSync } from "node:fs";

export { procStat, type ProcStat } from "../store/fs/proc-stat.js";
import { procStat, type ProcStat } from "../store/fs/proc-stat.js";


/** /proc reports start times in USER_HZ, which the kernel fixes at 100 for every architecture's ABI. */
const USER_HZ = 100;
let bootMs: number | undefined;

/** When the process started, in ms since the epoch (to ±10 ms and the 1 s resolution of btime); undefined where unknown. */
export function startedAtMs(st: Pick<ProcStat, "startTime">): number | undefined {
  if (bootMs === undefined) {
    try {
      const m = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"));
      if (m) bootMs = Number(m[1]) * 1000;
    } catch {
      return undefined;
    }
  }
  const ticks = Number(st.startTime);
  return bootMs === undefined || !Number.isFinite(ticks) ? undefined : bootMs + (ticks * 1000) / USER_HZ;
}

/** A process's environment as it was started; undefined when it cannot be read (gone, or another user's without privilege). */
export function procEnviron(pid: number): Map<string, string> | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/environ`, "latin1");
  } catch {
    return undefined;
  }
  const env = new Map<string, string>();
  for (const kv of raw.split("\0")) {
    const eq = kv.indexOf("=");
    if (eq > 0 && !env.has(kv.slice(0, eq))) env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return env;
}

/** Every process /proc lists (empty where there is no /proc). */
export function allProcesses(): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync("/proc").filter((n) => /^[0-9]+$/.test(n));
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const n of names) {
    const st = procStat(Number(n));
    if (st) out.push(st);
  }
  return out;
}

/** The processes whose parent chain leads to one of `roots` (the roots not included). */
export function descendantsOf(roots: ReadonlySet<number>, all: readonly ProcStat[]): number[] {
  const children = new Map<number, number[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const out: number[] = [];
  const seen = new Set<number>(roots);
  const todo = [...roots];
  while (todo.length) {
    for (const c of children.get(todo.pop()!) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

/** Tasks (processes and threads) whose real uid is `uid`: what RLIMIT_NPROC counts. */
export function tasksOfUid(uid: number): number {
  let names: string[];
  try {
    names = readdirSync("/proc").filter((n) => /^[0-9]+$/.test(n));
  } catch {
    return 0;
  }
  let n = 0;
  for (const pid of names) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid) n += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
    } catch {
      /* gone */
    }
  }
  return n;
}
