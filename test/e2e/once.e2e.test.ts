/**
 * Issue 11 item 4: once per content, in every layout, across restarts. The seed-004 flat layout
 * (artifacts/cicd.yaml, artifacts/runbook.md: no epic_id inside) after the epic is promoted.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Bus, artifact } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

const FLAT = ["plan.json", "implementation.json", "review.json", "deployment.json", "cicd.yaml", "runbook.md"];

describe("an accepted file is never decided again", () => {
  it("flat layout: after promotion, restarts and re-scans decide nothing and tell devops nothing", async () => {
    bus = Bus.init();
    bus.cli("start", "EP-060", "--title", "Seed 004 flat");
    // the files that name their epic first (each read once its stage comes), then the deployment trio
    // once the epic is at deployment (cicd.yaml and runbook.md count when written after it got there)
    const write = (name: string) => bus.drop(`artifacts/${name}`, name === "review.json" ? artifact(name, "EP-060", 1, { review_status: "approved", findings: [] }) : artifact(name, "EP-060", 1));
    for (const name of FLAT.slice(0, 3)) write(name);
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(JSON.parse(bus.cli("status", "EP-060", "--json").stdout)).toMatchObject({ stage: "deployment" });
    for (const name of FLAT.slice(3)) write(name);
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(JSON.parse(bus.cli("status", "EP-060", "--json").stdout)).toMatchObject({ status: "promoted" });
    const decided = bus.entries().length;
    const devopsInbox = bus.inbox("devops");

    // a restart (the start-up scan), then a live daemon (watcher armed, periodic re-scans), then another epic
    expect(bus.cli("watch", "--once").code).toBe(0);
    bus.cli("start", "EP-061", "--title", "Next epic");
    bus.env.CONSENSUS_RESCAN_MS = "200";
    bus.startDaemon();
    // the next epic's plan goes through the live daemon, which re-scans every 200 ms meanwhile
    bus.drop("artifacts/EP-061/plan.json", artifact("plan.json", "EP-061", 1));
    await bus.waitForDecision("stage_advanced", 1, "EP-061");
    await bus.stopDaemon();
    expect(bus.cli("watch", "--once").code).toBe(0);

    const after = bus.entries().slice(decided).filter((e) => e.epic_id !== "EP-061");
    expect(after.filter((e) => e.decision !== "lock_taken_over")).toEqual([]);
    expect(bus.inbox("devops")).toEqual(devopsInbox);
  }, 180_000);
});
