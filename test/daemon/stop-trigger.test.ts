/**
 * A launch an effect asks for is never passed by a checkpoint undecided (overlapEffects, issue 17.2).
 * A trigger's launch, unlike a stage owner's, is not derived again at start: it is asked only by the
 * effect of its entry, re-run by recovery only while that entry is after the checkpoint. So a daemon
 * told to stop while the batch that fired the trigger still runs its effects (here a large archive
 * copy, written in the pool, before the launch) must decide the launch before its last checkpoint, as
 * it did when a batch awaited its own effects. The real daemon, in this process (its stop promise),
 * with the scripted agent.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runDaemon } from "../../src/daemon/daemon.js";
import { silentLogger } from "../../src/daemon/logger.js";
import { artifact, Bus } from "../support/bus.js";
import { buses, cleanupBuses, script } from "../support/agents.js";

afterEach(cleanupBuses);

describe("a stop while a batch's effects run", () => {
  it("decides the launch its trigger asks for before the last checkpoint passes the entry", async () => {
    const b = Bus.init();
    buses.push(b);
    mkdirSync(join(b.dir, "agents"), { recursive: true });
    writeFileSync(join(b.dir, "agents", "fixer.md"), `---\nname: fixer\ndescription: "Reads each accepted plan."\nrole: planner\nmodel: sonnet\ntriggers:\n  - { on: artifact_accepted }\n---\n# Fixer\n`);
    appendFileSync(join(b.root, "consensus.yaml"), `\nagents:\n  fixer: ${JSON.stringify({ command: [process.execPath, script], retries: 0, env: { AGENT_MODE: "fixer", TEST_DIR: b.dir } })}\n`);
    b.applyConfig();
    expect(b.cli("start", "EP-001", "--title", "Health").code).toBe(0);
    // over 256 KiB: its archive copy is written in the pool, so the batch's effects outlast its decision
    b.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1).replace(/\n$/, `${" ".repeat(300 * 1024)}\n`));
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const code = await runDaemon({
      root: b.root,
      log: silentLogger(),
      stop: stopped,
      rescanMs: 0,
      // SIGTERM as the plan is accepted: the daemon stops after the batch in hand
      onEntries: (es) => void (es.some((e) => e.decision === "artifact_accepted") && stop()),
    });
    expect(code).toBe(0);
    const es = b.entries();
    const accepted = es.find((e) => e.decision === "artifact_accepted")!;
    expect(accepted).toBeDefined();
    const launched = es.some((e) => e.decision === "agent_launched" && (e.details as { agent?: string }).agent === "fixer");
    const cp = JSON.parse(readFileSync(join(b.root, ".consensus", "checkpoint.json"), "utf8")) as { seq: number };
    // either the launch is decided (logged; its agent stopped with the daemon, relaunched at start), or
    // the checkpoint stops before the entry, whose effect a restart runs again
    expect({ launched, checkpointPassesTrigger: cp.seq >= accepted.seq! }).not.toEqual({ launched: false, checkpointPassesTrigger: true });
  });
});
