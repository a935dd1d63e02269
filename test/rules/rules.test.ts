/** Every configurable rule of issue 5, pure: presets, modes, quorums, routes, non-overridable vetoes, conflicts. */
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_YAML, presetNames, presetText } from "../../src/config/default-config.js";
import { approvalsMet, defaultPipeline, parseConfig } from "../../src/config/pipeline.js";
import { buildEpicMachine } from "../../src/machine/epic-machine.js";
import { toMermaid } from "../../src/machine/graph.js";
import { strandedBy } from "../../src/machine/reconfigure.js";
import { Harness, variant } from "../support/pipeline.js";

const full = defaultPipeline(presetText("full")!);
const start = (h: Harness, id = "EP-001", mode?: string) => h.apply({ type: "start", epic_id: id, title: "t", by: "alice", ...(mode ? { mode } : {}) });
const approved = { doc: { review_status: "approved", findings: [] } };
const lastOf = (h: Harness, decision: string) => h.log.filter((e) => e.decision === decision).at(-1);

describe("presets", () => {
  it("default and full are shipped, parse, and differ", () => {
    expect(presetNames()).toEqual(expect.arrayContaining(["default", "full"]));
    const d = defaultPipeline(DEFAULT_CONFIG_YAML);
    expect(d.stages.map((s) => s.id)).toEqual(["plan", "implementation", "review", "deployment"]);
    expect(full.stages.map((s) => s.owner)).toEqual(["analyst", "architect", "tech_lead", "developer", "quality", "devops"]);
    expect(full.stages.flatMap((s) => s.artifacts)).toEqual(["requirements.json", "architecture.json", "plan.json", "implementation.json", "review.json", "deployment.json", "cicd.yaml", "runbook.md"]);
  });

  it("full: an epic goes through all six stages; review needs the weighted sign-off", () => {
    const h = new Harness(full);
    start(h);
    h.artifact("requirements.json");
    h.artifact("architecture.json");
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.artifact("review.json", approved);
    expect(h.epic().stage).toBe("review"); // review.json alone is not enough
    h.message("tech_lead", "quality", "approve");
    expect(h.epic().stage).toBe("review"); // 0.4 < 0.6
    h.message("architect", "quality", "approve");
    expect(h.epic().stage).toBe("deployment"); // 1.0 ≥ 0.6
    h.deploymentTrio();
    expect(h.epic()).toMatchObject({ status: "promoted", iteration: 1 });
  });
});

describe("quorums", () => {
  const stage = (approvers: string) => defaultPipeline(variant("    artifacts: [review.json]     # review_status other than approved is quality's veto", `    artifacts: [review.json]\n    approvers: ${approvers}`)).stage("review")!;
  it("all, majority, a number", () => {
    const all = stage("{ roles: [devops, planner, developer] }");
    expect(approvalsMet(all, ["devops", "planner"])).toBe(false);
    expect(approvalsMet(all, ["devops", "planner", "developer"])).toBe(true);
    const maj = stage("{ roles: [devops, planner, developer], quorum: majority }");
    expect(approvalsMet(maj, ["devops"])).toBe(false);
    expect(approvalsMet(maj, ["devops", "developer"])).toBe(true);
    const two = stage("{ roles: [devops, planner, developer], quorum: 2 }");
    expect(approvalsMet(two, ["planner"])).toBe(false);
    expect(approvalsMet(two, ["planner", "developer"])).toBe(true);
  });
  it("weighted: approve at a score (0.65 of the total weight)", () => {
    const w = stage("{ roles: [devops, planner, developer], weights: { devops: 0.5, planner: 0.15, developer: 0.35 }, threshold: 0.65 }");
    expect(approvalsMet(w, ["devops"])).toBe(false);
    expect(approvalsMet(w, ["devops", "planner"])).toBe(true); // 0.65
    expect(approvalsMet(w, ["planner", "developer"])).toBe(false); // 0.5
  });
  it("config errors say what and where: weights without a threshold, a weight for a non-approver, quorum and weights together", () => {
    const bad = (approvers: string) => parseConfig(variant("    artifacts: [review.json]     # review_status other than approved is quality's veto", `    artifacts: [review.json]\n    approvers: ${approvers}`)).issues;
    expect(bad("{ roles: [devops], weights: { devops: 1 } }")[0]).toMatchObject({ code: "SCHEMA", path: "/stages/2/approvers" });
    expect(bad("{ roles: [devops], weights: { devops: 1, planner: 1 }, threshold: 0.5 }")[0]).toMatchObject({ code: "CONFIG_INVALID", path: "/stages/2/approvers/weights/planner" });
    expect(bad("{ roles: [devops, planner], weights: { devops: 1 }, threshold: 0.5 }")[0]).toMatchObject({ code: "CONFIG_INVALID", message: expect.stringContaining("planner") });
    expect(bad("{ roles: [devops], quorum: 1, weights: { devops: 1 }, threshold: 0.5 }")[0]).toMatchObject({ code: "CONFIG_INVALID", path: "/stages/2/approvers" });
  });
});

describe("modes", () => {
  it("fast_track: developer → quality; artifacts of skipped stages are refused with NOT_IN_MODE", () => {
    const h = new Harness();
    start(h, "EP-001", "fast_track");
    expect(h.epic()).toMatchObject({ stage: "implementation", mode: "fast_track" });
    expect(h.log[0]!.details).toMatchObject({ mode: "fast_track", stages: ["implementation", "review"] });
    const d = h.artifact("plan.json");
    expect(d.kind === "commit" && d.drafts[0]!.details.errors).toMatchObject([{ code: "NOT_IN_MODE" }]);
    h.artifact("implementation.json");
    h.artifact("review.json", approved);
    expect(h.epic()).toMatchObject({ status: "promoted" });
  });
  it("hotfix: developer → devops; a veto whose route is outside the mode goes to the mode's first stage", () => {
    const h = new Harness();
    start(h, "EP-001", "hotfix");
    h.artifact("implementation.json");
    expect(h.epic().stage).toBe("deployment");
    h.veto("devops", "developer", "no_health_check");
    expect(h.epic()).toMatchObject({ stage: "implementation", iteration: 2 });
    const dev = new Harness();
    start(dev, "EP-001", "hotfix");
    dev.veto("developer", "devops", "unclear_fix"); // developer's route is plan, not in hotfix
    expect(dev.epic()).toMatchObject({ stage: "implementation", iteration: 2 });
  });
  it("an unknown mode is refused with the modes there are", () => {
    const d = start(new Harness(), "EP-001", "yolo");
    expect(d).toMatchObject({ kind: "refuse", issues: [{ code: "BAD_MODE", expected: "fast_track, hotfix" }] });
  });
  it("a mode's stages must exist and keep pipeline order", () => {
    const issues = parseConfig(variant("    stages: [implementation, deployment]", "    stages: [deployment, implementation, nope]")).issues;
    expect(issues.map((i) => i.path)).toEqual(["/modes/hotfix/stages/1", "/modes/hotfix/stages/2"]);
  });
});

describe("veto rights and routes", () => {
  it("per-stage routes override the top-level ones (full: developer → planning, tech_lead → architecture)", () => {
    expect(full.vetoRoute("developer", "implementation")).toBe("planning");
    expect(full.vetoRoute("tech_lead", "planning")).toBe("architecture");
    expect(full.vetoRoute("quality", "review")).toBe("implementation");
    const h = new Harness(full);
    start(h);
    h.artifact("requirements.json");
    h.artifact("architecture.json");
    h.veto("tech_lead", "architect", "untestable_design");
    expect(h.epic()).toMatchObject({ stage: "architecture", iteration: 2 });
  });
  it("a route forward is a config error", () => {
    const issues = parseConfig(variant("    vetoes: [developer]          # the developer may send an unworkable plan back", "    vetoes: [developer]\n    veto_routes: { developer: deployment }")).issues;
    expect(issues[0]).toMatchObject({ code: "CONFIG_INVALID", path: "/stages/1/veto_routes/developer", expected: "a stage at or before implementation" });
  });
  it("a role that may not veto a stage is refused (VETO_NOT_ALLOWED)", () => {
    const h = new Harness();
    start(h);
    const d = h.veto("quality", "planner", "bad_plan");
    expect(d.kind === "commit" && d.drafts[0]!.details.errors).toMatchObject([{ code: "VETO_NOT_ALLOWED" }]);
  });
});

describe("non-overridable vetoes", () => {
  it("the rule is the config's, whatever pipeline asks: a mode without the stage still knows its subjects", () => {
    const fast = defaultPipeline(DEFAULT_CONFIG_YAML).forMode("fast_track")!;
    expect(fast.stage("deployment")).toBeUndefined();
    expect(fast.isNonOverridable("no_rollback_plan", "deployment")).toBe(true);
    expect(fast.isNonOverridable("no_rollback_plan", "review")).toBe(false);
    expect(fast.isNonOverridable("security_vulnerability", "review")).toBe(true);
    expect(fast.isNonOverridable("security_vulnerability", "a-stage-removed-since")).toBe(true);
  });
  function escalatedBy(subject: string): Harness {
    const h = new Harness();
    start(h);
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.artifact("review.json", approved);
    h.veto("devops", "quality", subject);
    h.artifact("implementation.json");
    h.artifact("review.json", approved);
    h.veto("devops", "quality", subject); // the same veto twice → escalated
    expect(h.epic()).toMatchObject({ status: "escalated", escalation: { reason: "repeated_veto" } });
    return h;
  }
  it("override --to promoted is refused for a stage's non-overridable subject, with a fix", () => {
    const h = escalatedBy("no_rollback_plan");
    const d = h.apply({ type: "override", epic_id: "EP-001", reason: "ship it", to: "promoted", by: "bob" });
    expect(d).toMatchObject({ kind: "refuse", issues: [{ code: "NON_OVERRIDABLE_VETO", found: "devops:no_rollback_plan" }] });
    expect((d as { issues: Array<{ fix: string }> }).issues[0]!.fix).toContain("--to implementation");
  });
  it("and for a global one (security_vulnerability); an overridable subject is overridden", () => {
    expect(escalatedBy("security_vulnerability").apply({ type: "override", epic_id: "EP-001", reason: "x", to: "promoted", by: "bob" }).kind).toBe("refuse");
    const ok = escalatedBy("not_production_ready");
    ok.apply({ type: "override", epic_id: "EP-001", reason: "accepted risk", to: "promoted", by: "bob" });
    expect(ok.epic().status).toBe("promoted");
  });
  it("override to a rework stage keeps the veto open until the vetoing role approves", () => {
    const h = escalatedBy("no_rollback_plan");
    h.apply({ type: "override", epic_id: "EP-001", reason: "one more try", to: "implementation", by: "bob" });
    expect(lastOf(h, "overridden")!.details).toMatchObject({ kept_open: [{ from: "devops", subject: "no_rollback_plan", iteration: 1 }, { from: "devops", subject: "no_rollback_plan", iteration: 2 }], closed_vetoes: [] });
    expect(h.epic().open_vetoes.map((v) => v.subject)).toEqual(["no_rollback_plan", "no_rollback_plan"]);
    h.artifact("implementation.json");
    h.artifact("review.json", approved);
    h.deploymentTrio(); // devops's own artifacts in a later iteration are its approval
    expect(h.epic()).toMatchObject({ status: "promoted", open_vetoes: [] });
  });
});

describe("conflicts, each with a stated rule in the log", () => {
  const routes = variant("  devops: implementation", "  devops: plan");
  it("two blocking vetoes of one iteration with different routes: the earliest stage wins, one rework", () => {
    const h = new Harness(defaultPipeline(routes));
    start(h);
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.veto("quality", "developer", "missing_tests"); // → implementation, iteration 2
    expect(h.epic()).toMatchObject({ stage: "implementation", iteration: 2 });
    h.message("devops", "quality", "veto", { iteration: 1, subject: "no_rollback", content: { violation: "v", blocking: true } });
    expect(h.epic()).toMatchObject({ stage: "plan", iteration: 2 });
    expect(h.epic().open_vetoes.map((v) => `${v.from}@${v.iteration}`)).toEqual(["quality@1", "devops@1"]);
    expect(lastOf(h, "conflict_resolved")!.details).toMatchObject({ conflict: "vetoes_with_different_routes", chosen: "plan" });
  });
  it("… and in the other order the epic stays at the earlier stage", () => {
    const h = new Harness(defaultPipeline(routes));
    start(h);
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.veto("devops", "quality", "no_rollback"); // → plan
    h.message("quality", "developer", "veto", { iteration: 1, subject: "missing_tests", content: { violation: "v", blocking: true } });
    expect(h.epic()).toMatchObject({ stage: "plan", iteration: 2 });
    expect(lastOf(h, "conflict_resolved")!.details).toMatchObject({ chosen: "plan" });
  });
  it("a veto after the same role's approval in one iteration: the veto wins, the approval is withdrawn", () => {
    const p = defaultPipeline(variant("    artifacts: [review.json]     # review_status other than approved is quality's veto", "    artifacts: [review.json]\n    approvers: { roles: [devops] }"));
    const h = new Harness(p);
    start(h);
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.message("devops", "quality", "approve");
    h.veto("devops", "quality", "not_production_ready");
    expect(lastOf(h, "conflict_resolved")!.details).toMatchObject({ conflict: "veto_after_approval", role: "devops" });
    expect(h.epic()).toMatchObject({ stage: "implementation", iteration: 2, approvals: [] });
  });
  it("the vetoing role approving the iteration it vetoed is rejected (VETO_STANDS)", () => {
    const h = new Harness();
    start(h);
    h.artifact("plan.json");
    h.veto("developer", "planner", "plan_unworkable");
    const d = h.message("developer", "planner", "approve", { iteration: 1 });
    expect(d.kind === "commit" && d.drafts[0]!.details.errors).toMatchObject([{ code: "VETO_STANDS" }]);
    expect(h.epic().open_vetoes).toHaveLength(1);
  });
  it("a circular pattern (quality, devops, quality) is escalated as circular_veto", () => {
    const h = new Harness(defaultPipeline(variant("max_iterations: 3", "max_iterations: 9")));
    start(h);
    h.artifact("plan.json");
    for (const [role, to] of [["quality", "developer"], ["devops", "quality"], ["quality", "developer"]] as const) {
      h.artifact("implementation.json");
      h.veto(role, to, `${role}_says_no_${h.epic().iteration}`);
    }
    expect(h.epic()).toMatchObject({ status: "escalated", escalation: { reason: "circular_veto" } });
    expect(lastOf(h, "escalated")!.details).toMatchObject({ roles: ["quality", "devops", "quality"] });
  });
});

describe("config changes", () => {
  it("strandedBy names in-flight epics whose stage or mode is gone, and nothing else", () => {
    const h = new Harness();
    start(h, "A");
    start(h, "B", "fast_track");
    start(h, "C");
    h.artifact("plan.json", { epic: "C" });
    const next = defaultPipeline(variant("  - id: plan\n    owner: planner\n    artifacts: [plan.json]\n", "").replace("  developer: plan\n", "").replace(/modes:[\s\S]*?bus:/, "bus:"));
    expect(strandedBy(next, h.view.epics.values())).toMatchObject([
      { epic_id: "A", reason: "stage_removed" },
      { epic_id: "B", reason: "mode_removed" },
    ]);
  });
  it("an epic whose stage is gone is escalated without a machine state for it", () => {
    const h = new Harness();
    start(h);
    const next = defaultPipeline(variant("  - id: plan\n    owner: planner\n    artifacts: [plan.json]\n", "").replace("  developer: plan\n", ""));
    const h2 = new Harness(next);
    h2.view = h.view;
    h2.world.reset(h.view);
    h2.apply({ type: "escalate", epic_id: "EP-001", reason: "stage_removed", detail: "gone", by: "orchestrator" });
    expect(h2.epic()).toMatchObject({ status: "escalated", stage: "plan", escalation: { reason: "stage_removed" } });
    const d = h2.apply({ type: "override", epic_id: "EP-001", reason: "moved", by: "bob" });
    expect(d).toMatchObject({ kind: "refuse", issues: [{ code: "BAD_STAGE" }] }); // says which stages exist now
    h2.apply({ type: "override", epic_id: "EP-001", reason: "moved", to: "implementation", by: "bob" });
    expect(h2.epic()).toMatchObject({ status: "in_progress", stage: "implementation" });
  });
});

describe("graph shows the configured rules", () => {
  it("approvals, routes and non-overridable subjects appear in the Mermaid diagram", () => {
    const text = toMermaid(buildEpicMachine(full), full);
    expect(text).toContain("approvals: weighted ≥ 0.6 of architect 0.6, tech_lead 0.4");
    expect(text).toContain("developer → planning");
    expect(text).toContain("never overridden: security_vulnerability, no_rollback_plan");
    expect(text).toContain("review --> deployment: approvals reach");
  });
});

describe("notices for approvers", () => {
  it("entering a stage with approvers asks each of them, besides the owner", async () => {
    const { effectsOf } = await import("../../src/machine/effects.js");
    const fx = effectsOf({ seq: 7, timestamp: "2026-11-21T10:00:00Z", agent: "orchestrator", decision: "stage_advanced", epic_id: "EP-001", iteration: 1, details: { from: "implementation", to: "review" } }, full);
    const notices = fx.filter((f) => f.type === "notice").map((f) => (f.type === "notice" ? `${f.role}:${f.notice.subject}` : ""));
    expect(notices).toEqual(["quality:stage_entered", "architect:approval_requested", "tech_lead:approval_requested"]);
  });
});

describe("budgets", () => {
  const budgeted = defaultPipeline(variant("max_iterations: 3", "max_iterations: 3\nbudget: { cost_usd: 5, tokens: 100000 }"));
  it("spend is summed per epic; crossing the budget escalates with the figures", () => {
    const h = new Harness(budgeted);
    start(h);
    h.artifact("plan.json", { doc: { cost_usd: 1.25, tokens: 40000 } });
    expect(h.epic().spend).toEqual({ cost_usd: 1.25, tokens: 40000 });
    expect(lastOf(h, "artifact_accepted")!.details).toMatchObject({ spend: { cost_usd: 1.25, tokens: 40000 } });
    h.artifact("implementation.json", { doc: { cost_usd: 2, tokens: 70000 } });
    expect(h.epic()).toMatchObject({ status: "escalated", escalation: { reason: "budget_exceeded" }, spend: { cost_usd: 3.25, tokens: 110000 } });
    expect(lastOf(h, "escalated")!.details).toMatchObject({ over: ["tokens"], budget: { cost_usd: 5, tokens: 100000 }, spend: { tokens: 110000 } });
  });
  it("no budget configured: spend is recorded and nothing is escalated", () => {
    const h = new Harness();
    start(h);
    h.artifact("plan.json", { doc: { cost_usd: 999, tokens: 9e9 } });
    expect(h.epic()).toMatchObject({ status: "in_progress", stage: "implementation", spend: { cost_usd: 999 } });
  });
});

describe("stage deadlines live in the state", () => {
  const timed = defaultPipeline(variant("    artifacts: [plan.json]\n", "    artifacts: [plan.json]\n    deadline: 2h\n"));
  it("first expiry reminds the owner (and sets the next deadline); the second escalates", () => {
    const h = new Harness(timed);
    start(h);
    const at = h.epic().deadline!.at;
    expect(Date.parse(at) - Date.parse(h.epic().stage_entered_at)).toBe(2 * 3_600_000);
    // a deadline sweep, at a time given as an argument (the harness's clock is bypassed)
    const sweep = { type: "deadline", epic_id: "EP-001" } as const;
    const ms = (iso: string, delta: number) => new Date(Date.parse(iso) + delta).toISOString();
    expect(h.apply(sweep, undefined, ms(at, -1)).kind).toBe("defer"); // not yet
    expect(h.apply(sweep, undefined, ms(at, 0)).kind).toBe("commit");
    expect(h.epic().deadline).toMatchObject({ reminded: true });
    expect(lastOf(h, "deadline_reminder")!.details).toMatchObject({ stage: "plan", owner: "planner", deadline_at: at });
    expect(lastOf(h, "deadline_reminder")).toMatchObject({ epic_id: "EP-001", iteration: 1, timestamp: at });
    h.apply(sweep, undefined, h.epic().deadline!.at);
    expect(h.epic()).toMatchObject({ status: "escalated", escalation: { reason: "deadline_missed" } });
  });
  it("entering the next stage clears the deadline (that stage has none)", () => {
    const h = new Harness(timed);
    start(h);
    h.artifact("plan.json");
    expect(h.epic().deadline).toBeUndefined();
  });
});
