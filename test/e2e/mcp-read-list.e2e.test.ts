/**
 * review rv6 (issue 17.2): an MCP session keeps one read-only store for its whole life and asks it, at
 * each `task` call, what the daemon has published. Since the store keeps an epic's list once listed,
 * a session that asked once never saw a later copy: after a rework, its read list still named the
 * first plan, and the developer would build on the plan that was vetoed. The real daemon, the real
 * `consensus mcp` sessions.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Bus, artifact } from "../support/bus.js";
import { Agent } from "../support/mcp.js";

let bus: Bus;
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  await bus?.stopDaemon().catch(() => {});
  bus?.cleanup();
});

const readOf = (data: Record<string, unknown>): string[] => ((data.work as Array<{ read: Array<{ path: string }> }>)[0]?.read ?? []).map((r) => r.path);

describe("task's read list in a session that lives across a rework", () => {
  it("names the reworked plan, not the one vetoed", async () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Rework").code).toBe(0);
    bus.startDaemon();
    const session = async (role: string): Promise<Agent> => {
      const a = await Agent.stdio(bus, role);
      agents.push(a);
      return a;
    };
    const planner = await session("planner");
    const developer = await session("developer");
    expect((await planner.call("submit_artifact", { epic_id: "EP-001", file: "plan.json", content: artifact("plan.json", "EP-001", 1) })).data).toMatchObject({ verdict: "accepted", epic: { stage: "implementation" } });
    expect(readOf((await developer.call("task", { epic_id: "EP-001" })).data)).toEqual(["epics/EP-001/epic.md", "archive/EP-001/1/plan.json"]);
    // the developer vetoes the plan: back to plan, iteration 2; the planner reworks it
    expect((await developer.call("send_message", { epic_id: "EP-001", type: "veto", subject: "untestable", content: { violation: "T2 cannot be verified", specifics: "no threshold" } })).data).toMatchObject({ verdict: "accepted", epic: { stage: "plan", iteration: 2 } });
    expect((await planner.call("submit_artifact", { epic_id: "EP-001", file: "plan.json", content: artifact("plan.json", "EP-001", 2) })).data).toMatchObject({ verdict: "accepted", epic: { stage: "implementation", iteration: 2 } });
    // the same session asks again
    expect(readOf((await developer.call("task", { epic_id: "EP-001" })).data)).toEqual(["epics/EP-001/epic.md", "archive/EP-001/2/plan.json"]);
  });
});
