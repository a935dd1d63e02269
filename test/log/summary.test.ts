/**
 * `consensus log`, the daemon's log and the report print one line per entry (src/log/summary.ts). The
 * daemon's integrity findings carry their reason in errors[]: the line must say it, not only the name.
 */
import { describe, expect, it } from "vitest";
import { summary } from "../../src/log/summary.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";

const entry = (decision: string, details: Record<string, unknown>, epic?: string): LogEntry =>
  ({ seq: 4, timestamp: "2026-11-30T06:40:52.059Z", agent: "orchestrator", decision, ...(epic ? { epic_id: epic, iteration: 2 } : {}), details }) as LogEntry;

describe("summary", () => {
  it("says why a forged or rejected log line was refused, from its errors", () => {
    const forged = entry("log_line_forged", { file: "current/decision_log.jsonl", line: 4, errors: [{ code: "LOG_LINE_FORGED", message: "line 4 of current/decision_log.jsonl: it claims to be the daemon's line but is not one of its sealed lines" }] });
    expect(summary(forged)).toBe("- log_line_forged: line 4 of current/decision_log.jsonl: it claims to be the daemon's line but is not one of its sealed lines");
    const failed = entry("input_failed", { errors: [{ message: "internal error: boom" }] });
    expect(summary(failed)).toBe("- input_failed: internal error: boom");
  });

  it("keeps a reason when the entry has one", () => {
    expect(summary(entry("checkpoint_discarded", { reason: "the checkpoint's key index was changed" }))).toBe("- checkpoint_discarded: the checkpoint's key index was changed");
  });

  it("names who approved what", () => {
    expect(summary(entry("approval_recorded", { role: "devops", stage: "implementation", subject: "production_ready" }, "EP-002"))).toBe("EP-002 iteration 2 approval by devops: production_ready (stage implementation)");
  });

  it("shows a person's --as beside the OS user who ran the command, never instead of it", () => {
    expect(summary(entry("cancelled", { by: "root", as: "lead", reason: "descoped" }, "EP-002"))).toBe('EP-002 iteration 2 cancelled by root (as "lead"): descoped');
    expect(summary(entry("overridden", { by: "root", as: "root", to: "promoted", reason: "checked" }, "EP-002"))).toBe("EP-002 iteration 2 overridden by root → promoted: checked");
  });
});
