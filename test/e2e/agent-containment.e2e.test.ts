/**
 * Agents are contained (issue 12.9), against the real daemon with the scripted agent: a forged pid
 * file never makes the daemon signal another process; what an agent started in a new session is
 * stopped with it; an agent gets an explicit environment; secrets stay out of the log; an agent's
 * output file is capped. Waits on conditions, never on time.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { procStat } from "../../src/runner/procfs.js";
import { alive, busWith, cleanupBuses, count, firstLaunch, runs, script, AGENT_TIMEOUT_MS } from "../support/agents.js";

afterEach(cleanupBuses);

const hasPrlimit = spawnSync("prlimit", ["--version"]).status === 0;

describe("agents are contained", () => {
  it("a forged pid file never makes the daemon signal another process (it is relaunched instead)", async () => {
    // a process of the same user that has nothing to do with the bus, leading its own group
    const victim = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { detached: true, stdio: "ignore" });
    victim.unref();
    try {
      const b = busWith({ env: { AGENT_MODE: "hang" } }, "runner: { kill_grace_ms: 300 }\n");
      b.cli("start", "EP-001", "--title", "Health");
      b.startDaemon();
      await b.until("the agent to run", () => runs(b).length === 1);
      await b.stopDaemon("SIGKILL");
      const agent = Number(runs(b)[0]!.pid);
      process.kill(-agent, "SIGKILL");
      await b.until("the agent to be gone", () => !alive(agent));
      // the attacker knows the victim's pid and start time (both public in /proc)
      const forged = { launch_id: firstLaunch(b), pid: victim.pid, start_time: procStat(victim.pid!)!.startTime, started_at: new Date().toISOString() };
      writeFileSync(join(b.root, ".consensus", "agents", `${firstLaunch(b)}.json`), JSON.stringify(forged));
      b.startDaemon();
      await b.waitForDecision("agent_relaunched");
      await b.until("the relaunched agent to run", () => runs(b).length === 2);
      // a daemon stop signals every agent it runs: the victim is not one of them
      expect(await b.stopDaemon("SIGTERM")).toBe(0);
      expect(alive(victim.pid!)).toBe(true);
      expect(b.daemonErr).toMatch(/does not name this launch's agent/);
    } finally {
      process.kill(-victim.pid!, "SIGKILL");
    }
  });

  it.each(["auto", "off"])("stops what an agent started in a new session (setsid), on a timeout and when it exits (runner.cgroup: %s)", async (cgroup) => {
    const runner = `runner: { kill_grace_ms: 300, cgroup: ${cgroup} }\n`;
    const timedOut = busWith({ timeout: AGENT_TIMEOUT_MS, env: { AGENT_MODE: "escape" } }, runner);
    const exited = busWith({ env: { AGENT_MODE: "escape-exit" } }, runner);
    for (const b of [timedOut, exited]) {
      b.cli("start", "EP-001", "--title", "Health");
      b.startDaemon();
    }
    await timedOut.waitForDecision("agent_timed_out");
    await exited.waitForDecision("agent_exited");
    for (const b of [timedOut, exited]) {
      const r = await b.until("the agent's record", () => runs(b)[0]);
      expect(Number(r.escaped)).toBeGreaterThan(0);
      await b.until("the process it set loose to be stopped", () => !alive(Number(r.escaped)));
      await b.waitForDecision("escalated");
    }
  });

  it("gives an agent the allowed part of the daemon's environment, its env and the launch variables: nothing else", async () => {
    const b = busWith({ env: { AGENT_MODE: "drop", EXTRA: "yes" }, env_allow: ["ONLY_FOR_PLANNER"] });
    b.env = { DAEMON_ONLY_SETTING: "x", ONLY_FOR_PLANNER: "y", LC_TIME: "C" };
    b.cli("start", "EP-001", "--title", "Health");
    b.startDaemon();
    await b.waitForDecision("agent_exited");
    const keys = runs(b)[0]!.ENV_KEYS as unknown as string[];
    expect(keys).toEqual(expect.arrayContaining(["PATH", "LC_TIME", "ONLY_FOR_PLANNER", "EXTRA", "TEST_DIR", "CONSENSUS_LAUNCH_ID", "CONSENSUS_ROOT"]));
    expect(keys).not.toContain("DAEMON_ONLY_SETTING");
    // nothing of the daemon's own beyond the allowlist (the test runner's variables included); PWD is the cwd, set by the start-up shell
    expect(keys.filter((k) => !/^(PWD|PATH|HOME|LANG|LC_.*|TERM|TMPDIR|TZ|USER|LOGNAME|ONLY_FOR_PLANNER|EXTRA|TEST_DIR|PLAN_FIXTURE|AGENT_MODE|CONSENSUS_.*)$/.test(k))).toEqual([]);
    expect(await b.stopDaemon()).toBe(0);
  });

  it("keeps secrets out of the decision log: argv, shell lines, and values of variables named like secrets", async () => {
    const b = busWith({ command: [process.execPath, script, "--api-key", "k-1234567890", "--token=tok-abcdef", "sk-ABCDEFGHIJKLMNOPQRSTUV", "--use=daemon-secret-value"], env: { AGENT_MODE: "drop", PLANNER_TOKEN: "tok-abcdef" } });
    b.env = { SERVICE_PASSWORD: "daemon-secret-value" };
    b.cli("start", "EP-001", "--title", "Health");
    b.startDaemon();
    const es = await b.waitFor("the agent's exit", (x) => count(x, "agent_exited") === 1);
    const text = readFileSync(join(b.root, "current", "decision_log.jsonl"), "utf8");
    for (const secret of ["k-1234567890", "tok-abcdef", "sk-ABCDEFGHIJKLMNOPQRSTUV", "daemon-secret-value"]) expect(text).not.toContain(secret);
    expect(es.find((e) => e.decision === "agent_launched")!.details!.argv).toEqual([process.execPath, expect.stringMatching(/scripted\.mjs$/), "--api-key", "[redacted]", "--token=[redacted]", "[redacted]", "--use=[redacted]"]);
    // the agent itself got them whole
    expect(runs(b)[0]!.argv).toEqual(["--api-key", "k-1234567890", "--token=tok-abcdef", "sk-ABCDEFGHIJKLMNOPQRSTUV", "--use=daemon-secret-value"]);
    // validate warns about the secret written into consensus.yaml
    const v = b.cli("validate", join(b.root, "consensus.yaml"));
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/agents\.planner\.env\.PLANNER_TOKEN holds a secret/);
  });

  it.skipIf(!hasPrlimit)("caps an agent's output file at max_output_bytes and says so when it stops the agent", async () => {
    const b = busWith({ command: undefined, shell: "head -c 3000000 /dev/zero; echo never", max_output_bytes: 1_048_576, env: { AGENT_MODE: "unused" } });
    b.cli("start", "EP-001", "--title", "Health");
    b.startDaemon();
    const es = await b.waitForDecision("escalated");
    const exit = es.find((e) => e.decision === "agent_exited")!;
    expect(exit.details).toMatchObject({ reason: expect.stringMatching(/max_output_bytes \(1048576 bytes\)/) });
    expect(statSync(join(b.root, "logs", "agents", "EP-001", "1", "planner-1.log")).size).toBeLessThanOrEqual(1_048_576);
  });
});
