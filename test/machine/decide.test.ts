import { describe, expect, it } from "vitest";
import { Harness } from "../support/pipeline.js";

function started(): Harness {
  const h = new Harness();
  expect(h.apply({ type: "start", epic_id: "EP-001", title: "Health check endpoint", by: "alice" }).kind).toBe("commit");
  return h;
}

describe("decide: the four-stage pipeline", () => {
  it("advances plan → implementation → review → deployment → promoted on valid artifacts", () => {
    const h = started();
    h.artifact("plan.json");
    expect(h.epic().stage).toBe("implementation");
    h.artifact("implementation.json");
    expect(h.epic().stage).toBe("review");
    h.artifact("review.json", { doc: { review_status: "approved", findings: [] } });
    expect(h.epic().stage).toBe("deployment");
    h.artifact("deployment.json");
    h.artifact("cicd.yaml");
    expect(h.epic().stage).toBe("deployment");
    h.artifact("runbook.md");
    expect(h.epic()).toMatchObject({ status: "promoted", stage: "promoted", iteration: 1 });
    expect(h.decisions()).toEqual([
      "epic_started",
      "artifact_accepted", "stage_advanced",
      "artifact_accepted", "stage_advanced",
      "artifact_accepted", "stage_advanced",
      "artifact_accepted", "artifact_accepted", "artifact_accepted", "promoted",
    ]);
  });

  it("the demo story: DevOps vetoes in iteration 1, rework, promoted in iteration 2", () => {
    const h = started();
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.artifact("review.json", { doc: { review_status: "approved", findings: [] } });
    h.veto("devops", "quality", "not_production_ready");
    expect(h.epic()).toMatchObject({ stage: "implementation", iteration: 2, status: "in_progress" });
    expect(h.epic().open_vetoes).toMatchObject([{ from: "devops", subject: "not_production_ready", iteration: 1 }]);
    const advanced = h.log.filter((e) => e.decision === "stage_advanced").at(-1)!;
    expect(advanced).toMatchObject({ iteration: 2, details: { from: "deployment", to: "implementation" } });
    h.artifact("implementation.json");
    h.artifact("review.json", { doc: { review_status: "approved", findings: [] } });
    expect(h.epic().open_vetoes).toHaveLength(1); // sticky until devops approves
    h.deploymentTrio();
    expect(h.epic()).toMatchObject({ status: "promoted", iteration: 2, open_vetoes: [] });
    expect(h.decisions()).toContain("veto_resolved");
  });

  it("no promotion while another role's blocking veto is open; its approval promotes", () => {
    const h = started();
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.veto("quality", "developer", "missing_tests"); // quality vetoes at review, iteration → 2
    h.artifact("implementation.json");
    // devops approves nothing yet; quality's own review.json (approved) resolves its veto
    h.artifact("review.json", { doc: { review_status: "approved", findings: [] } });
    expect(h.epic().open_vetoes).toEqual([]);
    h.veto("devops", "quality", "no_rollback", true); // → implementation, iteration 3
    h.artifact("implementation.json");
    h.artifact("review.json", { doc: { review_status: "approved", findings: [] } });
    h.artifact("deployment.json");
    h.artifact("cicd.yaml");
    h.artifact("runbook.md");
    expect(h.epic().status).toBe("promoted");
  });

  it("a review with changes_required is quality's veto", () => {
    const h = started();
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.artifact("review.json", { doc: { review_status: "changes_required", findings: [{ severity: "major", description: "no tests for /health" }] } });
    expect(h.epic()).toMatchObject({ stage: "implementation", iteration: 2 });
    expect(h.epic().open_vetoes[0]).toMatchObject({ from: "quality", subject: "review_changes_required", violation: "no tests for /health" });
  });

  it("non-blocking vetoes are only logged", () => {
    const h = started();
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.veto("devops", "quality", "nit", false);
    expect(h.epic()).toMatchObject({ stage: "review", iteration: 1, open_vetoes: [] });
    expect(h.decisions().at(-1)).toBe("veto_recorded");
  });

  it("escalates when the same veto is raised twice", () => {
    const h = started();
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.veto("quality", "developer", "missing_tests");
    h.artifact("implementation.json");
    h.veto("quality", "developer", "missing_tests");
    expect(h.epic()).toMatchObject({ status: "escalated", escalation: { reason: "repeated_veto" } });
  });

  it("escalates after max_iterations vetoed iterations", () => {
    const h = started();
    h.artifact("plan.json");
    for (const subject of ["a", "b"]) {
      h.artifact("implementation.json");
      h.veto("quality", "developer", subject);
    }
    expect(h.epic().iteration).toBe(3);
    h.artifact("implementation.json");
    h.veto("quality", "developer", "c");
    expect(h.epic()).toMatchObject({ status: "escalated", iteration: 3, escalation: { reason: "max_iterations", stage: "review" } });
    // artifacts for an escalated epic are rejected
    const d = h.artifact("implementation.json");
    expect(d.kind === "commit" && d.drafts[0]!.decision).toBe("artifact_rejected");
  });

  it("override resumes an escalated epic and cancel ends one, both with a reason", () => {
    const h = started();
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.veto("quality", "developer", "x");
    h.artifact("implementation.json");
    h.veto("quality", "developer", "x");
    expect(h.apply({ type: "override", epic_id: "EP-001", reason: "", by: "bob" }).kind).toBe("refuse");
    h.apply({ type: "override", epic_id: "EP-001", reason: "tests exist upstream", by: "bob", to: "deployment" });
    expect(h.epic()).toMatchObject({ status: "in_progress", stage: "deployment", open_vetoes: [] });
    h.apply({ type: "cancel", epic_id: "EP-001", reason: "descoped", by: "bob" });
    expect(h.epic().status).toBe("cancelled");
    expect(h.log.at(-1)).toMatchObject({ decision: "cancelled", details: { by: "bob", reason: "descoped" } });
  });

  it("rejects what the rules forbid, with the reason", () => {
    const h = started();
    const cases: Array<[() => ReturnType<Harness["apply"]>, string]> = [
      [() => h.artifact("implementation.json", { iteration: 1 }), "defer"],
      [() => h.artifact("plan.json", { iteration: 2 }), "WRONG_ITERATION"],
      [() => h.veto("planner", "developer", "x"), "VETO_NOT_ALLOWED"],
      [() => h.message("developer", "developer", "info"), "SELF_MESSAGE"],
      [() => h.message("intruder", "developer", "info"), "UNKNOWN_ROLE"],
      [() => h.apply({ type: "message", file: "messages/inbox/quality/m.yaml", inbox: "quality", sha256: "a".repeat(64), doc: { from: "devops", to: "developer", type: "info", epic_id: "EP-001", iteration: 1, timestamp: "2026-11-21T10:00:00Z" }, issues: [] }), "WRONG_INBOX"],
      [() => h.message("devops", "quality", "info", {}, "EP-404"), "UNKNOWN_EPIC"],
      [() => h.apply({ type: "start", epic_id: "EP-001", title: "again", by: "x" }), "EPIC_EXISTS"],
      [() => h.apply({ type: "start", epic_id: "../etc", title: "x", by: "x" }), "BAD_EPIC_ID"],
    ];
    for (const [run, want] of cases) {
      const d = run();
      const got = d.kind === "commit" ? (d.drafts[0]!.details.errors as Array<{ code: string }>)[0]!.code : d.kind === "refuse" ? d.issues[0]!.code : "defer";
      expect(got).toBe(want);
    }
  });

  it("rejects a replayed message id", () => {
    const h = started();
    h.message("devops", "quality", "info", { id: "m-1" });
    const d = h.message("devops", "quality", "info", { id: "m-1" });
    expect(d.kind === "commit" && (d.drafts[0]!.details.errors as Array<{ code: string }>)[0]!.code).toBe("REPLAYED_MESSAGE");
  });
});

describe("decide: approvers and quorum", () => {
  it("a stage with approvers completes when its artifacts are in and the quorum has approved", async () => {
    const { parseConfig } = await import("../../src/config/pipeline.js");
    const { pipeline } = parseConfig(`version: 1
roles: [developer, quality, security, devops]
stages:
  - id: implementation
    owner: developer
    artifacts: [implementation.json]
    approvers: { roles: [quality, security, devops], quorum: majority }
`);
    const h = new Harness(pipeline!);
    h.apply({ type: "start", epic_id: "EP-001", title: "q", by: "x" });
    h.artifact("implementation.json");
    expect(h.epic().stage).toBe("implementation");
    h.message("quality", "developer", "approve", { subject: "lgtm" });
    expect(h.epic().stage).toBe("implementation");
    h.message("security", "developer", "approve", { subject: "lgtm" });
    expect(h.epic().status).toBe("promoted");
  });
});

describe("decide: the transport an input came by", () => {
  it("is recorded on the entry that names the input, whatever the transport, and changes no decision", () => {
    const h = started();
    const base = { type: "artifact" as const, file: "artifacts/EP-001/plan.json", name: "plan.json", folder: "EP-001", sha256: "a".repeat(64), doc: { epic_id: "EP-001", iteration: 1 }, issues: [], mtime: "2099-01-01T00:00:00Z" };
    const plain = h.apply(base);
    const h2 = started();
    const viaMcp = h2.apply({ ...base, transport: "mcp" });
    if (plain.kind !== "commit" || viaMcp.kind !== "commit") throw new Error("expected commits");
    expect(viaMcp.drafts.map((d) => d.decision)).toEqual(plain.drafts.map((d) => d.decision));
    expect(viaMcp.drafts[0]).toMatchObject({ decision: "artifact_accepted", details: { transport: "mcp" } });
    expect(plain.drafts[0]!.details).not.toHaveProperty("transport");
    // only the first entry names the input
    expect(viaMcp.drafts.slice(1).every((d) => !("transport" in d.details))).toBe(true);
    // a rejection names it too; a person's command as well
    expect(h2.apply({ ...base, sha256: "b".repeat(64), transport: "files", doc: { epic_id: "EP-001", iteration: 7 } })).toMatchObject({ kind: "commit", drafts: [{ decision: "artifact_rejected", details: { transport: "files" } }] });
    expect(h2.apply({ type: "cancel", epic_id: "EP-001", reason: "descoped", by: "alice", transport: "cli" })).toMatchObject({ kind: "commit", drafts: [{ decision: "cancelled", details: { transport: "cli" } }] });
    // a refusal logs nothing, so it carries nothing
    expect(h2.apply({ type: "cancel", epic_id: "EP-404", reason: "x", by: "alice", transport: "cli" })).toMatchObject({ kind: "refuse" });
  });
});
