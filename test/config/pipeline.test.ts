import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_YAML } from "../../src/config/default-config.js";
import { parseConfig } from "../../src/config/pipeline.js";
import type { Issue } from "../../src/errors/issue.js";
import { variant } from "../support/pipeline.js";

function rejected(text: string): Issue[] {
  const r = parseConfig(text);
  expect(r.pipeline).toBeUndefined();
  expect(r.issues.length).toBeGreaterThan(0);
  for (const i of r.issues) {
    expect(i.severity).toBe("error");
    expect(i.file).toBe("consensus.yaml");
    expect(i.fix).not.toBe("");
  }
  return r.issues;
}

describe("parseConfig: the default config", () => {
  const { pipeline, issues } = parseConfig(DEFAULT_CONFIG_YAML);

  it("parses with no issues", () => {
    expect(issues).toEqual([]);
    expect(pipeline).toBeDefined();
  });

  it("has the four stages in order, each with its owner and artifacts", () => {
    expect(pipeline!.stages.map((s) => [s.id, s.owner, [...s.artifacts]])).toEqual([
      ["plan", "planner", ["plan.json"]],
      ["implementation", "developer", ["implementation.json"]],
      ["review", "quality", ["review.json"]],
      ["deployment", "devops", ["deployment.json", "cicd.yaml", "runbook.md"]],
    ]);
    expect(pipeline!.stages.map((s) => s.index)).toEqual([0, 1, 2, 3]);
  });

  it("has the four default roles, max_iterations 3 and the bus settings", () => {
    expect([...pipeline!.roles]).toEqual(["planner", "developer", "quality", "devops"]);
    expect(pipeline!.maxIterations).toBe(3);
    expect(pipeline!.settleMs).toBe(500);
    expect(pipeline!.maxFileBytes).toBe(1_048_576);
  });

  it("finds each artifact's stage and each role's veto route", () => {
    expect(pipeline!.stageOfArtifact("runbook.md")?.id).toBe("deployment");
    expect(pipeline!.stageOfArtifact("notes.md")).toBeUndefined();
    expect(pipeline!.vetoRoute("developer")).toBe("plan");
    expect(pipeline!.vetoRoute("devops")).toBe("implementation");
    expect(pipeline!.stage("review")?.owner).toBe("quality");
    expect(pipeline!.isRole("quality")).toBe(true);
    expect(pipeline!.isRole("orchestrator")).toBe(false);
  });

  it("records the SHA-256 of the config text as its version", () => {
    expect(pipeline!.version).toMatch(/^[0-9a-f]{64}$/);
    expect(parseConfig(`${DEFAULT_CONFIG_YAML}\n# a comment\n`).pipeline!.version).not.toBe(pipeline!.version);
  });
});

describe("parseConfig: the review stage's owner may always veto", () => {
  it("lists quality among the review stage's vetoes", () => {
    expect(parseConfig(DEFAULT_CONFIG_YAML).pipeline!.stage("review")!.vetoes).toContain("quality");
  });

  it("adds the owner of a stage that collects review.json even when vetoes: does not name it", () => {
    const p = parseConfig(variant("vetoes: [quality, devops]", "vetoes: [devops]")).pipeline!;
    expect([...p.stage("review")!.vetoes].sort()).toEqual(["devops", "quality"]);
  });

  it("does not add the owner of a stage that does not collect review.json", () => {
    expect(parseConfig(DEFAULT_CONFIG_YAML).pipeline!.stage("plan")!.vetoes).toEqual([]);
  });
});

describe("parseConfig: invalid configs say what and where", () => {
  it("rejects a stage owner that is not a role (CONFIG_INVALID at /stages/3/owner)", () => {
    const issues = rejected(variant("owner: devops", "owner: security"));
    expect(issues).toMatchObject([{ code: "CONFIG_INVALID", path: "/stages/3/owner", found: "security" }]);
    expect(issues[0]!.fix).toContain("security");
  });

  it("rejects a veto route to an unknown stage (CONFIG_INVALID at /veto_routes/quality)", () => {
    const issues = rejected(variant("quality: implementation", "quality: testing"));
    expect(issues).toMatchObject([{ code: "CONFIG_INVALID", path: "/veto_routes/quality", found: "testing" }]);
    expect(issues[0]!.fix).toContain("implementation");
  });

  it("rejects a veto route for a role that is not configured", () => {
    expect(rejected(variant("devops: implementation", "devops: implementation\n  security: plan"))).toMatchObject([{ code: "CONFIG_INVALID", path: "/veto_routes/security" }]);
  });

  it("rejects a veto role that is not configured (CONFIG_INVALID at /stages/2/vetoes/1)", () => {
    expect(rejected(variant("vetoes: [quality, devops]", "vetoes: [quality, security]"))).toMatchObject([{ code: "CONFIG_INVALID", path: "/stages/2/vetoes/1" }]);
  });

  it("rejects a duplicate stage id at the second occurrence (CONFIG_INVALID at /stages/2/id)", () => {
    // (the modes that name "review" then say so too)
    expect(rejected(variant("- id: review", "- id: plan"))).toMatchObject([
      { code: "CONFIG_INVALID", path: "/stages/2/id", found: "plan" },
      { code: "CONFIG_INVALID", path: "/modes/fast_track/stages/1", found: "review" },
    ]);
  });

  it("rejects a terminal state used as a stage id", () => {
    // (and fast_track, which names "review", says so too)
    expect(rejected(variant("- id: review", "- id: promoted"))).toMatchObject([
      { code: "CONFIG_INVALID", path: "/stages/2/id", found: "promoted" },
      { code: "CONFIG_INVALID", path: "/modes/fast_track/stages/1", found: "review" },
    ]);
  });

  it("rejects an artifact listed by two stages (CONFIG_INVALID at the second listing)", () => {
    const issues = rejected(variant("artifacts: [review.json]", "artifacts: [review.json, plan.json]"));
    expect(issues).toMatchObject([{ code: "CONFIG_INVALID", path: "/stages/2/artifacts/1", found: "plan.json" }]);
    expect(issues[0]!.message).toMatch(/plan.*review/);
  });

  it("rejects an unknown top-level key (SCHEMA at /extra)", () => {
    expect(rejected(`${DEFAULT_CONFIG_YAML}extra: 1\n`)).toMatchObject([{ code: "SCHEMA", path: "/extra", found: "extra" }]);
  });

  it("rejects max_iterations 0 (SCHEMA at /max_iterations)", () => {
    expect(rejected(variant("max_iterations: 3", "max_iterations: 0"))).toMatchObject([{ code: "SCHEMA", path: "/max_iterations", found: "0" }]);
  });

  it("rejects a missing stages list (SCHEMA at /stages)", () => {
    const text = DEFAULT_CONFIG_YAML.slice(0, DEFAULT_CONFIG_YAML.indexOf("stages:"));
    expect(rejected(text)).toMatchObject([{ code: "SCHEMA", path: "/stages" }]);
  });

  it("reports every schema problem at once", () => {
    const issues = rejected(`${variant("max_iterations: 3", "max_iterations: 0")}extra: 1\n`);
    expect(issues.map((i) => i.path).sort()).toEqual(["/extra", "/max_iterations"]);
  });

  it("reports every reference problem at once", () => {
    const issues = rejected(variant("owner: devops", "owner: security").replace("quality: implementation", "quality: testing"));
    expect(issues.map((i) => i.path).sort()).toEqual(["/stages/3/owner", "/veto_routes/quality"]);
  });

  it("reports a YAML syntax error with its line", () => {
    const text = variant("roles: [planner", "roles: [[planner");
    const line = text.split("\n").findIndex((l) => l.startsWith("roles:")) + 1;
    const issues = rejected(text);
    expect(issues).toMatchObject([{ code: "YAML_SYNTAX" }]);
    expect(issues[0]!.line).toBeGreaterThanOrEqual(line);
  });

  it("reports a duplicate key as DUPLICATE_KEY", () => {
    expect(rejected(variant("max_iterations: 3", "max_iterations: 3\nmax_iterations: 4"))).toMatchObject([{ code: "DUPLICATE_KEY" }]);
  });
});

describe("parseConfig: approver quorum (PROTOCOL §6: all, majority, or a number)", () => {
  const withApprovers = (quorum: string): string =>
    variant("    vetoes: [devops, quality]\n", `    vetoes: [devops, quality]\n    approvers:\n      roles: [devops, quality, developer]\n      quorum: ${quorum}\n`);

  it("accepts quorum: all", () => {
    const r = parseConfig(withApprovers("all"));
    expect(r.issues).toEqual([]);
    expect(r.pipeline!.stage("deployment")!.approvers).toEqual(["devops", "quality", "developer"]);
  });

  it("accepts quorum: majority and quorum: 2", () => {
    expect(parseConfig(withApprovers("majority")).issues).toEqual([]);
    expect(parseConfig(withApprovers("2")).issues).toEqual([]);
  });
});
