/**
 * The runner end to end: the real daemon launches scripted agents (test/fixtures/agents/scripted.mjs)
 * on stage entry; exits, retries, timeouts, crashes, stops and the concurrency limit are read back
 * from the decision log and from files the agents write. Waits on conditions, never on time.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { artifact, Bus, vetoYaml } from "../support/bus.js";
import { alive, busWith, cleanupBuses, count, firstLaunch, runs, script, startSeq, AGENT_TIMEOUT_MS } from "../support/agents.js";

afterEach(cleanupBuses);

describe("runner e2e", () => {
  it("launches the stage owner's agent with the CONSENSUS_* environment and its output in a per-epic log", async () => {
    // an argv element may name a CONSENSUS_* variable: the runner fills it in (unknown names stay as written)
    const b = busWith({ command: [process.execPath, script, "--notice=${CONSENSUS_NOTICE}", "${CONSENSUS_NOPE}"], env: { AGENT_MODE: "drop", EXTRA: "yes" } });
    b.cli("start", "EP-001", "--title", "Health");
    b.startDaemon();
    const es = await b.waitFor("plan accepted and the agent's exit", (x) => count(x, "artifact_accepted") === 1 && count(x, "agent_exited") === 1);
    const launched = es.find((e) => e.decision === "agent_launched")!;
    expect(launched.details).toMatchObject({ launch_id: firstLaunch(b), agent: "planner", stage: "plan", attempt: 1, output: "logs/agents/EP-001/1/planner-1.log" });
    expect(es.find((e) => e.decision === "agent_exited")!.details).toMatchObject({ code: 0, verdict: "ok" });
    const [env] = runs(b);
    expect(env).toMatchObject({ CONSENSUS_ROOT: b.root, CONSENSUS_EPIC: "EP-001", CONSENSUS_ITERATION: "1", CONSENSUS_ROLE: "planner", CONSENSUS_STAGE: "plan", CONSENSUS_LAUNCH_ID: firstLaunch(b), CONSENSUS_PROMPT: join(b.dir, "agents", "planner.md"), EXTRA: "yes", cwd: b.dir });
    expect(readFileSync(env!.CONSENSUS_NOTICE!, "utf8")).toMatch(/subject: stage_entered/);
    expect(env!.argv).toEqual([`--notice=${join(b.root, "messages", "inbox", "planner", `notice-${startSeq(b)}-EP-001-stage_entered.yaml`)}`, "${CONSENSUS_NOPE}"]);
    expect(readFileSync(join(b.root, "logs", "agents", "EP-001", "1", "planner-1.log"), "utf8")).toMatch(new RegExp(`scripted agent ${firstLaunch(b)}`));
    expect(await b.stopDaemon()).toBe(0);
  });

  it("retries an agent that exits 0 without its artifact, then escalates the epic", async () => {
    const b = busWith({ retries: 1, env: { AGENT_MODE: "nothing" } });
    b.cli("start", "EP-001", "--title", "Health");
    b.startDaemon();
    const es = await b.waitForDecision("escalated");
    expect(es.filter((e) => e.decision.startsWith("agent_") || e.decision === "escalated").map((e) => e.decision)).toEqual(["agent_launched", "agent_exited", "agent_retry_scheduled", "agent_launched", "agent_exited", "agent_gave_up", "escalated"]);
    expect(es.find((e) => e.decision === "escalated")!.details).toMatchObject({ reason: "agent_no_artifact", attempts: 2 });
    expect(JSON.parse(b.cli("status", "EP-001", "--json").stdout)).toMatchObject({ status: "escalated" });
  });

  it("judges an agent that answered with a veto once the veto is decided: not as one that left nothing", async () => {
    // the veto is written in place as the agent exits: the daemon waits settle_ms before reading it
    const b = busWith({ env: { AGENT_MODE: "drop" } });
    appendFileSync(join(b.root, "consensus.yaml"), `  devops: ${JSON.stringify({ command: [process.execPath, script], retries: 0, env: { AGENT_MODE: "veto", TEST_DIR: b.dir } })}\n`);
    b.editConfig((t) => t.replace(/settle_ms: \d+/, "settle_ms: 3000"));
    await toDeployment(b);
    const devopsExited = (e: { decision: string; details?: Record<string, unknown> }) => e.decision === "agent_exited" && String(e.details!.job).endsWith("-devops");
    const es = await b.waitFor("the devops agent's exit", (x) => x.some(devopsExited));
    expect(es.find(devopsExited)!.details).toMatchObject({ code: 0, verdict: "ok" });
    const order = es.map((e) => e.decision);
    expect(order.indexOf("veto_recorded")).toBeGreaterThan(-1);
    expect(order.indexOf("veto_recorded")).toBeLessThan(es.findIndex(devopsExited));
    expect(order).not.toContain("escalated");
    expect(JSON.parse(b.cli("status", "EP-001", "--json").stdout)).toMatchObject({ status: "in_progress", stage: "implementation", iteration: 2 });
  });

  it("a daemon stopped while an agent's exit waits for its veto: the restart judges the veto first, and does not relaunch the agent", async () => {
    // the veto (written in place) settles for a minute (the most settle_ms allows): the daemon is stopped while the exit is held for it
    const b = busWith({ env: { AGENT_MODE: "drop" } });
    appendFileSync(join(b.root, "consensus.yaml"), `  devops: ${JSON.stringify({ command: [process.execPath, script], retries: 0, env: { AGENT_MODE: "veto", TEST_DIR: b.dir } })}\n`);
    b.editConfig((t) => t.replace(/settle_ms: \d+/, "settle_ms: 60000"));
    b.cli("start", "EP-001", "--title", "Health");
    b.startDaemon("--log-level", "debug");
    await b.waitFor("implementation stage", (x) => count(x, "stage_advanced") === 1);
    b.drop("artifacts/EP-001/implementation.json", artifact("implementation.json", "EP-001", 1));
    await b.waitFor("review", (x) => count(x, "stage_advanced") === 2);
    b.drop("artifacts/EP-001/review.json", artifact("review.json", "EP-001", 1, { review_status: "approved" }));
    await b.until("the devops agent's exit held for its veto", () => /agent exited: its exit is judged once these messages are decided/.test(b.daemonErr), 60_000);
    expect(await b.stopDaemon()).toBe(0);
    const devops = (e: { decision: string; details?: Record<string, unknown> }) => String(e.details?.job ?? "").endsWith("-devops");
    expect(b.entries().filter((e) => devops(e) && e.decision !== "agent_launched").map((e) => e.decision)).toEqual([]);
    // the test, not the scheduler, says when the veto is whole: stamped just after the launch (so it is the
    // agent's answer), its ctime now later than its mtime (a file whose last change was not a write)
    const launchedAt = Date.parse(b.entries().find((e) => devops(e) && e.decision === "agent_launched")!.timestamp) / 1000 + 0.001;
    const quality = join(b.root, "messages", "inbox", "quality");
    const vetoes = readdirSync(quality).filter((n) => n.startsWith("veto-devops-"));
    expect(vetoes).toHaveLength(1);
    utimesSync(join(quality, vetoes[0]!), launchedAt, launchedAt);
    b.startDaemon();
    const es = await b.waitFor("the devops job judged after the restart", (x) => x.some((e) => devops(e) && (e.decision === "agent_exited" || e.decision === "agent_relaunched")), 60_000);
    expect(es.filter((e) => devops(e) && e.decision !== "agent_launched").map((e) => [e.decision, e.details!.verdict])).toEqual([["agent_exited", "ok"]]);
    const order = es.map((e) => e.decision);
    expect(order.lastIndexOf("veto_recorded")).toBeGreaterThan(-1);
    expect(order.lastIndexOf("veto_recorded")).toBeLessThan(es.findIndex((e) => devops(e) && e.decision === "agent_exited"));
    expect(runs(b).filter((r) => r.CONSENSUS_ROLE === "devops")).toHaveLength(1);
    expect(JSON.parse(b.cli("status", "EP-001", "--json").stdout)).toMatchObject({ status: "in_progress", stage: "implementation", iteration: 2 });
   }, 180_000);

  it("stops an agent that runs past its timeout and logs it", async () => {
    const b = busWith({ timeout: AGENT_TIMEOUT_MS, env: { AGENT_MODE: "sleep" } }, "runner: { kill_grace_ms: 2000 }\n");
    b.cli("start", "EP-001", "--title", "Health");
    b.startDaemon();
    const es = await b.waitForDecision("escalated");
    expect(es.map((e) => e.decision).filter((d) => d.startsWith("agent_"))).toEqual(["agent_launched", "agent_timed_out", "agent_exited", "agent_gave_up"]);
    expect(es.find((e) => e.decision === "agent_exited")!.details).toMatchObject({ verdict: "timed_out" });
    const pid = Number(runs(b)[0]!.pid);
    await b.until("the agent to be gone", () => !alive(pid));
  });

  it("SIGKILLs an agent that ignores SIGTERM once the grace is over: on a timeout", async () => {
    const b = busWith({ timeout: AGENT_TIMEOUT_MS, env: { AGENT_MODE: "stubborn" } }, "runner: { kill_grace_ms: 300 }\n");
    b.cli("start", "EP-001", "--title", "Health");
    b.startDaemon();
    const es = await b.waitForDecision("escalated");
    expect(es.map((e) => e.decision).filter((d) => d.startsWith("agent_"))).toEqual(["agent_launched", "agent_timed_out", "agent_exited", "agent_gave_up"]);
    expect(es.find((e) => e.decision === "agent_exited")!.details).toMatchObject({ code: null, signal: "SIGKILL", verdict: "timed_out" });
    expect(existsSync(join(b.dir, "ignored", firstLaunch(b)))).toBe(true);
    const pid = Number(runs(b)[0]!.pid);
    await b.until("the agent to be gone", () => !alive(pid));
  });

  it("SIGKILLs an agent that ignores SIGTERM once the grace is over: on a daemon stop", async () => {
    const b = busWith({ env: { AGENT_MODE: "stubborn" } }, "runner: { kill_grace_ms: 300 }\n");
    await stoppedWhileRunning(b, "SIGKILL");
    expect(existsSync(join(b.dir, "ignored", firstLaunch(b)))).toBe(true);
    const pid = Number(runs(b)[0]!.pid);
    await b.until("the agent to be gone", () => !alive(pid));
    expect(existsSync(join(b.root, ".consensus", "agents", `${firstLaunch(b)}.json`))).toBe(false);
  });

  it.each([
    ["its pid file", false],
    ["no pid file (killed between spawn and the pid file: found by its CONSENSUS_LAUNCH_ID in /proc)", true],
  ])("after a SIGKILL right after the launch, waits for the agent that still runs, with %s: exactly one launch", async (_what, losePidFile) => {
    const b = busWith({ env: { AGENT_MODE: "hang" } });
    b.cli("start", "EP-001", "--title", "Health");
    b.startDaemon();
    await b.waitForDecision("agent_launched");
    await b.until("the agent to run", () => runs(b).length === 1);
    await b.stopDaemon("SIGKILL");
    // the daemon may have been killed before it wrote the pid file: that is the case, not an error
    if (losePidFile) rmSync(join(b.root, ".consensus", "agents", `${firstLaunch(b)}.json`), { force: true });
    b.startDaemon();
    // (the new daemon first waits for the dead one's lock to go stale)
    await b.until("the restarted daemon to adopt it", () => /still runs: waiting for it/.test(b.daemonErr), 60_000);
    writeFileSync(join(b.dir, "release"), "");
    const es = await b.waitFor("plan accepted and the exit", (x) => count(x, "artifact_accepted") === 1 && count(x, "agent_exited") === 1);
    expect(count(es, "agent_launched")).toBe(1);
    expect(count(es, "agent_relaunched")).toBe(0);
    expect(es.find((e) => e.decision === "agent_exited")!.details).toMatchObject({ code: null, verdict: "ok" });
    expect(runs(b)).toHaveLength(1);
  });

  it("after a SIGKILL, relaunches an agent that died with it — once — and escalates a second loss", async () => {
    const b = busWith({ env: { AGENT_MODE: "hang" } });
    b.cli("start", "EP-001", "--title", "Health");
    b.startDaemon();
    await b.until("the agent to run", () => runs(b).length === 1);
    await b.stopDaemon("SIGKILL");
    process.kill(-Number(runs(b)[0]!.pid), "SIGKILL");
    await b.until("the agent to die", () => !alive(Number(runs(b)[0]!.pid)));
    b.startDaemon();
    await b.waitForDecision("agent_relaunched");
    // the lost launch's pid file goes with it
    expect(existsSync(join(b.root, ".consensus", "agents", `${firstLaunch(b)}.json`))).toBe(false);
    await b.until("the relaunched agent to run", () => runs(b).length === 2);
    // lose the relaunch too: the epic is escalated instead of looping
    await b.stopDaemon("SIGKILL");
    for (const r of runs(b)) if (alive(Number(r.pid))) process.kill(-Number(r.pid), "SIGKILL");
    await b.until("both agents to be gone", () => runs(b).every((r) => !alive(Number(r.pid))));
    b.startDaemon();
    const es = await b.waitForDecision("escalated");
    expect(count(es, "agent_launched")).toBe(2);
    expect(es.find((e) => e.decision === "escalated")!.details).toMatchObject({ reason: "agent_lost" });
  });

  it("stops running agents when the daemon gets SIGTERM, and relaunches them at the next start", async () => {
    const b = busWith({ env: { AGENT_MODE: "hang" } });
    await stoppedWhileRunning(b, "SIGTERM");
    expect(existsSync(join(b.dir, "terminated", firstLaunch(b)))).toBe(true);
    expect(alive(Number(runs(b)[0]!.pid))).toBe(false);
    writeFileSync(join(b.dir, "release"), "");
    b.startDaemon();
    const after = await b.waitForDecision("artifact_accepted");
    expect(after.filter((e) => e.decision === "agent_relaunched")).toHaveLength(1);
    expect(after.filter((e) => e.decision === "agent_launched").map((e) => e.details!.attempt)).toEqual([1, 1]);
  });

  it("exits on SIGTERM after agents that were gone before their pid files were written", async () => {
    // `true` exits within milliseconds, while the pid file is still being written (two fsyncs): the
    // agent's timeout must not be armed after its exit, where no exit would ever clear it again and
    // the timer would keep the stopped daemon alive for timeout_ms (30 min). Several launches, so one
    // of them exits in that window on any machine.
    const b = busWith({ command: ["true"] });
    const epics = ["EP-001", "EP-002", "EP-003", "EP-004", "EP-005", "EP-006", "EP-007", "EP-008"];
    for (const e of epics) b.cli("start", e, "--title", e);
    b.startDaemon();
    await b.waitFor("every launch's exit", (x) => count(x, "agent_exited") === epics.length);
    expect(await b.stopDaemon("SIGTERM")).toBe(0);
  });

  it("never runs more agents at once than runner.max_concurrent", async () => {
    const b = busWith({ env: { AGENT_MODE: "hang" } }, "runner: { max_concurrent: 2 }\n");
    for (let i = 1; i <= 5; i++) b.cli("start", `EP-00${i}`, "--title", `Epic ${i}`);
    b.startDaemon();
    const running = (): number => (existsSync(join(b.dir, "running")) ? readdirSync(join(b.dir, "running")).filter((n) => !n.startsWith(".")).length : 0);
    let most = 0;
    await b.until("two agents running", () => (most = Math.max(most, running())) >= 2);
    expect(count(b.entries(), "agent_launched")).toBe(2);
    writeFileSync(join(b.dir, "release"), "");
    const watch = setInterval(() => (most = Math.max(most, running())), 5);
    await b.waitFor("five plans", (x) => count(x, "artifact_accepted") === 5 && count(x, "agent_exited") === 5);
    clearInterval(watch);
    expect(most).toBeLessThanOrEqual(2);
    expect(Math.max(...runs(b).map((r) => Number(r.running_at_start)))).toBeLessThanOrEqual(2);
    expect(count(b.entries(), "agent_launched")).toBe(5);
  });

  it("a trigger launches a named agent on a deployment veto from devops", async () => {
    const b = busWith({ env: { AGENT_MODE: "drop" } });
    mkdirSync(join(b.dir, "agents"), { recursive: true });
    writeFileSync(join(b.dir, "agents", "fixer.md"), `---\nname: fixer\ndescription: "Looks into a deployment veto."\nrole: devops\nmodel: sonnet\ntriggers:\n  - { on: veto_recorded, stage: deployment, from: devops }\n---\n# Fixer\n`);
    appendFileSync(join(b.root, "consensus.yaml"), `  fixer: ${JSON.stringify({ command: [process.execPath, script], env: { AGENT_MODE: "fixer", TEST_DIR: b.dir } })}\n`);
    b.applyConfig();
    await toDeployment(b);
    await b.waitFor("deployment", (x) => count(x, "stage_advanced") === 3);
    b.drop("messages/inbox/quality/veto.yaml", vetoYaml("devops", "quality", "EP-001", 1, "no_health_check"));
    const es = await b.waitFor("the fixer's exit", (x) => x.some((e) => e.decision === "agent_exited" && (e.details as { job: string }).job.endsWith("-fixer")));
    const launched = es.find((e) => e.decision === "agent_launched" && e.details!.agent === "fixer")!;
    expect(launched.details).toMatchObject({ kind: "trigger", on: "veto_recorded", role: "devops" });
    const listed = JSON.parse(b.cli("agents", "--format", "json").stdout) as { agents: Array<{ key: string; role?: string; triggers: unknown[]; command?: string }> };
    expect(listed.agents.find((a) => a.key === "fixer")).toMatchObject({ role: "devops", triggers: [{ on: "veto_recorded", stage: "deployment", from: "devops" }], command: expect.stringContaining("scripted.mjs") });
    const fixerRun = runs(b).find((r) => r.CONSENSUS_AGENT === "fixer")!;
    expect(fixerRun).toMatchObject({ CONSENSUS_TRIGGER: "veto_recorded", CONSENSUS_ROLE: "devops", CONSENSUS_EPIC: "EP-001", CONSENSUS_PROMPT: join(b.dir, "agents", "fixer.md") });
  });
});

/** Starts EP-001 (its planner drops the plan) and drops its implementation and an approving review: it enters deployment. */
async function toDeployment(b: Bus): Promise<void> {
  b.cli("start", "EP-001", "--title", "Health");
  b.startDaemon();
  await b.waitFor("implementation stage", (x) => count(x, "stage_advanced") === 1);
  b.drop("artifacts/EP-001/implementation.json", artifact("implementation.json", "EP-001", 1));
  await b.waitFor("review", (x) => count(x, "stage_advanced") === 2);
  b.drop("artifacts/EP-001/review.json", artifact("review.json", "EP-001", 1, { review_status: "approved" }));
}

/** Starts an epic whose planner runs, stops the daemon with SIGTERM, and checks the last entry: the agent stopped with `signal`. */
async function stoppedWhileRunning(b: Bus, signal: "SIGTERM" | "SIGKILL"): Promise<void> {
  b.cli("start", "EP-001", "--title", "Health");
  b.startDaemon();
  await b.until("the agent to run", () => runs(b).length === 1);
  expect(await b.stopDaemon("SIGTERM")).toBe(0);
  const last = b.entries().at(-1)!;
  expect(last.decision).toBe("agent_stopped");
  expect(last.details).toMatchObject({ signal, launch_id: firstLaunch(b) });
}
