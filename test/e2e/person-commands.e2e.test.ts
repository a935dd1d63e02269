/**
 * A person's commands report the verdict: approve, veto, override and cancel wait (bounded) for the
 * running daemon's decision and exit 1 with its reason when it refuses; `--no-wait` only hands them
 * over. A command behind a dead daemon's lock says so and goes on.
 */
import { userInfo } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Bus, artifact, daemonHolding } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

describe("person commands wait for the daemon's verdict", () => {
  it("veto: refused by the running daemon → exit 1 with the reason; accepted → exit 0 with what it did", async () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Verdicts").code).toBe(0);
    await daemonHolding(bus);
    // developer may veto only at implementation; the epic is at plan
    const refused = bus.cli("veto", "EP-001", "--role", "developer", "--subject", "bad_plan", "--reason", "no /health");
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toContain("[VETO_NOT_ALLOWED]");
    expect(refused.stderr).toMatch(/veto rejected by the running daemon/);
    bus.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    await bus.waitForDecision("stage_advanced", 1, "EP-001");
    const ok = bus.cli("veto", "EP-001", "--role", "developer", "--subject", "bad_plan", "--reason", "no /health");
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/veto accepted by the running daemon/);
    expect(ok.stdout).toMatch(/implementation → plan/);
    // the reason is said once, not "no /health: no /health"
    const veto = bus.entries().find((e) => e.decision === "veto_recorded")!;
    expect((veto.details as { violation: string }).violation).toBe(`no /health: raised by ${userInfo().username} (as tester) for the developer role`);
  });

  it("override and cancel: refused → exit 1 with the reason; --no-wait only hands it over", async () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-002", "--title", "Refusals").code).toBe(0);
    await daemonHolding(bus);
    const refused = bus.cli("override", "EP-002", "--reason", "not escalated");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("[NOT_ESCALATED]");
    expect(refused.stderr).toContain("override EP-002 refused by the running daemon");
    const handed = bus.cli("cancel", "EP-002", "--reason", "descoped", "--no-wait");
    expect(handed.code, handed.stderr).toBe(0);
    expect(handed.stdout).toContain("--no-wait");
    await bus.waitForDecision("cancelled", 1, "EP-002");
    const again = bus.cli("approve", "EP-002", "--role", "quality", "--subject", "fine", "--no-wait");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("the running daemon will decide it");
    await bus.waitForDecision("message_rejected", 1, "EP-002");
  });

  it("a command behind a dead daemon's lock says so at once and goes on", async () => {
    bus = Bus.init();
    bus.env = { CONSENSUS_LOCK_STALE_MS: "2000" };
    expect(bus.cli("start", "EP-003", "--title", "Orphaned lock").code).toBe(0);
    await daemonHolding(bus);
    const pid = bus.daemon!.pid;
    await bus.stopDaemon("SIGKILL");
    const r = bus.cli("start", "EP-004", "--title", "After the crash");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`the daemon that held ${bus.root} (pid ${pid}`);
    expect(r.stderr).toContain("is gone; taking over its lock");
    expect(r.stdout).toContain("applied directly");
    const v = bus.cli("veto", "EP-003", "--role", "devops", "--subject", "too_early");
    expect(v.code).toBe(1);
    expect(v.stderr).toContain("veto rejected:");
  });
});
