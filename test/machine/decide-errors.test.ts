/**
 * Issue 11 items 5 and 6 in decide(): every problem in one round, fixes with the values the daemon
 * knows, far timestamps accepted with a warning; vetoes read as meant (the same veto on what it says,
 * a retry recorded once).
 */
import { describe, expect, it } from "vitest";
import { interpretArtifact, interpretMessage } from "../../src/schemas/interpret.js";
import type { Input } from "../../src/machine/decide.js";
import { Harness, sha } from "../support/pipeline.js";
import { artifact } from "../support/bus.js";

const enc = (s: string) => new TextEncoder().encode(s);

function started(): Harness {
  const h = new Harness();
  h.apply({ type: "start", epic_id: "EP-001", title: "Health check endpoint", by: "alice" });
  return h;
}

/** An artifact as the daemon reads it: real bytes through the real interpreter. */
function drop(name: string, text: string, opts: { folder?: string; mtime?: string } = {}): Input {
  const a = interpretArtifact(name, enc(text));
  return { type: "artifact", file: opts.folder ? `artifacts/${opts.folder}/${name}` : `artifacts/${name}`, name, ...(opts.folder ? { folder: opts.folder } : {}), sha256: sha(text), issues: a.issues, mtime: opts.mtime ?? "2099-01-01T00:00:00.000Z", ...(a.doc !== undefined ? { doc: a.doc } : {}) };
}

function message(inbox: string, text: string, file = `messages/inbox/${inbox}/m-${sha(text).slice(-8)}.yaml`): Input {
  const m = interpretMessage(file, enc(text), inbox);
  return { type: "message", file, inbox, sha256: sha(text), issues: m.issues, ...(m.doc ? { doc: m.doc } : {}) };
}

const rejection = (h: Harness) => h.log.at(-1)!.details as { errors: Array<{ code: string; path?: string; fix: string; message: string }>; warnings?: Array<{ code: string; message: string }> };

describe("a file's mtime against the stage entry (the kernel stamps files from a coarse clock)", () => {
  it("a flat drop stamped a few ms before the entry it followed goes to the epic waiting; one written well before waits", () => {
    const h = started();
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.artifact("review.json", { doc: { review_status: "approved" } });
    const epic = h.epic();
    expect(epic.stage).toBe("deployment");
    const at = (ms: number) => new Date(Date.parse(epic.stage_entered_at) + ms).toISOString();
    const runbook = artifact("runbook.md", "EP-001", 1);
    // written 1–3 ms after the entry, stamped 3 ms before it
    expect(h.apply(drop("runbook.md", runbook, { mtime: at(-3) })).kind).toBe("commit");
    expect(h.log.some((e) => e.decision === "artifact_accepted" && (e.details as { file: string }).file === "artifacts/runbook.md")).toBe(true);
    // a second before: from before the stage entry, left for later
    const old = runbook.replace("Runbook", "Runbook (old)");
    expect(h.apply(drop("runbook.md", old, { mtime: at(-1000) })).kind).toBe("defer");
  });
});

describe("every problem in one round, each fix with real values", () => {
  it("a bad timestamp and a stale iteration are both named; the iteration fix says which iteration is current", () => {
    const h = started();
    h.artifact("plan.json");
    h.veto("developer", "planner", "unclear_tasks"); // back to plan, iteration 2
    expect(h.epic()).toMatchObject({ stage: "plan", iteration: 2 });
    h.apply(drop("plan.json", artifact("plan.json", "EP-001", 1, { timestamp: "yesterday" }), { folder: "EP-001" }));
    const r = rejection(h);
    expect(r.errors.map((e) => `${e.code}${e.path}`).sort()).toEqual(["SCHEMA/timestamp", "WRONG_ITERATION/iteration"]);
    expect(r.errors.find((e) => e.path === "/iteration")!.fix).toBe('Set "iteration": 2 (EP-001\'s current iteration).');
    expect(r.errors.find((e) => e.path === "/timestamp")!.fix).toMatch(/^Set "timestamp": "20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ" — the time you write the file/);
  });

  it("the folder's epic id in the fix of a mismatch, and the seed's placeholders answered with real values", () => {
    const h = started();
    h.apply(drop("plan.json", artifact("plan.json", "EP-999", 1), { folder: "EP-001" }));
    expect(rejection(h).errors.find((e) => e.code === "EPIC_FOLDER_MISMATCH")!.fix).toBe('Set "epic_id": "EP-001" (the epic of its folder artifacts/EP-001/), or move the file to artifacts/EP-999/ if it belongs to that epic.');
    h.apply(drop("plan.json", artifact("plan.json", "EP-001", 1, { epic_id: "EP-XXX", iteration: "current", timestamp: "ISO-8601" }), { folder: "EP-001" }));
    const fixes = Object.fromEntries(rejection(h).errors.map((e) => [e.path, e.fix]));
    expect(fixes["/epic_id"]).toBe('Set "epic_id": "EP-001" (the epic of its folder artifacts/EP-001/).');
    expect(fixes["/iteration"]).toBe('Set "iteration": 1 (EP-001\'s current iteration).');
    // a flat drop: the epic waiting for it is the one named
    h.apply(drop("plan.json", artifact("plan.json", "EP-001", 1, { epic_id: "EP-XXX" })));
    expect(rejection(h).errors.find((e) => e.path === "/epic_id")!.fix).toBe('Set "epic_id": "EP-001" (the epic waiting for this file).');
  });

  it("a YAML message's fix is written the YAML way", () => {
    const h = started();
    h.apply(message("planner", 'from: developer\nto: planner\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: EP-001\niteration: "current"\ntype: info\nsubject: question\n'));
    expect(rejection(h).errors.find((e) => e.path === "/iteration")!.fix).toBe("Set iteration: 1 (EP-001's current iteration).");
  });

  it("a timestamp months before the epic started, or years ahead, is accepted with a warning", () => {
    const h = started();
    h.apply(drop("plan.json", artifact("plan.json", "EP-001", 1, { timestamp: "2025-01-15T09:00:00Z" }), { folder: "EP-001" }));
    const accepted = h.log.find((e) => e.decision === "artifact_accepted")!;
    expect((accepted.details as { warnings: Array<{ code: string; message: string }> }).warnings).toMatchObject([{ code: "TIMESTAMP_FAR", message: expect.stringMatching(/about 22 months before epic EP-001 started/) as unknown }]);
    h.apply(drop("implementation.json", artifact("implementation.json", "EP-001", 1, { timestamp: "2031-01-01T00:00:00Z" }), { folder: "EP-001" }));
    const second = h.log.filter((e) => e.decision === "artifact_accepted")[1]!;
    expect(JSON.stringify(second.details)).toMatch(/about 4 years ahead of the daemon's clock/);
  });
});

describe("vetoes read as meant", () => {
  const review = (findings: Array<{ severity: string; description: string }>, ts = "2026-11-21T10:00:00Z") => (h: Harness) => artifact("review.json", "EP-001", h.epic().iteration, { review_status: "changes_required", findings, timestamp: ts });

  it("a review.json about a different finding at iteration 2 of 3 is a new veto, not the same one raised twice", () => {
    const h = started();
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.apply(drop("review.json", review([{ severity: "major", description: "No tests for the error path" }])(h), { folder: "EP-001" }));
    expect(h.epic()).toMatchObject({ stage: "implementation", iteration: 2, status: "in_progress" });
    h.artifact("implementation.json");
    h.apply(drop("review.json", review([{ severity: "critical", description: "SQL injection in the login form" }])(h), { folder: "EP-001" }));
    expect(h.epic()).toMatchObject({ stage: "implementation", iteration: 3, status: "in_progress" });
    // the same findings raised again (in other words of case and spacing) is the same veto: escalated
    h.artifact("implementation.json");
    h.apply(drop("review.json", review([{ severity: "critical", description: "SQL  injection in the LOGIN form" }])(h), { folder: "EP-001" }));
    expect(h.epic()).toMatchObject({ status: "escalated", escalation: { reason: "repeated_veto" } });
    expect(h.epic().escalation!.detail).toMatch(/raised the same findings again/);
  });

  it("max_iterations stays the cap for different findings", () => {
    const h = started();
    h.artifact("plan.json");
    for (let i = 1; i <= 3; i++) {
      h.artifact("implementation.json");
      h.apply(drop("review.json", review([{ severity: "major", description: `finding ${i}` }])(h), { folder: "EP-001" }));
    }
    expect(h.epic()).toMatchObject({ status: "escalated", escalation: { reason: "max_iterations" } });
  });

  const veto = (extra = "", ts = "2026-11-21T10:00:00Z") => `from: devops\nto: quality\ntimestamp: "${ts}"\nepic_id: EP-001\niteration: 1\ntype: veto\nsubject: not_production_ready\n${extra}content:\n  violation: Missing critical production requirement\n  specifics: No health check endpoint defined\n  impact: Cannot monitor service health\n  requirement: Implement standardized health check\n  blocking: true\naction_needed: add_health_monitoring\n`;

  for (const [label, copy] of [
    ["byte for byte under another name", (h: Harness) => h.apply(message("quality", veto(), "messages/inbox/quality/veto-retry.yaml"))],
    ["with a new timestamp", (h: Harness) => h.apply(message("quality", veto("", "2026-11-21T10:05:00Z")))],
    ["with the same id and a new timestamp", (h: Harness) => h.apply(message("quality", veto("id: veto-1\n", "2026-11-21T10:07:00Z")))],
  ] as const) {
    it(`an agent's retry of the same veto (${label}) is one veto: logged as a duplicate of the one recorded, nothing else`, () => {
      const h = started();
      h.artifact("plan.json");
      h.artifact("implementation.json");
      h.artifact("review.json", { doc: { review_status: "approved", findings: [] } });
      h.apply(message("quality", label.includes("same id") ? veto("id: veto-1\n") : veto(), "messages/inbox/quality/veto.yaml"));
      expect(h.epic()).toMatchObject({ stage: "implementation", iteration: 2 });
      const before = h.log.length;
      copy(h);
      const added = h.log.slice(before);
      expect(added.map((e) => e.decision)).toEqual(["veto_duplicate"]);
      expect(added[0]!.details).toMatchObject({ from: "devops", subject: "not_production_ready", duplicate_of: { file: "messages/inbox/quality/veto.yaml", iteration: 1 } });
      expect(h.epic().open_vetoes).toHaveLength(1);
      expect(h.epic()).toMatchObject({ stage: "implementation", iteration: 2 });
    });
  }

  it("a retried review.json (same findings, new timestamp) after it sent the epic back is a duplicate, not a stale-iteration rejection", () => {
    const h = started();
    h.artifact("plan.json");
    h.artifact("implementation.json");
    const text = review([{ severity: "major", description: "No tests" }])(h);
    h.apply(drop("review.json", text, { folder: "EP-001" }));
    expect(h.epic().iteration).toBe(2);
    h.apply(drop("review.json", text.replace("2026-11-21T10:00:00Z", "2026-11-21T10:09:00Z"), { folder: "EP-001" }));
    expect(h.log.at(-1)!.decision).toBe("veto_duplicate");
    expect(h.epic().open_vetoes).toHaveLength(1);
  });

  it("the open veto keeps what it says, for the rework notice (specifics, impact, requirement, action_needed, file)", () => {
    const h = started();
    h.artifact("plan.json");
    h.artifact("implementation.json");
    h.artifact("review.json", { doc: { review_status: "approved", findings: [] } });
    h.apply(message("quality", veto(), "messages/inbox/quality/veto.yaml"));
    expect(h.epic().open_vetoes[0]).toMatchObject({ from: "devops", subject: "not_production_ready", specifics: "No health check endpoint defined", impact: "Cannot monitor service health", requirement: "Implement standardized health check", action_needed: "add_health_monitoring", file: "messages/inbox/quality/veto.yaml" });
  });
});

describe("an epic's folder itself refused unread (a link there: review rv8)", () => {
  it("the rejection names the epic and its iteration, and the owner of the stage it is at is its author", () => {
    const h = started();
    h.artifact("plan.json");
    expect(h.epic().stage).toBe("implementation");
    const problem = { code: "SYMLINK_OUTSIDE", severity: "error", message: "artifacts/EP-001 is a symbolic link to /tmp/x, not a folder", file: "artifacts/EP-001", fix: "Remove the link." } as const;
    expect(h.apply({ type: "artifact", file: "artifacts/EP-001", name: "", folder: "EP-001", sha256: sha("link"), issues: [problem], mtime: "2099-01-01T00:00:00.000Z" }).kind).toBe("commit");
    const e = h.log.at(-1)!;
    expect(e).toMatchObject({ decision: "artifact_rejected", epic_id: "EP-001", iteration: 1, details: { file: "artifacts/EP-001", author: "developer" } });
    // an epic no one started: named, nobody to tell
    h.apply({ type: "artifact", file: "artifacts/EP-404", name: "", folder: "EP-404", sha256: sha("link2"), issues: [{ ...problem, file: "artifacts/EP-404" }], mtime: "2099-01-01T00:00:00.000Z" });
    expect(h.log.at(-1)).toMatchObject({ decision: "artifact_rejected", epic_id: "EP-404" });
    expect((h.log.at(-1)!.details as { author?: string }).author).toBeUndefined();
  });
});
