import { userInfo } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { Bus, artifact, vetoYaml } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

async function toDeployment(b: Bus, epic: string, iteration: number): Promise<void> {
  for (const name of ["plan.json", "implementation.json", "review.json"]) {
    if (name === "plan.json" && iteration > 1) continue;
    b.drop(`artifacts/${epic}/${name}`, artifact(name, epic, iteration));
    await b.waitFor(`${name} accepted in iteration ${iteration}`, (es) => es.some((e) => e.decision === "artifact_accepted" && e.epic_id === epic && e.iteration === iteration && String((e.details as { file: string }).file).endsWith(name)));
  }
}

describe("the daemon, end to end", () => {
  it("plays the demo story: DevOps vetoes iteration 1, iteration 2 is promoted", async () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Health check").code).toBe(0);
    bus.startDaemon();
    await toDeployment(bus, "EP-001", 1);
    bus.drop("messages/inbox/quality/veto-1.yaml", bus.fixture("seed004/veto.yaml"));
    await bus.waitFor("rework", (es) => es.some((e) => e.decision === "stage_advanced" && e.iteration === 2));
    expect(bus.cli("status", "EP-001", "--json")).toMatchObject({ code: 2 });
    const st = JSON.parse(bus.cli("status", "EP-001", "--json").stdout);
    expect(st).toMatchObject({ stage: "implementation", iteration: 2, waiting_for: ["developer"], open_vetoes: [{ from: "devops", subject: "not_production_ready", iteration: 1 }] });
    // the developer got a rework notice that names the veto
    const rework = bus.inbox("developer").find((n) => n.includes("rework_requested"))!;
    const notice = load(readFileSync(join(bus.root, "messages/inbox/developer", rework), "utf8")) as { iteration: number; content: { open_vetoes: unknown[]; reason: string } };
    expect(notice).toMatchObject({ iteration: 2, content: { reason: "veto by devops: not_production_ready" } });
    await toDeployment(bus, "EP-001", 2);
    for (const name of ["deployment.json", "cicd.yaml", "runbook.md"]) bus.drop(`artifacts/EP-001/${name}`, artifact(name, "EP-001", 2));
    await bus.waitForDecision("promoted");
    expect(bus.cli("status", "EP-001").code).toBe(0);
    expect(bus.cli("log", "verify").code).toBe(0);
    // accepted artifacts are archived per iteration, exactly as dropped
    expect(readFileSync(join(bus.root, "archive/EP-001/2/runbook.md"), "utf8")).toBe(artifact("runbook.md", "EP-001", 2));
    expect(existsSync(join(bus.root, "archive/EP-001/1/review.json"))).toBe(true);
    expect(await bus.stopDaemon()).toBe(0);
  });

  it("escalates after three vetoed iterations; override resumes; cancel ends", async () => {
    bus = Bus.init();
    bus.cli("start", "EP-002", "--title", "Flaky");
    bus.startDaemon();
    for (const [i, subject] of [[1, "a"], [2, "b"], [3, "c"]] as const) {
      await toDeployment(bus, "EP-002", i);
      bus.drop(`messages/inbox/quality/veto-${i}.yaml`, vetoYaml("devops", "quality", "EP-002", i, `missing_${subject}`));
      await bus.waitForDecision("veto_recorded", i, "EP-002");
    }
    await bus.waitForDecision("escalated");
    const esc = bus.entries().find((e) => e.decision === "escalated")!;
    expect(esc.details).toMatchObject({ reason: "max_iterations" });
    expect(bus.cli("status", "EP-002").code).toBe(1);
    // a person overrides (through the running daemon) and the epic resumes where it was escalated
    const o = bus.cli("override", "EP-002", "--reason", "checked by hand", "--to", "deployment");
    expect(o.code, o.stderr).toBe(0);
    const overridden = bus.entries().find((e) => e.decision === "overridden")!;
    expect(overridden.details).toMatchObject({ by: userInfo().username, as: "tester", reason: "checked by hand", to: "deployment" });
    expect(JSON.parse(bus.cli("status", "EP-002", "--json").stdout)).toMatchObject({ status: "in_progress", stage: "deployment", open_vetoes: [] });
    // override of an epic that is not escalated is refused with a reason
    const again = bus.cli("override", "EP-002", "--reason", "x");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/NOT_ESCALATED/);
    expect(bus.cli("cancel", "EP-002", "--reason", "descoped").code).toBe(0);
    expect(bus.cli("status", "EP-002").code).toBe(1);
    expect(bus.entries().at(-1)).toMatchObject({ decision: "cancelled", details: { reason: "descoped", by: userInfo().username, as: "tester" } });
  });

  it("rejects bad artifacts with every error in the log and a notice in the author's inbox, and keeps going", async () => {
    bus = Bus.init();
    bus.cli("start", "EP-003", "--title", "Bad input");
    bus.startDaemon();
    await toDeployment(bus, "EP-003", 1);
    bus.drop("artifacts/EP-003/deployment.json", bus.fixture("invalid/deployment-no-health-checks.json").replace(/"EP-[0-9]+"/, '"EP-003"'));
    bus.drop("artifacts/EP-003/runbook.md", "# Runbook\n\n## Service Overview\nx\n");
    await bus.waitForDecision("artifact_rejected", 2);
    const rejected = bus.entries().filter((e) => e.decision === "artifact_rejected");
    const dep = rejected.find((e) => String((e.details as { file: string }).file).endsWith("deployment.json"))!;
    expect(dep.details).toMatchObject({ author: "devops", errors: expect.arrayContaining([expect.objectContaining({ path: "/health_checks", code: "SCHEMA" })]) });
    const run = rejected.find((e) => String((e.details as { file: string }).file).endsWith("runbook.md"))!;
    expect((run.details as { errors: unknown[] }).errors.length).toBe(3); // monitoring, common issues, rollback procedure
    await bus.waitFor("rejection notices", () => bus.inbox("devops").filter((n) => n.includes("artifact_rejected")).length === 2);
    // the offending files are left in place for a person to see
    expect(existsSync(join(bus.root, "artifacts/EP-003/deployment.json"))).toBe(true);
    // and the daemon goes on with the next valid file
    for (const name of ["deployment.json", "cicd.yaml", "runbook.md"]) bus.drop(`artifacts/EP-003/${name}`, artifact(name, "EP-003", 1));
    await bus.waitForDecision("promoted");
    expect(bus.cli("validate", join(bus.root, "artifacts/EP-003/deployment.json")).code).toBe(0);
  });
});
