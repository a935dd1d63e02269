/** `consensus prune` decided: only finished epics, only their derived files, each named in the entry. Pure. */
import { describe, expect, it } from "vitest";
import { effectsOf, isDerivedFileOf } from "../../src/machine/effects.js";
import { Harness } from "../support/pipeline.js";

describe("prune", () => {
  it("isDerivedFileOf: an epic's notices and agent logs, nothing else", () => {
    for (const ok of ["messages/inbox/planner/notice-00000012-EP-001-stage_entered.yaml", "logs/agents/EP-001/2/developer-1.log"]) expect(isDerivedFileOf("EP-001", ok), ok).toBe(true);
    for (const no of [
      "messages/inbox/planner/notice-00000012-EP-0011-stage_entered.yaml", // another epic whose id starts the same
      "messages/inbox/planner/note-EP-001.yaml", // an agent's message
      "messages/inbox/planner/notice-00000012-EP-001-stage_entered.yaml.tmp",
      "messages/inbox/../notice-00000012-EP-001-stage_entered.yaml",
      "current/decision_log.jsonl",
      "current/state.json",
      "archive/EP-001/1/plan.json",
      "artifacts/EP-001/plan.json",
      "logs/agents/EP-002/1/planner-1.log",
      "logs/agents/EP-001/1/../../EP-002/1/planner-1.log",
      "logs/agents/EP-001/x/planner-1.log",
    ])
      expect(isDerivedFileOf("EP-001", no), no).toBe(false);
  });

  it("refuses an epic in progress or finished after `before`; a finished one gets a pruned entry whose effect removes its files", () => {
    const h = new Harness();
    h.apply({ type: "start", epic_id: "EP-001", title: "t", by: "alice" });
    const files = ["messages/inbox/planner/notice-00000001-EP-001-stage_entered.yaml"];
    expect(h.apply({ type: "prune", epic_id: "EP-001", before: "2999-01-01T00:00:00Z", files, by: "bob" })).toMatchObject({ kind: "refuse", issues: [{ code: "EPIC_NOT_FINISHED" }] });
    h.apply({ type: "cancel", epic_id: "EP-001", reason: "r", by: "alice" });
    expect(h.apply({ type: "prune", epic_id: "EP-001", before: "2000-01-01T00:00:00Z", files, by: "bob" })).toMatchObject({ kind: "refuse", issues: [{ code: "EPIC_NOT_FINISHED" }] });
    expect(h.apply({ type: "prune", epic_id: "EP-001", before: "2999-01-01T00:00:00Z", files: ["current/state.json"], by: "bob" })).toMatchObject({ kind: "refuse", issues: [{ code: "UNSAFE_PATH" }] });
    const d = h.apply({ type: "prune", epic_id: "EP-001", before: "2999-01-01T00:00:00Z", files, by: "bob" });
    expect(d).toMatchObject({ kind: "commit", drafts: [{ decision: "pruned", epic_id: "EP-001", details: { by: "bob", files, status: "cancelled" } }] });
    expect(effectsOf({ seq: 9, timestamp: "t", agent: "orchestrator", decision: "pruned", epic_id: "EP-001", iteration: 1, details: { files: [...files, "current/state.json"] } }, h.p)).toEqual([{ type: "prune", epic_id: "EP-001", files }]);
  });
});
