/**
 * A flood of inputs from one author (issue 12.10) is rate-limited in the daemon's own log and in the
 * notices it writes back, never in what is decided: every input is still decided and in the decision log.
 */
import { appendFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { approveYaml, artifact, Bus } from "../support/bus.js";

const buses: Bus[] = [];
afterEach(() => {
  for (const b of buses.splice(0)) b.cleanup();
});

describe("a flood from one author", () => {
  it("is decided and logged whole in the decision log, but shown in the daemon's log and noticed only up to security.flood_per_minute", async () => {
    const b = Bus.init();
    buses.push(b);
    appendFileSync(join(b.root, "consensus.yaml"), "\nsecurity: { flood_per_minute: 10 }\n");
    b.applyConfig();
    b.cli("start", "EP-001", "--title", "Flood");
    b.startDaemon("--log-level", "info");
    await b.waitForDecision("epic_started");
    const N = 200;
    // from a real role, each different (no duplicate), each invalid (iteration is not a number)
    for (let i = 0; i < N; i++) b.drop(`messages/inbox/planner/flood-${i}.yaml`, approveYaml("developer", "planner", "EP-001", 1, `content: { n: ${i} }\n`).replace("iteration: 1", `iteration: "x${i}"`));
    const es = await b.waitFor(`${N} rejections`, (x) => x.filter((e) => e.decision === "message_rejected").length === N, 120_000);
    expect(es.filter((e) => e.decision === "message_rejected").every((e) => (e.details as { author?: string }).author === "developer")).toBe(true);
    // the daemon's own decisions are never held back: the work goes on
    b.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    await b.waitForDecision("stage_advanced");
    // (its log is written asynchronously: all of it is out once it has stopped)
    expect(await b.stopDaemon()).toBe(0);
    expect(b.daemonErr).toMatch(/developer is flooding: more than 10 decisions this minute/);
    expect(b.daemonErr).toMatch(/"decision":"stage_advanced"/);
    const lines = b.daemonErr.split("\n").filter((l) => l.includes('"decision":"message_rejected"'));
    expect(lines.length).toBeLessThanOrEqual(10);
    const notices = readdirSync(join(b.root, "messages", "inbox", "developer")).filter((n) => n.includes("message_rejected"));
    expect(notices.length).toBeLessThanOrEqual(10);
  });
});
