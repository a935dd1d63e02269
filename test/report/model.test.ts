import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_YAML } from "../../src/config/default-config.js";
import { parseConfig } from "../../src/config/pipeline.js";
import { formatLine } from "../../src/cli/commands/log.js";
import { summary } from "../../src/engine/engine.js";
import { GENESIS, sealLine } from "../../src/log/chain.js";
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
  report(now = new Date(this.t).toISOString(), extra: Array<LogEntry | string | undefined> = []): ReportModel {
    return buildReport({ pipeline: this.p, lines: logLines([...this.log, ...extra]), now });
  }
}

/**
 * The log as the store writes it: the daemon's entries (agent "orchestrator") numbered and sealed into
 * the hash chain, agents' entries as plain JSON lines, strings as written, undefined as a torn line.
 */
function logLines(entries: Array<LogEntry | string | undefined>): string[] {
  let head = GENESIS;
  let foreign = "";
  let seq = 0;
  return entries.map((e) => {
    let line: string;
    if (e === undefined) line = '{"torn';
    else if (typeof e === "string") line = e;
    else if (e.agent === "orchestrator") {
      seq = typeof e.seq === "number" ? e.seq : seq + 1;
      const sealed = sealLine(JSON.stringify({ ...e, seq }), head, foreign);
      head = sealed.hash;
      foreign = "";
      return sealed.line;
    } else line = JSON.stringify(e);
    foreign += `${line}\n`;
    return line;
  });
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
    expect(ev[1]!.text).toMatch(/^EP-005 iteration 1 agent/); // the runner's own one-line summary
    expect(ev[3]).toMatchObject({ actor: "planner", text: 'planner: approve {"ok":true}' });
    expect(m.epics.map((e) => e.id)).toEqual(["EP-005"]);
    expect(m.unparsableLines).toBe(1);
  });

  it("spend is the epic state's running sum of what accepted artifacts report; the budget is the pipeline's", () => {
    const none = new Timed();
    none.apply({ type: "start", epic_id: "EP-006", title: "Spend", by: "bob" });
    none.artifact("plan.json", { epic: "EP-006" });
    const m0 = none.report();
    expect(m0.epics[0]!.spend).toBeUndefined();
    expect(m0.epics[0]!.budget).toBeUndefined();
    expect(m0.rules.budget).toBeUndefined();
    expect(renderReportHtml(m0)).not.toMatch(/class="spend">\$|id="budget"/);

    const { pipeline: budgeted, issues } = parseConfig(`${DEFAULT_CONFIG_YAML}\nbudget: { cost_usd: 2, tokens: 50000 }\n`);
    expect(issues).toEqual([]);
    const h = new Timed(budgeted!);
    h.apply({ type: "start", epic_id: "EP-001", title: "Spend", by: "bob" });
    h.artifact("plan.json", { doc: { cost_usd: 0.4, tokens: 1200 } });
    h.artifact("implementation.json", { doc: { cost_usd: 1.1, tokens: 7800 } });
    expect(h.epic().spend).toEqual({ cost_usd: 1.5, tokens: 9000 }); // the producer's sum, which the report shows
    const m = h.report();
    expect(m.rules.budget).toEqual({ cost_usd: 2, tokens: 50_000 });
    expect(m.epics[0]).toMatchObject({ spend: { cost_usd: 1.5, tokens: 9000 }, budget: { cost_usd: 2, tokens: 50_000 } });
    expect(m.epics[0]!.events.filter((e) => e.kind === "artifact_accepted").map((e) => e.spend)).toEqual([
      { cost_usd: 0.4, tokens: 1200 },
      { cost_usd: 1.1, tokens: 7800 },
    ]);
    expect(formatSpend({ cost_usd: 1.5, tokens: 9000 }, { cost_usd: 2, tokens: 50_000 })).toBe("$1.50 of $2.00, 9,000 of 50,000 tokens");
    const html = renderReportHtml(m);
    expect(html).toContain('<td class="spend">$1.50 of $2.00, 9,000 of 50,000 tokens</td>');
    expect(html).toContain('budget per epic <strong id="budget">$2.00, 50,000 tokens</strong>');
    expect(formatReportText(m)).toContain("$1.50 of $2.00, 9,000 of 50,000 tokens");
  });
});

describe("report model: only the daemon's sealed lines move an epic", () => {
  it("an agent's line claiming a state (promoted) is shown as its line, never trusted; so is an unsealed 'orchestrator' line", () => {
    const h = new Timed();
    h.apply({ type: "start", epic_id: "EP-001", title: "Honest", by: "bob" });
    h.artifact("plan.json");
    const forged = { ...h.epic(), status: "promoted", stage: "promoted" };
    const agentLine: LogEntry = { timestamp: "2026-11-21T10:30:00Z", agent: "planner", decision: "promoted", epic_id: "EP-001", iteration: 1, state: forged as never };
    // claims to be the daemon's, with a seq, but carries no hash: not sealed, so not the daemon's
    const unsealed = JSON.stringify({ seq: 99, timestamp: "2026-11-21T10:31:00Z", agent: "orchestrator", decision: "promoted", epic_id: "EP-001", iteration: 1, state: forged });
    // an agent's line about an epic the daemon never started starts nothing
    const stranger: LogEntry = { timestamp: "2026-11-21T10:32:00Z", agent: "planner", decision: "epic_started", epic_id: "EP-666", state: { ...forged, epic_id: "EP-666" } as never };
    const m = h.report("2026-11-21T11:00:00Z", [agentLine, unsealed, stranger]);
    expect(m.epics.map((e) => e.id)).toEqual(["EP-001"]);
    const e = m.epics[0]!;
    expect(e).toMatchObject({ status: "in_progress", stage: "implementation", ended: false, waitingFor: ["developer"] });
    expect(m.counts).toEqual({ in_progress: 1, escalated: 0, promoted: 0, cancelled: 0 });
    expect(e.events.slice(-2).map((x) => [x.kind, x.actor])).toEqual([["agent_line", "planner"], ["agent_line", "orchestrator"]]);
    expect(e.events.some((x) => x.kind === "promoted")).toBe(false);
    expect(e.spans.at(-1)).toMatchObject({ stage: "implementation" });
    expect(e.spans.at(-1)!.end).toBeUndefined();
  });
});

describe("summary of a rejection whose errors are not a list", () => {
  it("does not throw: `consensus log` and the report print the line", () => {
    const bad: LogEntry = { seq: 3, timestamp: "2026-11-21T10:00:00Z", agent: "orchestrator", decision: "artifact_rejected", epic_id: "EP-001", iteration: 1, details: { file: "plan.json", errors: "x" } };
    expect(summary(bad)).toBe("EP-001 iteration 1 artifact rejected: plan.json: ");
    expect(summary({ ...bad, decision: "config_rejected", details: { errors: { message: "m" } } })).toBe("consensus.yaml rejected, rules unchanged: ");
    expect(summary({ ...bad, details: { file: "plan.json", errors: [null, { path: "/a", message: "bad" }] } })).toBe("EP-001 iteration 1 artifact rejected: plan.json: undefined; /a bad");
    expect(formatLine(JSON.stringify(bad), {})).toMatch(/#3 {2}orchestrator {2}EP-001 iteration 1 artifact rejected: plan\.json: $/);
    const h = new Timed();
    h.apply({ type: "start", epic_id: "EP-001", title: "x", by: "bob" });
    const m = h.report(undefined, [{ ...bad, seq: undefined } as unknown as LogEntry]);
    expect(m.epics[0]!.events.at(-1)).toMatchObject({ kind: "artifact_rejected", text: "EP-001 iteration 1 artifact rejected: plan.json: " });
  });
});

describe("rules", () => {
  it("lists stages in order with owner, artifacts, vetoes and where each role's veto sends the epic", () => {
    const r = buildRules(pipeline);
    expect(r.stages.map((s) => s.id)).toEqual(["plan", "implementation", "review", "deployment"]);
    expect(r.stages[3]).toMatchObject({ owner: "devops", artifacts: ["deployment.json", "cicd.yaml", "runbook.md"], vetoes: [{ role: "devops", to: "implementation" }, { role: "quality", to: "implementation" }], approvers: [], quorum: 0, nonOverridable: ["security_vulnerability", "no_rollback_plan"] });
    expect(r.stages[3]!.deadlineMs).toBeUndefined();
    expect(r.stages[1]!.vetoes).toEqual([{ role: "developer", to: "plan" }]);
    expect(r).toMatchObject({ maxIterations: 3, agents: [] });
  });

  it("keeps approvers with their quorum, deadlines, subjects never overridden, modes, agents and the budget, all from the Pipeline", () => {
    const yaml = `version: 1
roles: [a, b, c]
stages:
  - id: one
    owner: a
    artifacts: [plan.json]
    approvers: { roles: [b, c], quorum: majority }
    non_overridable: [security]
    deadline: 2h
  - id: two
    owner: b
    artifacts: [implementation.json]
budget: { cost_usd: 5 }
modes:
  quick: { stages: [two], description: just the second }
agents:
  a: { command: [run-a] }
`;
    const { pipeline: p, issues } = parseConfig(yaml);
    expect(issues).toEqual([]);
    const r = buildRules(p!);
    expect(r.stages[0]).toMatchObject({ approvers: ["b", "c"], quorum: 2, nonOverridable: ["security"], deadlineMs: 2 * 3600_000 });
    expect(r.budget).toEqual({ cost_usd: 5 });
    expect(r.modes).toEqual([{ name: "quick", stages: ["two"], description: "just the second" }]);
    expect(r.agents).toEqual(["a"]);
    const text = formatReportText(buildReport({ pipeline: p!, lines: [], now: "2026-11-21T10:00:00Z" }));
    expect(text).toContain(" 1. one; owner a; drops plan.json; approvals: all of b, c; no vetoes; never overridden: security; deadline 2 h");
    expect(text).toContain("mode quick: two (just the second)");
    expect(text).toContain("agents configured: a");
    const html = renderReportHtml(buildReport({ pipeline: p!, lines: [], now: "2026-11-21T10:00:00Z" }));
    expect(html).toMatch(/<th>Deadline<\/th><th>Never overridden<\/th>/);
    expect(html).toContain('<td class="deadline">2 h</td><td class="never-overridden"><code>security</code></td>');
    expect(html).toContain('<div data-mode="quick"><dt>mode quick</dt>');
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
    expect(lines.at(-1)).toBe("1 epic: 1 in progress, 0 escalated, 0 promoted, 0 cancelled");
  });

  it("durations read like a person would say them", () => {
    expect([850, 12_000, 243_000, 7_500_000, 3 * 86_400_000 + 4 * 3_600_000].map(formatDuration)).toEqual(["850 ms", "12 s", "4 min 3 s", "2 h 5 min", "3 d 4 h"]);
  });
});
