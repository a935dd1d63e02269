/**
 * One read of /proc/<pid>/stat (Linux): what the lease needs to tell a dead or reused pid from its
 * holder, and what the runner needs to find an agent's processes. Elsewhere it answers undefined, and
 * callers treat that as "not proven".
 */
import { readFileSync } from "node:fs";

export interface ProcStat {
  pid: number;
  /** Field 3: R, S, D, Z (zombie) … */
  state: string;
  /** Field 4. */
  ppid: number;
  /** Field 5: the process group. */
  pgid: number;
  /** Field 6: the session. */
  sid: number;
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
  return { pid, state: rest[0] ?? "", ppid: Number(rest[1]), pgid: Number(rest[2]), sid: Number(rest[3]), startTime: rest[19] ?? "" };
}
