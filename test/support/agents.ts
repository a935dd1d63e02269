/**
 * Buses whose agents are the scripted agent (test/fixtures/agents/scripted.mjs), for the runner's
 * end-to-end tests: what each launch recorded, and a cleanup that stops whatever an agent left behind.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { cageName, ownCgroupDir } from "../../src/runner/cgroup.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";
import { Bus, fixtures, repo } from "./bus.js";

export const script = join(repo, "test", "fixtures", "agents", "scripted.mjs");

/** An agent's timeout in tests that time one out: it must be up (a node process, its SIGTERM handler installed) before it fires, which takes a second or more on a loaded machine. */
export const AGENT_TIMEOUT_MS = 4000;

/** Buses made by busWith; stopAgents() and cleanup() each in afterEach. */
export const buses: Bus[] = [];

/** A bus whose planner is the scripted agent with `planner` (merged into its agents.planner) and `extra` YAML appended. */
export function busWith(planner: Record<string, unknown>, extra = ""): Bus {
  const b = Bus.init();
  buses.push(b);
  const env = { TEST_DIR: b.dir, PLAN_FIXTURE: join(fixtures, "valid", "plan.json"), ...(planner.env as object) };
  const spec = { command: [process.execPath, script], retries: 0, backoff_ms: 20, ...planner, env };
  appendFileSync(join(b.root, "consensus.yaml"), `\nagents:\n  planner: ${JSON.stringify(spec)}\n${extra}`);
  b.applyConfig();
  return b;
}

/**
 * The sequence number (8 digits, as launch ids and notices name it) of the epic's epic_started entry:
 * the first launch of its planner is `${startSeq(b)}-planner-1` (the entries before it, such as the
 * config_applied of busWith, shift it).
 */
export function startSeq(b: Bus, epic = "EP-001"): string {
  const e = b.entries().find((x) => x.decision === "epic_started" && x.epic_id === epic);
  if (!e) throw new Error(`${epic} has not started`);
  return String(e.seq).padStart(8, "0");
}

/** The launch id of the epic's first planner launch. */
export const firstLaunch = (b: Bus, epic = "EP-001"): string => `${startSeq(b, epic)}-planner-1`;

/** What each launch recorded (<TEST_DIR>/runs/<launch id>.json). */
export const runs = (b: Bus): Array<Record<string, string>> =>
  existsSync(join(b.dir, "runs")) ? readdirSync(join(b.dir, "runs")).filter((n) => !n.startsWith(".")).map((n) => JSON.parse(readFileSync(join(b.dir, "runs", n), "utf8")) as Record<string, string>) : [];

export const count = (es: LogEntry[], d: string): number => es.filter((e) => e.decision === d).length;

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Stops what agents of the buses made here left running (their groups, and processes they set loose), then removes the buses. */
export function cleanupBuses(): void {
  for (const b of buses.splice(0)) {
    const pidDir = join(b.root, ".consensus", "agents");
    const pids: number[] = [];
    for (const f of existsSync(pidDir) ? readdirSync(pidDir) : []) {
      try {
        pids.push(Number((JSON.parse(readFileSync(join(pidDir, f), "utf8")) as { pid: unknown }).pid));
      } catch {
        /* removed meanwhile: its agent exited (a daemon may still run) */
      }
    }
    for (const r of runs(b)) pids.push(Number(r.pid), ...(r.escaped ? [Number(r.escaped)] : []));
    for (const pid of pids) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    // the cgroups the daemon made for them (empty once their processes are gone), where it made any
    const own = ownCgroupDir();
    if ("dir" in own) {
      const prefix = cageName(b.root, "");
      for (const n of existsSync(own.dir) ? readdirSync(own.dir).filter((x) => x.startsWith(prefix)) : []) {
        for (let i = 0; i < 100 && existsSync(join(own.dir, n)); i++) {
          try {
            rmdirSync(join(own.dir, n));
          } catch {
            spawnSync("sleep", ["0.05"]); // its last processes are exiting
          }
        }
      }
    }
    b.cleanup();
  }
}
