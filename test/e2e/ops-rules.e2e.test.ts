/** Deadlines and budgets through the real daemon: they live in the log and state, so they survive restarts. */
import { afterEach, describe, expect, it } from "vitest";
import { Bus, artifact } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

describe("stage deadlines", () => {
  it("the daemon reminds the owner on the first expiry and escalates on the second", async () => {
    bus = Bus.init();
    bus.editConfig((t) => t.replace("    artifacts: [plan.json]\n", "    artifacts: [plan.json]\n    deadline: 1s\n"));
    bus.cli("start", "DL-1", "--title", "Slow planner");
    bus.startDaemon();
    const es = await bus.waitForDecision("deadline_reminder", 1, "DL-1");
    expect(es.find((e) => e.decision === "deadline_reminder")!.details).toMatchObject({ stage: "plan", owner: "planner" });
    await bus.until("the planner's reminder notice", () => bus.inbox("planner").some((n) => n.includes("deadline_reminder")));
    const esc = (await bus.waitForDecision("escalated", 1, "DL-1")).find((e) => e.decision === "escalated")!;
    expect(esc.details).toMatchObject({ reason: "deadline_missed", stage: "plan" });
    expect(await bus.stopDaemon()).toBe(0);
  });

  it("a deadline that passed while no daemon ran fires at the next start (no in-memory timer is needed)", () => {
    bus = Bus.init();
    // 1 ms: past by the time the next command runs, so there is nothing to wait for
    bus.editConfig((t) => t.replace("    artifacts: [plan.json]\n", "    artifacts: [plan.json]\n    deadline: 1\n"));
    bus.cli("start", "DL-2", "--title", "Down over the deadline");
    const due = Date.parse(JSON.parse(bus.cli("status", "DL-2", "--json").stdout).deadline.at);
    expect(Date.now()).toBeGreaterThan(due);
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.entries().filter((e) => e.decision === "deadline_reminder" && e.epic_id === "DL-2")).toHaveLength(1);
    expect(bus.entries().filter((e) => e.decision === "escalated" && e.epic_id === "DL-2")).toEqual([]);
    // the reminder set the next deadline (1 ms later, so due again at once): the second run escalates,
    // and reminds no one a second time for one expiry
    expect(bus.cli("watch", "--once").code).toBe(0);
    const reminders = bus.entries().filter((e) => e.decision === "deadline_reminder" && e.epic_id === "DL-2");
    expect(reminders).toHaveLength(1);
    expect(bus.entries().filter((e) => e.decision === "escalated" && e.epic_id === "DL-2").map((e) => e.details)).toEqual([expect.objectContaining({ reason: "deadline_missed", stage: "plan" })]);
    expect(JSON.parse(bus.cli("status", "DL-2", "--json").stdout)).toMatchObject({ status: "escalated", escalation: { reason: "deadline_missed" } });
  });
});

describe("budgets", () => {
  it("spend is shown against the budget; crossing it escalates with the figures", () => {
    bus = Bus.init();
    bus.editConfig((t) => t.replace("max_iterations: 3\n", "max_iterations: 3\nbudget: { cost_usd: 2.5 }\n"));
    bus.cli("start", "BG-1", "--title", "Expensive");
    bus.drop("artifacts/BG-1/plan.json", JSON.stringify({ ...JSON.parse(artifact("plan.json", "BG-1", 1)), cost_usd: 1.5, tokens: 12000 }));
    expect(bus.cli("watch", "--once").code).toBe(0);
    const st = bus.cli("status");
    expect(st.stdout).toContain("$1.50/$2.5 12000 tok");
    bus.drop("artifacts/BG-1/implementation.json", JSON.stringify({ ...JSON.parse(artifact("implementation.json", "BG-1", 1)), cost_usd: 1.25 }));
    expect(bus.cli("watch", "--once").code).toBe(0);
    const s = JSON.parse(bus.cli("status", "BG-1", "--json").stdout);
    expect(s).toMatchObject({ status: "escalated", escalation: { reason: "budget_exceeded" }, spend: { cost_usd: 2.75, budget: { cost_usd: 2.5 } } });
    expect(bus.entries().find((e) => e.decision === "escalated")!.details).toMatchObject({ over: ["cost_usd"], spend: { cost_usd: 2.75 } });
  });
});
