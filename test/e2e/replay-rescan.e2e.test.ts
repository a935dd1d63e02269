/**
 * Recovery re-runs the effects of entries after the checkpoint before the daemon has its engine: the
 * rescan effect of a stage entry used the engine before it was assigned (`TypeError … 'pipeline'` on
 * every replay). The replayed rescan must work: a drop made while nothing ran is found by it.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, artifact } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

describe("replayed effects at start", () => {
  it("re-runs a stage entry's rescan without a TypeError, and the drop it finds is decided", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-1", "--title", "replay").code).toBe(0);
    // no checkpoint: recovery replays epic_started and its effects (notice, rescan)
    rmSync(join(bus.root, ".consensus/checkpoint.json"), { force: true });
    bus.drop("artifacts/EP-1/plan.json", artifact("plan.json", "EP-1", 1), { mtime: new Date(Date.now() - 60_000) });
    const r = bus.cli("watch", "--once", "--log-level", "warn");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/TypeError|effect rescan failed/);
    expect(bus.entries().some((e) => e.decision === "artifact_accepted" && e.epic_id === "EP-1")).toBe(true);
  }, 60_000);

  it("a stage entry queues only the names something is at: no batch of missing files after every advance (issue 17.2)", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-1", "--title", "rescan").code).toBe(0);
    bus.drop("artifacts/EP-1/plan.json", artifact("plan.json", "EP-1", 1), { mtime: new Date(Date.now() - 60_000) });
    const r = bus.cli("watch", "--once", "--log-level", "debug");
    expect(r.code, r.stderr).toBe(0);
    expect(bus.entries().some((e) => e.decision === "stage_advanced" && e.epic_id === "EP-1")).toBe(true);
    // the implementation stage's names were not there: nothing read them
    expect(r.stderr).toContain("artifacts/EP-1/plan.json");
    expect(r.stderr).not.toMatch(/implementation\.json/);
  }, 60_000);
});
