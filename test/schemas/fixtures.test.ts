import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Issue } from "../../src/errors/issue.js";
import { interpretArtifact, interpretAs, interpretMessage, type Interpreted } from "../../src/schemas/interpret.js";
import { validateKind } from "../../src/schemas/registry.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const bytes = (dir: string, name: string): Uint8Array => readFileSync(join(fixtures, dir, name));
const list = (dir: string): string[] => readdirSync(join(fixtures, dir)).filter((n) => !n.startsWith(".")).sort();
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

const isMessage = (name: string): boolean => /^(veto|message)/.test(name);
/** invalid/deployment-no-rollback.json is read as a deployment.json: the kind is the name's first word. */
const artifactName = (name: string): string => `${name.split(/[-.]/)[0]}${name.slice(name.lastIndexOf("."))}`;

function interpretFixture(dir: string, name: string): Interpreted {
  const b = bytes(dir, name);
  if (name === "decision-line.json") return interpretAs("log-entry", "json", b);
  if (isMessage(name)) return interpretMessage(name, b, "quality");
  return interpretArtifact(artifactName(name), b);
}

const errors = (r: Interpreted): Issue[] => r.issues.filter((i) => i.severity === "error");
const paths = (issues: Issue[]): string[] => issues.map((i) => i.path ?? "").sort();

describe("fixtures: seed004 and valid pass with zero issues", () => {
  for (const dir of ["seed004", "valid"]) {
    for (const name of list(dir)) {
      it(`${dir}/${name} validates with no issues`, () => {
        const r = interpretFixture(dir, name);
        expect(r.issues).toEqual([]);
        expect(r.doc).toBeDefined();
      });
    }
  }

  it("the seed decision line validates against log-entry with validateKind", () => {
    const line = JSON.parse(readFileSync(join(fixtures, "seed004", "decision-line.json"), "utf8")) as unknown;
    expect(validateKind("log-entry", line)).toEqual([]);
  });

  it("the compact-form message is read as the envelope addressed to its inbox", () => {
    const r = interpretMessage("message-compact.json", bytes("valid", "message-compact.json"), "developer");
    expect(r.issues).toEqual([]);
    expect(r.doc).toMatchObject({ from: "quality", to: "developer", type: "veto", epic_id: "EP-001", iteration: 1, subject: "coverage_below_target" });
  });

  it("the seed veto is read as a veto from devops to quality", () => {
    const r = interpretMessage("veto.yaml", bytes("seed004", "veto.yaml"), "quality");
    expect(r.doc).toMatchObject({ from: "devops", to: "quality", type: "veto", subject: "not_production_ready", iteration: 1 });
  });
});

describe("fixtures: every invalid file fails", () => {
  it("has a test below for every file in invalid/", () => {
    expect(list("invalid")).toEqual(Object.keys(expectations).sort());
  });

  for (const name of list("invalid")) {
    it(`invalid/${name} is rejected`, () => {
      const r = interpretFixture("invalid", name);
      expect(errors(r).length).toBeGreaterThan(0);
    });
  }
});

/** What each invalid fixture must report: the JSON paths of its errors (all SCHEMA) and a check on them. */
const expectations: Record<string, { paths: string[]; check?: (issues: Issue[]) => void }> = {
  "architecture-layer-without-rule.json": {
    // the service layer (layers[1]) says nothing about what it may depend on
    paths: ["/layers/1/may_depend_on"],
    check: ([i]) => expect(i!.message).toMatch(/may_depend_on/),
  },
  "architecture-no-components.json": {
    paths: ["/components"],
    check: ([i]) => {
      expect(i!.expected).toMatch(/at least 1/);
      expect(i!.found).toBe("0");
    },
  },
  "cicd-no-jobs.yaml": {
    paths: ["/jobs"],
    check: ([i]) => expect(i!.expected).toMatch(/at least 1/),
  },
  "deployment-no-health-checks.json": {
    paths: ["/health_checks"],
    check: ([i]) => expect(i!.message).toMatch(/health_checks/),
  },
  "deployment-no-rollback.json": {
    paths: ["/rollback"],
    check: ([i]) => expect(i!.message).toMatch(/rollback/),
  },
  "deployment-no-staging.json": {
    paths: ["/deployment_strategy/stages"],
    check: ([i]) => expect(`${i!.message} ${i!.fix}`).toMatch(/staging/),
  },
  "implementation-coverage-150.json": {
    paths: ["/tasks_completed/0/test_results/coverage"],
    check: ([i]) => {
      expect(i!.found).toBe("150");
      expect(i!.expected).toMatch(/100/);
    },
  },
  "message-bad-type.yaml": {
    paths: ["/type"],
    check: ([i]) => {
      expect(i!.found).toBe('"approval"');
      expect(i!.expected).toContain('"approve"');
    },
  },
  "plan-task-without-criteria.json": {
    // T2 (stages[0].tasks[1]) has none; T3 (stages[1].tasks[0]) has an empty list: both at once.
    paths: ["/stages/0/tasks/1/acceptance_criteria", "/stages/1/tasks/0/acceptance_criteria"],
  },
  "requirements-nfr-unmeasured.json": {
    // NFR-1's category is not one of the enum; NFR-3 has no measure: both at once.
    paths: ["/non_functional/0/category", "/non_functional/2/measure"],
    check: (issues) => {
      const cat = issues.find((i) => i.path === "/non_functional/0/category")!;
      expect(cat.found).toBe('"speed"');
      expect(cat.expected).toContain('"performance"');
    },
  },
  "requirements-story-without-criteria.json": {
    paths: ["/user_stories/1/acceptance_criteria"],
    check: ([i]) => expect(i!.message).toMatch(/acceptance_criteria/),
  },
  "review-bad-status.json": {
    paths: ["/review_status"],
    check: ([i]) => {
      expect(i!.found).toBe('"approved_with_comments"');
      expect(i!.fix).toContain('"approved"');
    },
  },
  "runbook-missing-rollback.md": {
    paths: ["/headings"],
    check: ([i]) => {
      expect(i!.message).toContain("Rollback Procedure");
      expect(i!.fix).toContain("Rollback Procedure");
      // only the missing heading is reported, not the three that are there
      expect(i!.message).not.toContain("Service Overview");
    },
  },
  "veto-without-content.yaml": {
    paths: ["/content"],
    check: ([i]) => expect(i!.message).toMatch(/content/),
  },
};

describe("fixtures: invalid files report the specific paths", () => {
  for (const [name, want] of Object.entries(expectations)) {
    it(`invalid/${name} → SCHEMA at ${want.paths.join(", ")} with a fix`, () => {
      const errs = errors(interpretFixture("invalid", name));
      expect(paths(errs)).toEqual([...want.paths].sort());
      for (const i of errs) {
        expect(i.code).toBe("SCHEMA");
        expect(i.fix.trim()).not.toBe("");
        expect(i.message.trim()).not.toBe("");
      }
      want.check?.(errs);
    });
  }

  it("a runbook missing two headings names both, one issue each", () => {
    const r = interpretArtifact("runbook.md", enc("# Runbook\n## Service Overview\ntext\n## Common Issues\n"));
    const msgs = errors(r).map((i) => i.message).join("\n");
    expect(errors(r)).toHaveLength(2);
    expect(msgs).toContain("Monitoring");
    expect(msgs).toContain("Rollback Procedure");
  });
});

describe("validation reports every problem at once", () => {
  it("a review with four different mistakes gets four issues, each at its own path", () => {
    const doc = { epic_id: "EP-001", iteration: 0, timestamp: "yesterday", review_status: "ok" };
    const issues = validateKind("review", doc);
    expect(paths(issues)).toEqual(["/findings", "/iteration", "/review_status", "/timestamp"]);
    expect(issues.every((i) => i.code === "SCHEMA" && i.fix.length > 0)).toBe(true);
  });

  it("interpretArtifact returns the same complete list for the file form", () => {
    const r = interpretArtifact("review.json", enc(JSON.stringify({ epic_id: "EP-001", iteration: 0, timestamp: "yesterday", review_status: "ok" })));
    expect(paths(errors(r))).toEqual(["/findings", "/iteration", "/review_status", "/timestamp"]);
  });

  it("a deployment without health_checks and rollback reports both", () => {
    const doc = JSON.parse(readFileSync(join(fixtures, "seed004", "deployment.json"), "utf8")) as Record<string, unknown>;
    delete doc.health_checks;
    delete doc.rollback;
    expect(paths(validateKind("deployment", doc))).toEqual(["/health_checks", "/rollback"]);
  });
});
