import { describe, expect, it } from "vitest";
import { ConsensusMetrics } from "../../src/ops/metrics.js";
import type { Epic, LogEntry } from "../../src/schemas/types.gen.js";
import { parseExposition, valueOf } from "../support/prom-text.js";

const T0 = "2026-11-21T10:00:00.000Z";
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();

function epic(patch: Partial<Epic> = {}): Epic {
  return { epic_id: "EP-001", title: "t", stage: "plan", status: "in_progress", iteration: 1, iteration_base: 0, received: {}, approvals: [], open_vetoes: [], veto_history: [], started_at: T0, stage_entered_at: T0, updated_at: T0, ...patch };
}

const entry = (decision: string, seconds: number, extra: Partial<LogEntry> = {}): LogEntry => ({ timestamp: at(seconds), agent: "orchestrator", decision, ...extra });

async function scrape(m: ConsensusMetrics) {
  const { body, contentType } = await m.scrape();
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(body);
}

describe("ConsensusMetrics.observeEntries", () => {
  it("counts inputs by kind and outcome, with the first error code of a rejection as reason", async () => {
    const m = new ConsensusMetrics({ version: "9.9.9", defaultMetrics: false });
    m.observeEntries([
      entry("epic_started", 0, { epic_id: "EP-001", state: epic() }),
      entry("artifact_rejected", 1, { details: { file: "artifacts/EP-001/plan.json", errors: [{ code: "SCHEMA", severity: "error" }, { code: "JSON_SYNTAX", severity: "error" }] } }),
      entry("artifact_accepted", 2, { details: { file: "artifacts/EP-001/plan.json" } }),
      entry("message_rejected", 3, { details: { file: "messages/inbox/quality/v.yaml", errors: [{ code: "VETO_NOT_ALLOWED", severity: "error" }] } }),
      entry("message_accepted", 4, { details: { file: "messages/inbox/quality/a.yaml" } }),
      entry("input_failed", 5, { details: { file: "artifacts/EP-001/review.json", errors: [{ code: "INTERNAL", severity: "error" }] } }),
      // not inputs: nothing counted
      entry("stage_advanced", 6),
      entry("log_line_rejected", 7, { details: { errors: [{ code: "LOG_LINE_INVALID" }] } }),
    ]);
    m.countRefused("command", "NOT_ESCALATED");
    const f = await scrape(m);
    const inputs = (labels: Record<string, string>) => valueOf(f, "consensus_inputs_total", labels);
    expect(f.get("consensus_inputs_total")?.type).toBe("counter");
    expect(inputs({ kind: "command", outcome: "accepted", reason: "" })).toBe(1);
    expect(inputs({ kind: "artifact", outcome: "rejected", reason: "SCHEMA" })).toBe(1);
    expect(inputs({ kind: "artifact", outcome: "accepted", reason: "" })).toBe(1);
    expect(inputs({ kind: "message", outcome: "rejected", reason: "VETO_NOT_ALLOWED" })).toBe(1);
    expect(inputs({ kind: "message", outcome: "accepted", reason: "" })).toBe(1);
    expect(inputs({ kind: "artifact", outcome: "rejected", reason: "INTERNAL" })).toBe(1);
    expect(inputs({ kind: "command", outcome: "rejected", reason: "NOT_ESCALATED" })).toBe(1);
    expect(f.get("consensus_inputs_total")!.samples.reduce((n, s) => n + s.value, 0)).toBe(7);
  });

  it("times a stage when the epic leaves it: next stage, rework, promotion, cancellation; not escalation", async () => {
    const m = new ConsensusMetrics({ version: "9.9.9", defaultMetrics: false });
    m.seed([epic({ epic_id: "EP-OLD", stage: "review", stage_entered_at: at(-100) })]);
    m.observeEntries([
      entry("epic_started", 0, { state: epic() }),
      entry("artifact_accepted", 30, { state: epic({ received: { "plan.json": "0".repeat(64) } }) }), // same stage: nothing
      entry("stage_advanced", 60, { state: epic({ stage: "implementation", stage_entered_at: at(60) }) }), // plan: 60 s
      entry("stage_advanced", 90, { state: epic({ stage: "implementation", iteration: 2, stage_entered_at: at(90) }) }), // rework: implementation 30 s
      entry("escalated", 100, { state: epic({ stage: "implementation", iteration: 2, status: "escalated", stage_entered_at: at(90) }) }), // parked, not left
      entry("cancelled", 150, { state: epic({ stage: "implementation", iteration: 2, status: "cancelled", stage_entered_at: at(90) }) }), // implementation: 60 s
      entry("cancelled", 160, { state: epic({ stage: "implementation", status: "cancelled", stage_entered_at: at(90) }) }), // already over: nothing
      entry("promoted", 20, { state: epic({ epic_id: "EP-OLD", stage: "promoted", status: "promoted", stage_entered_at: at(-100) }) }), // seeded: review 120 s
    ]);
    const f = await scrape(m);
    const h = (stage: string, what: "count" | "sum") => valueOf(f, "consensus_stage_duration_seconds", { stage }, `consensus_stage_duration_seconds_${what}`);
    expect(f.get("consensus_stage_duration_seconds")?.type).toBe("histogram");
    expect([h("plan", "count"), h("plan", "sum")]).toEqual([1, 60]);
    expect([h("implementation", "count"), h("implementation", "sum")]).toEqual([2, 90]);
    expect([h("review", "count"), h("review", "sum")]).toEqual([1, 120]);
    expect(valueOf(f, "consensus_stage_duration_seconds", { stage: "plan", le: "60" }, "consensus_stage_duration_seconds_bucket")).toBe(1);
    expect(valueOf(f, "consensus_stage_duration_seconds", { stage: "plan", le: "10" }, "consensus_stage_duration_seconds_bucket")).toBe(0);
  });

  it("reads the gauges from the probe at scrape time, on its own registry", async () => {
    const m = new ConsensusMetrics({ version: "9.9.9", defaultMetrics: false });
    const epics = [epic(), epic({ epic_id: "EP-2" }), epic({ epic_id: "EP-3", stage: "review", status: "escalated", open_vetoes: [{ from: "devops", subject: "x", iteration: 1, stage: "review" } as Epic["open_vetoes"][number]] })];
    let depth = 3;
    m.attach({ epics: () => epics, queueDepth: () => depth, secondsSinceLastEvent: () => 12.5, configVersion: () => "abcdef123456" });
    m.observeDropToDecision(0.02);
    m.observeLogAppend(0.003);
    let f = await scrape(m);
    expect(valueOf(f, "consensus_epics", { stage: "plan", status: "in_progress" })).toBe(2);
    expect(valueOf(f, "consensus_epics", { stage: "review", status: "escalated" })).toBe(1);
    expect(valueOf(f, "consensus_vetoes_open")).toBe(1);
    expect(valueOf(f, "consensus_queue_depth")).toBe(3);
    expect(valueOf(f, "consensus_seconds_since_last_event")).toBe(12.5);
    expect(valueOf(f, "consensus_info", { version: "9.9.9", config_version: "abcdef123456" })).toBe(1);
    expect(f.get("consensus_info")!.samples).toHaveLength(1);
    expect(valueOf(f, "consensus_drop_to_decision_seconds", { le: "0.025" }, "consensus_drop_to_decision_seconds_bucket")).toBe(1);
    expect(valueOf(f, "consensus_log_append_seconds", {}, "consensus_log_append_seconds_count")).toBe(1);
    // the view moved on: the next scrape says so, and a stage no epic is at is gone
    epics.splice(0, 3, epic({ stage: "implementation" }));
    depth = 0;
    f = await scrape(m);
    expect(f.get("consensus_epics")!.samples).toEqual([{ name: "consensus_epics", labels: { stage: "implementation", status: "in_progress" }, value: 1 }]);
    expect(valueOf(f, "consensus_queue_depth")).toBe(0);
    // never the global registry
    const { register } = await import("prom-client");
    expect(await register.getMetricsAsJSON()).toEqual([]);
  });

  it("adds prom-client's process metrics to its own registry when asked", async () => {
    const f = await scrape(new ConsensusMetrics({ version: "1" }));
    expect(f.get("process_cpu_user_seconds_total")?.type).toBe("counter");
    expect(f.get("nodejs_eventloop_lag_seconds")?.type).toBe("gauge");
  });
});
