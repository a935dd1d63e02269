/** What counts as two writers deciding about the same thing (src/store/pg/fence.ts). */
import { describe, expect, it } from "vitest";
import { clashes, epicKeyOf, touchedBy } from "../../src/store/pg/fence.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";

const e = (x: Partial<LogEntry>): LogEntry => ({ timestamp: "t", agent: "orchestrator", decision: "d", ...x }) as LogEntry;

describe("fence", () => {
  it("an entry belongs to its epic, an epic-less one to the epic ''", () => {
    expect(epicKeyOf(e({ epic_id: "EP-1" }))).toBe("EP-1");
    expect(epicKeyOf(e({}))).toBe("");
  });

  it("clashes on a shared epic, on a shared input mark or message id, and not otherwise", () => {
    const ours = touchedBy([e({ epic_id: "EP-1", input: "a@1" })]);
    expect(clashes(ours, touchedBy([e({ epic_id: "EP-2" })]))).toEqual([]);
    expect(clashes(ours, touchedBy([e({ epic_id: "EP-1" })]))).toEqual(["EP-1"]);
    expect(clashes(ours, touchedBy([e({ epic_id: "EP-3", input: "a@1" })]))).toEqual(["EP-1"]);
    const msg = touchedBy([e({ epic_id: "EP-4", decision: "message_accepted", details: { message_id: "m-1" } })]);
    expect(clashes(msg, touchedBy([e({ epic_id: "EP-5", decision: "message_accepted", details: { message_id: "m-1" } })]))).toEqual(["EP-4"]);
    expect(clashes(touchedBy([e({ decision: "config_changed" })]), touchedBy([e({ decision: "log_line_rejected" })]))).toEqual([""]);
  });
});
