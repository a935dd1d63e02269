/**
 * How the configured agents would run: as which users (and whether the daemon may switch to them),
 * contained how (a cgroup each, or the session and a /proc walk), with which limits (prlimit). Says
 * plainly what holds when agents run as the daemon's own user; and whether each can run at all: its
 * program found, its prompt file there. Pure.
 */
import { agentIssues } from "../agents/readiness.js";
import { fail, pass, warn, type CheckResult } from "../report/check.js";
import { sharedUserNote } from "../machine/authority.js";
import type { Facts } from "./facts.js";

export function checkAgents(f: Pick<Facts, "agents" | "agentPrograms">): CheckResult {
  const id = "agents";
  const a = f.agents;
  const details = { agents: a.count, accounts: a.accounts, cgroup: a.cgroup, prlimit: a.prlimit ?? null };
  if (a.count === 0) return pass(id, "no agents: configured (nothing is launched)", details);
  const bad = [...(a.groupProblem ? [a.groupProblem] : []), ...a.accounts.flatMap((x) => (x.problem ? [x.problem] : []))];
  if (bad.length) return fail(id, bad.map((i) => i.message).join("; "), bad[0]!.fix, details);
  const contained = a.cgroup.ok ? `each in its own cgroup${a.cgroup.pids ? " (pids.max)" : ""}` : `found by session and /proc walk (${a.cgroup.why})`;
  const own = a.accounts.filter((x) => x.user !== undefined).length;
  const users = own === a.count ? "each as its configured user" : own === 0 ? "as the daemon's own user: the OS does not keep them out of the private area or consensus.yaml, only their own sandbox does (docs/agents.md)" : `${own} of ${a.count} as their own user, the rest as the daemon's`;
  if (a.shared?.length) {
    const notes = a.shared.map(sharedUserNote);
    return warn(id, `${notes.map((n) => n.reason).join("; ")}: their inputs are recorded unverified (or refused where security.require_proof asks for proof)`, notes.map((n) => n.fix).join(" "), { ...details, shared: a.shared });
  }
  const missing = agentIssues(f.agentPrograms);
  // an agent whose program or prompt is missing cannot run: it is not counted as ready
  const cannot = new Set(f.agentPrograms.filter((p) => (p.program !== undefined && !p.programAt) || !p.promptExists).map((p) => p.name)).size;
  const found = `${cannot ? `${a.count - cannot} of ${a.count}` : a.count} agent(s) ready, run ${users}; ${contained}`;
  if (missing.length) return warn(id, `${missing.map((i) => i.message).join("; ")}; ${found}`, [...new Set(missing.map((i) => i.fix))].join(" "), { ...details, issues: missing });
  if (!a.prlimit) return warn(id, `${found}; no prlimit on PATH, so max_output_bytes and max_processes are not applied`, "Install util-linux (it has prlimit), e.g. `apt-get install util-linux` or `apk add util-linux-misc`.", details);
  return pass(id, `${found}; limits through ${a.prlimit}`, details);
}
