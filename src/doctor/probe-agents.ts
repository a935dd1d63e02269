/**
 * The part of doctor's probe about agents: whether each configured user and group exists and this
 * process may switch to it, whether launches would get a cgroup (detectCgroup makes and removes one
 * empty probe cgroup), whether prlimit is on PATH, and RLIMIT_NOFILE. Run as the daemon's user to
 * learn what the daemon can do.
 */
import { readFile } from "node:fs/promises";
import type { Pipeline } from "../config/pipeline.js";
import { resolveProgram } from "../runner/agent-process.js";
import { detectCgroup } from "../runner/cgroup.js";
import { cannotSwitchTo, resolveAccount, resolveGroup } from "../runner/os-users.js";
import { agentUsersOf } from "../transports/prove.js";
import type { AgentFacts, Facts } from "./facts.js";

export function probeAgents(p: Pipeline | undefined): AgentFacts {
  const agents = [...(p?.agents.values() ?? [])];
  const cg = agents.length ? detectCgroup(p!.runner.cgroup) : { why: "no agents configured" };
  let prlimit: string | undefined;
  try {
    prlimit = resolveProgram("prlimit", process.env.PATH, "/");
  } catch {
    prlimit = undefined;
  }
  const group = p?.security.agentsGroup;
  const gid = group !== undefined ? resolveGroup(group, "/security/agents_group") : undefined;
  return {
    count: agents.length,
    accounts: agents.filter((a) => a.user !== undefined || a.group !== undefined).map((a) => {
      const acct = resolveAccount(a.name, a.user, a.group);
      const problem = acct === undefined ? undefined : "code" in acct ? acct : cannotSwitchTo(a.name, acct);
      return { agent: a.name, ...(a.user !== undefined ? { user: a.user } : {}), ...(a.group !== undefined ? { group: a.group } : {}), ...(problem ? { problem } : {}) };
    }),
    ...(gid !== undefined && typeof gid !== "number" ? { groupProblem: gid } : {}),
    ...(p && agentUsersOf(p).shared.size ? { shared: [...agentUsersOf(p).shared.values()] } : {}),
    cgroup: { ok: cg.home !== undefined, pids: cg.home?.pids ?? false, why: cg.why },
    ...(prlimit ? { prlimit } : {}),
  };
}

export async function probeFds(): Promise<Facts["fds"]> {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(await readFile("/proc/self/limits", "utf8"));
    if (!m) return { error: "no 'Max open files' in /proc/self/limits" };
    const n = (s: string): number => (s === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(s));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch (e) {
    return { error: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
  }
}
