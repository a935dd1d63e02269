import { afterEach, describe, expect, it } from "vitest";
import { openSync, writeSync, closeSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Bus, artifact } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

describe("what the bus accepts", () => {
  it("flat drops: epic_id inside says which epic; epic-less files go to the one epic waiting, and are ambiguous with two", async () => {
    bus = Bus.init();
    bus.cli("start", "EP-020", "--title", "Flat A");
    bus.cli("start", "EP-021", "--title", "Flat B");
    bus.startDaemon();
    bus.drop("artifacts/plan.json", artifact("plan.json", "EP-020", 1));
    await bus.waitFor("EP-020 plan accepted", (es) => es.some((e) => e.decision === "artifact_accepted" && e.epic_id === "EP-020"));
    bus.drop("artifacts/EP-021/plan.json", artifact("plan.json", "EP-021", 1));
    for (const epic of ["EP-020", "EP-021"]) {
      for (const name of ["implementation.json", "review.json"]) bus.drop(`artifacts/${epic}/${name}`, artifact(name, epic, 1));
    }
    await bus.waitFor("both at deployment", (es) => es.filter((e) => e.decision === "stage_advanced" && (e.details as { to: string }).to === "deployment").length === 2);
    bus.drop("artifacts/runbook.md", artifact("runbook.md", "X", 1));
    await bus.waitForDecision("artifact_rejected");
    expect(bus.entries().find((e) => e.decision === "artifact_rejected")!.details).toMatchObject({ errors: [expect.objectContaining({ code: "AMBIGUOUS_EPIC", found: "EP-020, EP-021" })] });
  });

  it("an in-place writer is never acted on half-way: the finished file is accepted, nothing rejected", async () => {
    bus = Bus.init();
    bus.cli("start", "EP-022", "--title", "In place");
    bus.startDaemon();
    const text = artifact("plan.json", "EP-022", 1);
    mkdirSync(join(bus.root, "artifacts/EP-022"), { recursive: true });
    const fd = openSync(join(bus.root, "artifacts/EP-022/plan.json"), "w");
    writeSync(fd, text.slice(0, 40)); // an editor's first chunk: not JSON yet
    writeSync(fd, text.slice(40));
    closeSync(fd);
    await bus.waitForDecision("stage_advanced");
    expect(bus.entries().filter((e) => e.decision === "artifact_rejected")).toEqual([]);
    expect(bus.entries().filter((e) => e.decision === "artifact_accepted")).toHaveLength(1);
  });

  it("a per-epic drop whose folder disagrees with its epic_id is rejected and left in place", async () => {
    bus = Bus.init();
    bus.cli("start", "EP-023", "--title", "Mismatch");
    bus.drop("artifacts/EP-023/plan.json", artifact("plan.json", "EP-999", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    const r = bus.entries().find((e) => e.decision === "artifact_rejected")!;
    expect(r.details).toMatchObject({ author: "planner", errors: [expect.objectContaining({ code: "EPIC_FOLDER_MISMATCH", path: "/epic_id", expected: "EP-023", found: "EP-999" })] });
    expect(bus.inbox("planner").some((n) => n.includes("artifact_rejected"))).toBe(true);
  });

  it("the compact JSON message form is read as the same message (a veto here)", () => {
    bus = Bus.init();
    bus.cli("start", "EP-024", "--title", "Compact");
    for (const name of ["plan.json", "implementation.json"]) bus.drop(`artifacts/EP-024/${name}`, artifact(name, "EP-024", 1));
    bus.cli("watch", "--once");
    bus.drop("messages/inbox/developer/compact.json", { d: "2026-11-21", st: "veto", r: "quality", epic: "EP-024", sm: ["No tests for the error path"], nx: ["add tests"] });
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(JSON.parse(bus.cli("status", "EP-024", "--json").stdout)).toMatchObject({ stage: "implementation", iteration: 2, open_vetoes: [{ from: "quality", subject: "no_tests_for_the_error_path" }] });
  });

  it("validate --strict warns about fields the schema does not know, without failing", () => {
    bus = Bus.init();
    const file = join(bus.dir, "plan.json");
    bus.drop("../plan.json", artifact("plan.json", "EP-025", 1, { rollbak_plan: {} }));
    const r = bus.cli("validate", file, "--strict");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/warning \[UNKNOWN_FIELD\].*\/rollbak_plan/);
    expect(bus.cli("validate", file).stdout).not.toMatch(/UNKNOWN_FIELD/);
  });
});

describe("polling mode (network file systems)", () => {
  it("watch --poll sees drops too", async () => {
    bus = Bus.init();
    bus.cli("start", "EP-030", "--title", "Polling");
    bus.startDaemon("--poll");
    bus.drop("artifacts/EP-030/plan.json", artifact("plan.json", "EP-030", 1));
    await bus.waitForDecision("stage_advanced");
    expect(JSON.parse(bus.cli("status", "EP-030", "--json").stdout)).toMatchObject({ stage: "implementation" });
  });
});
