import { describe, expect, it } from "vitest";
import { authorOf, FloodGate } from "../../src/engine/flood-gate.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";

const entry = (decision: string, details: Record<string, unknown> = {}, agent = "orchestrator"): LogEntry => ({ seq: 1, timestamp: "2026-11-21T10:00:00.000Z", agent, decision, details });

describe("flood gate", () => {
  it("shows each author's first N decisions a minute, holds the rest with one warning, and summarises them once the minute is over", () => {
    const lines: Array<[string, Record<string, unknown>, string]> = [];
    const log = { warn: (o: Record<string, unknown>, m: string) => lines.push(["warn", o, m]), info: (o: Record<string, unknown>, m: string) => lines.push(["info", o, m]) };
    const gate = new FloodGate(log as never);
    const rejected = (from: string) => entry("message_rejected", { author: from, file: "x.yaml" });
    const shown = Array.from({ length: 5 }, () => gate.admit(rejected("developer"), 0, 3));
    expect(shown).toEqual([true, true, true, false, false]);
    expect(lines.map(([level, o]) => [level, o.author])).toEqual([["warn", "developer"]]);
    // another author, and the daemon's own decisions, are not held back
    expect(gate.admit(rejected("quality"), 1000, 3)).toBe(true);
    expect(Array.from({ length: 10 }, () => gate.admit(entry("stage_advanced", { from: "plan", to: "implementation" }), 1000, 3)).every(Boolean)).toBe(true);
    const held = rejected("developer");
    gate.admit(held, 2000, 3);
    expect(gate.isHeld(held)).toBe(true);
    // a minute later: the summary, and a fresh minute
    expect(gate.admit(rejected("developer"), 61_000, 3)).toBe(true);
    expect(lines.at(-1)).toEqual(["info", expect.objectContaining({ author: "developer", held: 3, shown: 3 }), expect.stringMatching(/3 more decision\(s\)/)]);
  });

  it("an entry's author: who sent what it decides", () => {
    expect(authorOf(entry("artifact_rejected", { author: "planner" }))).toBe("planner");
    expect(authorOf(entry("message_accepted", { from: "quality" }))).toBe("quality");
    expect(authorOf(entry("log_line_rejected", { line: 3 }))).toBe("decision_log");
    expect(authorOf(entry("message_rejected", {}))).toBe("unknown");
    expect(authorOf(entry("stage_advanced", { from: "plan", to: "implementation" }))).toBeUndefined();
    expect(authorOf(entry("agent_launched", { agent: "planner" }))).toBeUndefined();
  });
});
