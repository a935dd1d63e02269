import { describe, expect, it } from "vitest";
import { load } from "js-yaml";
import { DEFAULT_CONFIG_YAML } from "../../src/config/default-config.js";
import { parseConfig } from "../../src/config/pipeline.js";
import { renderReportHtml } from "../../src/report/html.js";
import { buildReport, buildRules, formatDuration, formatSpend, type ReportModel } from "../../src/report/model.js";
import { formatReportText } from "../../src/report/text.js";
import type { Input } from "../../src/machine/decide.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";
import { Harness, pipeline } from "../support/pipeline.js";

const T0 = Date.parse("2026-11-21T10:00:00Z");

/** The pure harness, with each entry stamped at the decision's time and the clock moved by hand. */
class Timed extends Harness {
  t = T0;
  step = 60_000;
  private last = "";
  override now(): string {
    this.last = new Date(this.t).toISOString();
    this.t += this.step;
    return this.last;
  }
  override apply(input: Input, key?: string) {
    const n = this.log.length;
    const d = super.apply(input, key);
    for (const e of this.log.slice(n)) e.timestamp = this.last;
    return d;
  }
  report(now = new Date(this.t).toISOString(), extra: Array<LogEntry | undefined> = [], config?: Record<string, unknown>): ReportModel {
    return buildReport({ pipeline: this.p, entries: [...this.log, ...extra], now, ...(config ? { config } : {}) });
  }
}

const review = (status: string) => ({ doc: { review_status: status, findings: [] } });

function toDeployment(h: Timed, epic = "EP-001"): void {
  if (h.epic(epic).stage === "plan") h.artifact("plan.json", { epic });
  h.artifact("implementation.json", { epic });
  h.artifact("review.json", { epic, ...review("approved") });
}

function demoStory(): Timed {
  const h = new Timed();
  h.apply({ type: "start", epic_id: "EP-001", title: "Health check", by: "alice" }); // 10:00
  toDeployment(h); // plan 10:01, implementation 10:02, review 10:03 → deployment
  h.artifact("deployment.json"); // 10:04
  h.veto("devops", "quality", "not_production_ready"); // 10:05 → implementation, iteration 2
  toDeployment(h); // 10:06, 10:07
  h.deploymentTrio(); // 10:08, 10:09, 10:10 → promoted
  return h;
}

describe("report model: the demo story", () => {
  const m = demoStory().report();
  const e = m.epics[0]!;

  it("says where the epic ended and how long it took", () => {
    expect(m.counts).toEqual({ in_progress: 0, escalated: 0, promoted: 1, cancelled: 0 });
    expect(e).toMatchObject({ id: "EP-001", title: "Health check", status: "promoted", stage: "promoted", iteration: 2, ended: true, stuckBecause: "promoted", waitingFor: [] });
    expect(e.elapsedMs).toBe(10 * 60_000);
  });

  it("cuts the time into stages per iteration, with durations and why each ended", () => {
    expect(e.spans.map((s) => [s.stage, s.iteration, s.exit, s.durationMs / 60_000])).toEqual([
      ["plan", 1, "advanced", 1],
      ["implementation", 1, "advanced", 1],
      ["review", 1, "advanced", 1],
      ["deployment", 1, "rework", 2],
      ["implementation", 2, "advanced", 1],
      ["review", 2, "advanced", 1],
      ["deployment", 2, "promoted", 3],
    ]);
    expect(e.spans[3]!.exitReason).toBe("veto by devops: not_production_ready");
    expect(e.timeByStage).toEqual([
      { stage: "plan", ms: 60_000 },
      { stage: "implementation", ms: 120_000 },
      { stage: "review", ms: 120_000 },
      { stage: "deployment", ms: 300_000 },
    ]);
  });

  it("records the veto with why, and that the vetoing role resolved it", () => {
    expect(e.vetoes).toEqual([
      expect.objectContaining({ from: "devops", subject: "not_production_ready", violation: "v: s", blocking: true, iteration: 1, stage: "deployment", resolved: true, resolvedBy: "devops", resolvedAt: "2026-11-21T10:08:00.000Z" }),
    ]);
  });

  it("names who acted: artifact authors by role, message senders", () => {
    const kinds = e.events.map((x) => [x.kind, x.actor ?? "-"]);
    expect(kinds).toContainEqual(["artifact_accepted", "planner"]);
    expect(kinds).toContainEqual(["message_accepted", "devops"]);
    expect(kinds).toContainEqual(["veto", "devops"]);
    expect(e.actors).toEqual([
      { actor: "devops", count: 5 }, // deployment.json twice, cicd.yaml, runbook.md, the veto message
      { actor: "developer", count: 2 },
      { actor: "quality", count: 2 },
      { actor: "alice", count: 1 }, // started it
      { actor: "planner", count: 1 },
    ]);
    expect(e.events.find((x) => x.kind === "message_accepted")).toMatchObject({ messageType: "veto", iteration: 1, stage: "deployment" });
  });
});

describe("report model: epics that are not moving", () => {
  it("an epic waiting for an artifact: who, what, and for how long", () => {
    const h = new Timed();
    h.apply({ type: "start", epic_id: "EP-002", title: "Waiting", by: "bob" });
    h.artifact("plan.json", { epic: "EP-002" });
    const m = h.report("2026-11-21T12:01:00.000Z");
    expect(m.epics[0]).toMatchObject({ status: "in_progress", stage: "implementation", waitingFor: ["developer"], stuckBecause: "waiting for developer to drop implementation.json", ended: false });
    expect(m.epics[0]!.timeInStageMs).toBe(2 * 3600_000);
    expect(m.epics[0]!.spans.at(-1)).toMatchObject({ stage: "implementation", durationMs: 2 * 3600_000 });
    expect(m.epics[0]!.spans.at(-1)!.end).toBeUndefined();
  });

  it("escalation after max_iterations: an open escalated span, the reason, a person to act", () => {
    const h = new Timed();
    h.apply({ type: "start", epic_id: "EP-003", title: "Flaky", by: "bob" });
    for (const s of ["a", "b", "c"]) {
      toDeployment(h, "EP-003");
      h.veto("devops", "quality", `missing_${s}`, true, "EP-003");
    }
    const at = h.log.at(-1)!.timestamp;
    const m = h.report(new Date(Date.parse(at) + 45 * 60_000).toISOString());
    const e = m.epics[0]!;
    expect(e).toMatchObject({ status: "escalated", iteration: 3, waitingFor: ["person"], escalation: { reason: "max_iterations" } });
    expect(e.stuckBecause).toMatch(/^escalated \(max_iterations: rework would start iteration 4, above max_iterations 3\): a person must override or cancel$/);
    expect(e.spans.at(-1)).toMatchObject({ stage: "escalated", iteration: 3, durationMs: 45 * 60_000 });
    expect(e.spans.at(-2)).toMatchObject({ stage: "deployment", exit: "escalated" });
    expect(e.timeInStageMs).toBe(45 * 60_000);
    expect(e.vetoes.map((v) => [v.subject, v.resolved])).toEqual([["missing_a", false], ["missing_b", false], ["missing_c", false]]);
    expect(m.counts.escalated).toBe(1);
  });

  it("override resumes (closing vetoes, logged with the person); cancel ends with the reason", () => {
    const h = new Timed();
    h.apply({ type: "start", epic_id: "EP-004", title: "Decided by a person", by: "bob" });
    toDeployment(h, "EP-004");
    h.veto("devops", "quality", "same", true, "EP-004");
    toDeployment(h, "EP-004");
    h.veto("devops", "quality", "same", true, "EP-004"); // the same veto twice
    expect(h.epic("EP-004").status).toBe("escalated");
    h.apply({ type: "override", epic_id: "EP-004", reason: "checked by hand", to: "deployment", by: "carol" });
    h.apply({ type: "cancel", epic_id: "EP-004", reason: "descoped", by: "dave" });
    const e = h.report().epics[0]!;
    expect(e).toMatchObject({ status: "cancelled", ended: true, stuckBecause: "cancelled at deployment" });
    expect(e.spans.slice(-3).map((s) => [s.stage, s.exit, s.exitReason])).toEqual([
      ["deployment", "escalated", 'repeated_veto: devops raised "same" again'],
      ["escalated", "overridden", "override by carol: checked by hand"],
      ["deployment", "cancelled", "descoped"],
    ]);
    expect(e.events.find((x) => x.kind === "overridden")).toMatchObject({ actor: "carol", reason: "checked by hand" });
    expect(e.events.find((x) => x.kind === "cancelled")).toMatchObject({ actor: "dave", reason: "descoped" });
    expect(e.vetoes.at(-1)).toMatchObject({ subject: "same", iteration: 2, resolved: true, resolvedBy: "override by carol" });
  });
});

describe("report model: vetoes that do not block", () => {
  it("a non-blocking veto is logged with why, never open, and the epic moves on", () => {
    const h = new Timed();
    h.apply({ type: "start", epic_id: "EP-008", title: "Nit", by: "bob" });
    toDeployment(h, "EP-008");
    h.veto("quality", "devops", "naming_nit", false, "EP-008");
    h.deploymentTrio("EP-008");
    const e = h.report().epics[0]!;
    expect(e.status).toBe("promoted");
    expect(e.vetoes).toEqual([expect.objectContaining({ from: "quality", subject: "naming_nit", blocking: false, resolved: false, violation: "v: s" })]);
    expect(renderReportHtml(h.report())).toMatch(/class="veto-marker non-blocking" data-veto-from="quality" data-veto-subject="naming_nit"/);
  });
});

describe("report model: what other parts of the system write", () => {
  it("shows unknown decisions and agents' own lines generically; counts lines that did not parse", () => {
    const h = new Timed();
    h.apply({ type: "start", epic_id: "EP-005", title: "x", by: "bob" });
    const extra: Array<LogEntry | undefined> = [
      { timestamp: "2026-11-21T10:05:00Z", agent: "orchestrator", decision: "agent_launched", epic_id: "EP-005", iteration: 1, details: { role: "planner", reason: "stage entered" } },
      { timestamp: "2026-11-21T10:06:00Z", agent: "orchestrator", decision: "deadline_reminder", epic_id: "EP-005", iteration: 1, details: { stage: "plan" } },
      { timestamp: "2026-11-21T10:07:00Z", agent: "planner", decision: "approve", epic_id: "EP-005", iteration: 1, details: { ok: true } },
      { timestamp: "2026-11-21T10:08:00Z", agent: "planner", decision: "note", epic_id: "EP-999" }, // never started: left out
      undefined,
    ];
    const m = h.report("2026-11-21T11:00:00Z", extra);
    const ev = m.epics[0]!.events;
    expect(ev.map((x) => [x.kind, x.decision])).toEqual([["started", "epic_started"], ["other", "agent_launched"], ["other", "deadline_reminder"], ["agent_line", "approve"]]);
    expect(ev[1]).toMatchObject({ actor: "planner", stage: "plan" });
    expect(ev[1]!.text).toMatch(/^EP-005 #1 agent/); // the runner's own one-line summary
    expect(ev[3]).toMatchObject({ actor: "planner", text: 'planner: approve {"ok":true}' });
    expect(m.epics.map((e) => e.id)).toEqual(["EP-005"]);
    expect(m.unparsableLines).toBe(1);
  });

  it("reads spend from accepted artifacts and the epic state, and the budget from the config, when present", () => {
    const h = new Timed();
    h.apply({ type: "start", epic_id: "EP-006", title: "Spend", by: "bob" });
    h.artifact("plan.json", { epic: "EP-006" });
    const none = h.report();
    expect(none.epics[0]!.spend).toBeUndefined();
    expect(none.epics[0]!.budget).toBeUndefined();
    expect(none.rules.budget).toBeUndefined();
    // as the budgets branch will write them
    const accept = h.log.find((e) => e.decision === "artifact_accepted")!;
    accept.details = { ...accept.details, spend: { cost_usd: 0.4, tokens: 1200 } };
    const fromArtifacts = h.report(undefined, [], { budget: { cost_usd: 2, tokens: 50_000 } });
    expect(fromArtifacts.epics[0]).toMatchObject({ spend: { cost_usd: 0.4, tokens: 1200 }, budget: { cost_usd: 2, tokens: 50_000 } });
    expect(fromArtifacts.epics[0]!.events.find((e) => e.kind === "artifact_accepted")!.spend).toEqual({ cost_usd: 0.4, tokens: 1200 });
    const last = h.log.at(-1)!;
    last.state = { ...last.state!, spend: { cost_usd: 1.5, tokens: 9000 } } as never;
    expect(h.report().epics[0]!.spend).toEqual({ cost_usd: 1.5, tokens: 9000 });
    expect(formatSpend({ cost_usd: 1.5, tokens: 9000 }, { cost_usd: 2, tokens: 50_000 })).toBe("$1.50 of $2.00, 9,000 of 50,000 tokens");
    const html = renderReportHtml(h.report(undefined, [], { budget: { cost_usd: 2, tokens: 50_000 } }));
    expect(html).toContain('<td class="spend">$1.50 of $2.00, 9,000 of 50,000 tokens</td>');
    expect(html).toContain('budget per epic <strong id="budget">$2.00, 50,000 tokens</strong>');
    expect(renderReportHtml(none)).not.toMatch(/class="spend">\$|id="budget"/);
  });
});

describe("rules", () => {
  it("lists stages in order with owner, artifacts, vetoes and where each role's veto sends the epic", () => {
    const r = buildRules(pipeline, load(DEFAULT_CONFIG_YAML) as Record<string, unknown>);
    expect(r.stages.map((s) => s.id)).toEqual(["plan", "implementation", "review", "deployment"]);
    expect(r.stages[3]).toMatchObject({ owner: "devops", artifacts: ["deployment.json", "cicd.yaml", "runbook.md"], vetoes: [{ role: "devops", to: "implementation" }, { role: "quality", to: "implementation" }], approvers: [], quorum: 0, extra: {} });
    expect(r.stages[1]!.vetoes).toEqual([{ role: "developer", to: "plan" }]);
    expect(r).toMatchObject({ maxIterations: 3, extra: {} });
  });

  it("keeps approvers with their quorum, and stage and config fields it does not know by name", () => {
    const yaml = `version: 1
roles: [a, b, c]
stages:
  - id: one
    owner: a
    artifacts: [plan.json]
    approvers: { roles: [b, c], quorum: majority }
`;
    const { pipeline: p, issues } = parseConfig(yaml);
    expect(issues).toEqual([]);
    const raw = load(yaml) as { stages: Array<Record<string, unknown>> } & Record<string, unknown>;
    raw.stages[0]!.non_overridable_vetoes = ["security"];
    raw.stages[0]!.deadline = "2h";
    raw.budget = { cost_usd: 5 };
    raw.agents = { a: { command: "run-a" } };
    const r = buildRules(p!, raw);
    expect(r.stages[0]).toMatchObject({ approvers: ["b", "c"], quorum: 2, extra: { non_overridable_vetoes: ["security"], deadline: "2h" } });
    expect(r.budget).toEqual({ cost_usd: 5 });
    expect(r.extra).toEqual({ agents: { a: { command: "run-a" } } });
    expect(formatReportText(buildReport({ pipeline: p!, config: raw, entries: [], now: "2026-11-21T10:00:00Z" }))).toContain(' 1. one; owner a; drops plan.json; approvals: all of b, c; no vetoes; non_overridable_vetoes ["security"]; deadline "2h"');
  });
});

describe("text and HTML", () => {
  const hostile = `<script>alert("t")</script> & 'q' <img src=x onerror=alert(1)>`;
  function hostileModel(): ReportModel {
    const h = new Timed();
    h.apply({ type: "start", epic_id: "EP-007", title: hostile, by: "<b>eve</b>" });
    h.artifact("plan.json", { epic: "EP-007" });
    h.message("developer", "planner", "veto", { subject: "bad_plan", content: { violation: "</td></tr><script>alert(2)</script>", specifics: '"><svg onload=alert(3)>', blocking: true } }, "EP-007");
    return h.report();
  }

  it("the page escapes every string from the log: titles, veto reasons, people", () => {
    const m = hostileModel();
    expect(m.epics[0]!.vetoes[0]!.violation).toContain("<script>alert(2)");
    const html = renderReportHtml(m);
    expect(html).not.toMatch(/<script>alert|<img src=x|<svg onload|<b>eve/i);
    expect(html).toContain("&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt; &amp; &#39;q&#39; &lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("&lt;/td&gt;&lt;/tr&gt;&lt;script&gt;alert(2)&lt;/script&gt;");
    // the page's own script is the only one, and it names no URL
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/https?:\/\/|src=["']?\/\//);
  });

  it("the page has stable hooks: summary rows, epic articles, spans, veto markers, a box per stage", () => {
    const html = renderReportHtml(demoStory().report());
    expect(html).toContain('<tr data-epic-id="EP-001" data-status="promoted"');
    expect(html).toContain('<article class="epic promoted" id="epic-EP-001"');
    expect(html.match(/<g class="stage-box" data-stage="/g)).toHaveLength(4);
    expect(html.match(/class="veto-marker resolved" data-veto-from="devops" data-veto-subject="not_production_ready"/g)).toHaveLength(1);
    expect(html.match(/<rect class="span [^"]*" data-stage="deployment" data-iteration="2"/g)).toHaveLength(1);
    // veto routes grouped by where they go: review → implementation carries both roles
    expect(html).toMatch(/class="veto-route" data-from="review" data-to="implementation" data-roles="quality devops"/);
    expect(html).toMatch(/class="veto-route" data-from="implementation" data-to="plan" data-roles="developer"/);
  });

  it("text: the rules, then one line per epic with what it waits for", () => {
    const text = formatReportText(hostileModel());
    const lines = text.split("\n");
    expect(lines[0]).toBe("rules: 4 stages, max 3 iterations, roles planner, developer, quality, devops");
    const row = lines.find((l) => l.startsWith("EP-007"))!;
    expect(row).toMatch(/^EP-007\s+in_progress\s+plan\s+2\s+/);
    expect(row).toMatch(/waiting for planner to drop plan\.json$/);
    expect(lines.at(-1)).toBe("1 epics: 1 in progress, 0 escalated, 0 promoted, 0 cancelled");
  });

  it("durations read like a person would say them", () => {
    expect([850, 12_000, 243_000, 7_500_000, 3 * 86_400_000 + 4 * 3_600_000].map(formatDuration)).toEqual(["850 ms", "12 s", "4 min 3 s", "2 h 5 min", "3 d 4 h"]);
  });
});
