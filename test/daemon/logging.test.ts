/** The daemon's own log: pino JSON on stderr (nothing on stdout), a level flag and env, and epic/stage/iteration on every line about an epic. */
import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, artifact, cliPath } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

const watchOnce = (b: Bus, env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, [cliPath, "watch", "--once", ...args], { env: { ...process.env, CONSENSUS_ROOT: b.root, ...env }, encoding: "utf8", timeout: 60_000 });

describe("daemon logs", () => {
  it("are JSON lines on stderr; lines about an epic carry epic, stage and iteration", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Logs").code).toBe(0);
    bus.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    bus.drop("artifacts/EP-001/review.json", artifact("review.json", "EP-001", 1)); // deferred: a later stage
    const r = watchOnce(bus, {}, "--log-level", "debug");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const aboutEpic = lines.filter((l) => l.epic !== undefined);
    expect(aboutEpic.map((l) => l.decision).filter(Boolean)).toEqual(expect.arrayContaining(["artifact_accepted", "stage_advanced"]));
    expect(aboutEpic.some((l) => l.msg === "deferred")).toBe(true);
    for (const l of aboutEpic) {
      expect(l, JSON.stringify(l)).toMatchObject({ epic: "EP-001", iteration: 1 });
      expect(typeof l.stage, JSON.stringify(l)).toBe("string");
    }
    expect(aboutEpic.find((l) => l.decision === "artifact_accepted")).toMatchObject({ stage: "plan" });
    expect(aboutEpic.find((l) => l.decision === "stage_advanced")).toMatchObject({ stage: "implementation" });
  });

  it("CONSENSUS_LOG_LEVEL sets the level; --log-level wins over it; a bad level is a usage error", () => {
    bus = Bus.init();
    expect(watchOnce(bus, { CONSENSUS_LOG_LEVEL: "warn" }).stderr).toBe("");
    expect(watchOnce(bus, { CONSENSUS_LOG_LEVEL: "warn" }, "--log-level", "info").stderr).toMatch(/"msg":"lease taken"/);
    const bad = watchOnce(bus, { CONSENSUS_LOG_LEVEL: "loud" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/CONSENSUS_LOG_LEVEL/);
  });

  it("--pretty prints readable lines instead of JSON", () => {
    bus = Bus.init();
    const r = watchOnce(bus, {}, "--pretty");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/INFO.*lease taken/);
    expect(() => JSON.parse(r.stderr.split("\n")[0]!)).toThrow();
  });
});
