/**
 * `validate --format sarif` against the published SARIF 2.1.0 schema and `--format junit` against
 * Jenkins' junit-10.xsd (test/fixtures/formats, where each comes from is in test/fixtures/README.md),
 * on a bus folder with valid, invalid and hostile files: one result per problem, with file, line,
 * JSON path and fix.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ajvDraft04 from "ajv-draft-04";
import ajvFormats from "ajv-formats";
import type { Log } from "sarif";
import { validateXML } from "xmllint-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Issue } from "../../src/errors/issue.js";
import { cliPath, fixtures } from "../support/bus.js";

// both packages are CommonJS: under NodeNext the default import is their module.exports, whose
// `.default` is the class (and the plugin) their typings describe
const Ajv04 = ajvDraft04.default;
const addFormats = ajvFormats.default;

let dir: string;
/** Relative to `dir`, as CI passes them. */
const files: string[] = [];

function place(rel: string, content: string | Buffer): void {
  mkdirSync(join(dir, rel, ".."), { recursive: true });
  writeFileSync(join(dir, rel), content);
  files.push(rel);
}

const validate = (format: string, ...extra: string[]) => {
  const r = spawnSync(process.execPath, [cliPath, "validate", "--strict", "--format", format, ...extra, ...files, "consensus/artifacts/EP-404/gone.json"], { cwd: dir, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

let issues: Issue[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "consensus-formats-"));
  const copy = (from: string, rel: string) => place(rel, readFileSync(join(fixtures, from)));
  copy("valid/plan.json", "consensus/artifacts/EP-001/plan.json");
  copy("invalid/plan-task-without-criteria.json", "consensus/artifacts/EP-002/plan.json");
  copy("invalid/message-bad-type.yaml", "consensus/messages/inbox/quality/m 1#?.yaml");
  copy("invalid/cicd-no-jobs.yaml", "consensus/artifacts/EP-002/cicd.yaml");
  // hostile: markup, quotes and control characters in a key (reported raw by --strict), a tab-indented file
  const review = JSON.parse(readFileSync(join(fixtures, "valid/review.json"), "utf8")) as Record<string, unknown>;
  place("consensus/artifacts/EP-003/review.json", JSON.stringify({ ...review, "x\u0007<y>&\"]]>": 1, review_status: "maybe" }, null, "\t"));
  place("consensus/artifacts/EP-003/implementation.json", "");
  copyFileSync(join(fixtures, "valid/review.json"), join(dir, "unused.json"));
  const r = spawnSync(process.execPath, [cliPath, "validate", "--strict", "--format", "json", ...files, "consensus/artifacts/EP-404/gone.json"], { cwd: dir, encoding: "utf8" });
  issues = (JSON.parse(r.stdout) as { issues: Issue[] }).issues;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("validate: lines for JSON paths", () => {
  it("every problem with a JSON path in a JSON or YAML file carries the line and column it points at", () => {
    const withPath = issues.filter((i) => i.path !== undefined);
    expect(withPath.length).toBeGreaterThan(4);
    for (const i of withPath) expect(i.line, `${i.file} ${i.path}`).toBeGreaterThan(0);
    const text = readFileSync(join(dir, "consensus/artifacts/EP-002/plan.json"), "utf8").split("\n");
    const tooFew = issues.find((i) => i.path === "/stages/1/tasks/0/acceptance_criteria")!;
    expect(text[tooFew.line! - 1]!.slice(tooFew.column! - 1)).toMatch(/^"acceptance_criteria": \[\]/);
    // a missing field points at the object it is missing from
    const missing = issues.find((i) => i.path === "/stages/0/tasks/1/acceptance_criteria")!;
    expect(text[missing.line! - 1]!.slice(missing.column! - 1)).toBe("{");
    const yaml = issues.find((i) => i.file!.includes("inbox") && i.path === "/type")!;
    expect(yaml.line).toBe(6);
    expect(yaml.column).toBe(1);
    const tabbed = issues.find((i) => i.path === "/review_status")!;
    expect(readFileSync(join(dir, "consensus/artifacts/EP-003/review.json"), "utf8").split("\n")[tabbed.line! - 1]).toMatch(/^\t"review_status": "maybe"/);
  });
});

describe("validate --format sarif", () => {
  it("meets the published SARIF 2.1.0 schema, one result per problem with file, line, JSON path and fix", () => {
    const r = validate("sarif");
    expect(r.code, r.err).toBe(1);
    const log = JSON.parse(r.out) as Log;
    // the schema's language-tag pattern ends in a stray "]?", which only a non-unicode RegExp accepts
    const ajv = new Ajv04({ allErrors: true, strict: false, unicodeRegExp: false });
    addFormats(ajv);
    const check = ajv.compile(JSON.parse(readFileSync(join(fixtures, "formats", "sarif-2.1.0-rtm.5.json"), "utf8")) as object);
    expect(check(log), JSON.stringify(check.errors, null, 2)).toBe(true);
    // the schema bites: a level SARIF does not know is rejected
    expect(check({ ...log, runs: [{ ...log.runs[0]!, results: [{ ...log.runs[0]!.results![0]!, level: "fatal" }] }] })).toBe(false);

    expect(log.version).toBe("2.1.0");
    const run = log.runs[0]!;
    const results = run.results!;
    expect(results).toHaveLength(issues.length);
    const rules = run.tool.driver.rules!;
    issues.forEach((i, n) => {
      const res = results[n]!;
      expect(res.ruleId).toBe(i.code);
      expect(rules[res.ruleIndex!]!.id).toBe(i.code);
      expect(res.level).toBe(i.severity);
      expect(res.message.text).toContain(i.fix);
      const loc = res.locations![0]!;
      expect(decodeURIComponent(loc.physicalLocation!.artifactLocation!.uri!)).toBe(i.file);
      expect(loc.physicalLocation!.region!.startLine).toBe(i.line ?? 1);
      if (i.path !== undefined) {
        expect(loc.logicalLocations![0]!.fullyQualifiedName).toBe(i.path === "" ? "/" : i.path);
        expect(res.properties!.json_path).toBe(i.path);
      }
      expect(res.properties!.fix).toBe(i.fix);
    });
    // the file name with a space, '#' and '?' is a URI reference, not a fragment or query
    expect(results.some((x) => x.locations![0]!.physicalLocation!.artifactLocation!.uri === "consensus/messages/inbox/quality/m%201%23%3F.yaml")).toBe(true);
    for (const code of ["SCHEMA", "UNKNOWN_FIELD", "FILE_EMPTY", "NOT_FOUND"]) expect(results.map((x) => x.ruleId)).toContain(code);
  });

  it("an all-valid run is a valid SARIF log with no results, and exits 0", () => {
    const r = spawnSync(process.execPath, [cliPath, "validate", "--format", "sarif", "consensus/artifacts/EP-001/plan.json"], { cwd: dir, encoding: "utf8" });
    expect(r.status).toBe(0);
    const log = JSON.parse(r.stdout) as Log;
    expect(log.runs[0]!.results).toEqual([]);
  });
});

describe("validate --format junit", () => {
  it("meets junit-10.xsd and the shape GitLab reads: a test case per problem, unique names, failures = errors", async () => {
    const r = validate("junit");
    expect(r.code, r.err).toBe(1);
    const xsd = readFileSync(join(fixtures, "formats", "junit-10.xsd"), "utf8");
    const v = await validateXML({ xml: [{ fileName: "report.xml", contents: r.out }], schema: [{ fileName: "junit-10.xsd", contents: xsd }] });
    expect(v.errors, v.rawOutput).toEqual([]);
    expect(v.valid).toBe(true);
    // the XSD bites: a test case without a name is rejected
    const bad = await validateXML({ xml: [{ fileName: "bad.xml", contents: r.out.replace(/<testcase classname="([^"]*)" name="valid"\/>/, '<testcase classname="$1"/>') }], schema: [{ fileName: "junit-10.xsd", contents: xsd }] });
    expect(bad.valid).toBe(false);

    const cases = [...r.out.matchAll(/<testcase classname="([^"]*)" name="([^"]*)"/g)].map((m) => `${m[1]}\u0000${m[2]}`);
    expect(new Set(cases).size).toBe(cases.length);
    const errors = issues.filter((i) => i.severity === "error");
    expect((r.out.match(/<failure /g) ?? []).length).toBe(errors.length);
    expect(r.out).toMatch(new RegExp(`<testsuites name="consensus validate" tests="\\d+" failures="${errors.length}" errors="0">`));
    // the valid file passes as one test case; every checked file has a suite
    expect(r.out).toContain(`<testcase classname="consensus/artifacts/EP-001/plan.json" name="valid"/>`);
    for (const f of [...files, "consensus/artifacts/EP-404/gone.json"]) expect(r.out).toContain(`<testsuite name="${f.replace(/&/g, "&amp;")}"`);
    // where, JSON path and fix are in the failure text
    expect(r.out).toMatch(/consensus\/artifacts\/EP-002\/plan.json:45:11\npath: \/stages\/1\/tasks\/0\/acceptance_criteria\n[^\n]*\nexpected: at least 1 item\(s\)[^\n]*\nfix: Add at least 1 item/);
    // a warning passes, its text kept in system-out
    expect(r.out).toMatch(/<testcase classname="consensus\/artifacts\/EP-003\/review.json" name="warning UNKNOWN_FIELD [^"]*">\n\s*<system-out>warning \[UNKNOWN_FIELD\]/);
  });
});
