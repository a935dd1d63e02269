/** What counts as two writers deciding about the same thing (src/store/pg/fence.ts). */
import { describe, expect, it } from "vitest";
import { nonceId } from "../../src/log/replay.js";
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
    // a launch-token nonce is used once across writers too; a message id that looks like it is another id
    const signed = (epic: string) => touchedBy([e({ epic_id: epic, decision: "artifact_accepted", details: { proof: { by: "token", nonce: "AbCdEfGh12345678" } } })]);
    expect(signed("EP-6").messageIds).toEqual(new Set([nonceId("AbCdEfGh12345678")]));
    expect(clashes(signed("EP-6"), signed("EP-7"))).toEqual(["EP-6"]);
    expect(clashes(signed("EP-6"), touchedBy([e({ epic_id: "EP-7", decision: "message_accepted", details: { message_id: "nonce:AbCdEfGh12345678" } })]))).toEqual([]);
    expect(clashes(touchedBy([e({ decision: "config_changed" })]), touchedBy([e({ decision: "log_line_rejected" })]))).toEqual([""]);
  });
});
