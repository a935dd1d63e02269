/** Rules as configuration through the real CLI and daemon: presets, modes, safe config changes. */
import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Bus, artifact } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

const config = (b: Bus) => join(b.root, "consensus.yaml");
describe("presets and modes from the command line", () => {
  it("init --preset full writes the six-role pipeline; an unknown preset is a usage error naming the presets", () => {
    bus = Bus.init("--preset", "full");
    expect(readFileSync(config(bus), "utf8")).toContain("preset: full");
    const graph = bus.cli("graph");
    expect(graph.stdout).toContain("requirements");
    expect(graph.stdout).toContain("never overridden: security_vulnerability, layer_violation");
    const bad = bus.cli("init", "--preset", "nope", "--force");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("default, full");
  });

  it("start --mode hotfix runs developer → devops; status shows the mode; --mode nope is refused", () => {
    bus = Bus.init();
    const r = bus.cli("start", "HF-1", "--title", "Hotfix", "--mode", "hotfix");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("in mode hotfix at stage implementation");
    bus.drop("artifacts/HF-1/implementation.json", artifact("implementation.json", "HF-1", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(JSON.parse(bus.cli("status", "HF-1", "--json").stdout)).toMatchObject({ mode: "hotfix", stage: "deployment" });
    const bad = bus.cli("start", "HF-2", "--title", "x", "--mode", "nope");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("BAD_MODE");
    const g = bus.cli("graph", "--mode", "hotfix").stdout;
    expect(g).toContain("[*] --> implementation");
    expect(g).not.toContain("review");
  });
});

describe("consensus.yaml changed while the daemon runs", () => {
  it("a bad edit is rejected and logged, the old rules stay; a good one is logged and strands no epic", async () => {
    bus = Bus.init();
    bus.cli("start", "CF-1", "--title", "At review");
    bus.cli("start", "CF-2", "--title", "At plan");
    bus.startDaemon();
    bus.drop("artifacts/CF-1/plan.json", artifact("plan.json", "CF-1", 1));
    bus.drop("artifacts/CF-1/implementation.json", artifact("implementation.json", "CF-1", 1));
    await bus.waitFor("CF-1 at review", (es) => es.some((e) => e.epic_id === "CF-1" && e.decision === "stage_advanced" && (e.details as { to?: string }).to === "review"));

    const original = readFileSync(config(bus), "utf8");
    // 1. broken YAML: config_rejected with where and a fix; the daemon keeps going on the old rules
    bus.editConfig((t) => t.replace("roles: [planner, developer, quality, devops]", "roles: [planner, developer"), { apply: false });
    const rej = (await bus.waitForDecision("config_rejected")).find((e) => e.decision === "config_rejected");
    expect(rej!.details).toMatchObject({ file: "consensus.yaml", errors: [{ code: "YAML_SYNTAX" }] });
    expect(String((rej!.details as { fix: string }).fix)).toContain("consensus validate");
    expect(String((rej!.details as { fix: string }).fix)).toContain("consensus config apply");
    expect(bus.cli("config", "apply", "--yes").code).toBe(1);
    bus.drop("artifacts/CF-2/plan.json", artifact("plan.json", "CF-2", 1));
    await bus.waitFor("CF-2 advanced on the old rules", (es) => es.some((e) => e.epic_id === "CF-2" && e.decision === "stage_advanced"));

    // 2. a valid config without the review stage: CF-1 (at review) is escalated, not stranded
    bus.editConfig(() =>
      original
        .replace("  - id: review\n    owner: quality\n    artifacts: [review.json]     # review_status other than approved is quality's veto\n    vetoes: [quality, devops]\n", "")
        .replace("    stages: [implementation, review]", "    stages: [implementation]"),
    );
    const changed = (await bus.waitForDecision("config_changed")).filter((e) => e.decision === "config_changed");
    expect(changed.at(-1)!.details).toMatchObject({ stranded: ["CF-1"] });
    const esc = (await bus.waitForDecision("escalated", 1, "CF-1")).find((e) => e.decision === "escalated");
    expect(esc!.details).toMatchObject({ reason: "stage_removed", stage: "review" });
    expect(bus.cli("override", "CF-1", "--to", "deployment", "--reason", "review is gone").code).toBe(0);
    await bus.waitFor("CF-1 moved on", (es) => es.some((e) => e.epic_id === "CF-1" && e.decision === "overridden"));
    expect(await bus.stopDaemon()).toBe(0);
    const state = JSON.parse(readFileSync(join(bus.root, "current", "state.json"), "utf8")) as { config_version: string };
    expect(state.config_version).toBe(changed.at(-1)!.details!.to);
    expect(bus.cli("log", "verify").code).toBe(0);
  });

  it("a config changed while no daemon ran is applied at the next start, with the same escalation", () => {
    bus = Bus.init();
    bus.cli("start", "CF-3", "--title", "At plan");
    expect(bus.cli("watch", "--once").code).toBe(0);
    bus.editConfig((t) => t.replace("  - id: plan\n    owner: planner\n    artifacts: [plan.json]\n", "").replace("  developer: plan\n", ""));
    expect(bus.cli("watch", "--once").code).toBe(0);
    const es = bus.entries();
    expect(es.find((e) => e.decision === "config_changed")!.details).toMatchObject({ stranded: ["CF-3"] });
    expect(JSON.parse(bus.cli("status", "CF-3", "--json").stdout)).toMatchObject({ status: "escalated", escalation: { reason: "stage_removed" } });
  });
});
