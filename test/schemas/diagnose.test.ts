/** Issue 11 item 5: each defect named with its cause and a fix at its place. */
import { describe, expect, it } from "vitest";
import { parseDocument } from "../../src/schemas/parse.js";
import { interpretArtifact, interpretMessage } from "../../src/schemas/interpret.js";
import { artifact } from "../support/bus.js";
import type { Issue } from "../../src/errors/issue.js";

const enc = (s: string) => new TextEncoder().encode(s);
const only = (issues: Issue[]): Issue => {
  expect(issues, JSON.stringify(issues)).toHaveLength(1);
  return issues[0]!;
};
const json = (t: string) => only(parseDocument(enc(t), "json").issues);

describe("JSON defects, named at their place", () => {
  it("a trailing comma: at the comma, not at the brace after it", () => {
    const i = json('{\n  "a": 1,\n  "b": [1, 2,]\n}');
    expect(i).toMatchObject({ code: "JSON_SYNTAX", line: 3, column: 13 });
    expect(i.message).toMatch(/trailing comma/);
    expect(i.fix).toBe("Remove the comma at line 3, column 13: JSON allows no comma after the last item of an array.");
  });

  it("// and /* */ comments", () => {
    expect(json('{"a": 1 // one\n}')).toMatchObject({ code: "JSON_SYNTAX", line: 1, column: 9, found: "// …" });
    expect(json('{"a": /* one */ 1}').fix).toMatch(/JSON has no \/\/ or \/\* \*\/ comments/);
  });

  it("NaN and Infinity", () => {
    expect(json('{"coverage": NaN}')).toMatchObject({ found: "NaN", expected: "a number, or null" });
    expect(json('{"coverage": -Infinity}')).toMatchObject({ found: "-Infinity" });
  });

  it("curly and single quotes", () => {
    const curly = json("{\u201cepic_id\u201d: \u201cEP-001\u201d}");
    expect(curly.message).toContain("U+201C");
    expect(curly.fix).toMatch(/straight double quote/);
    expect(json("{'epic_id': 'EP-001'}").fix).toMatch(/double quotes/);
  });

  it("a document cut off before its end (truncated output)", () => {
    const i = json('{\n  "epic_id": "EP-001",\n  "tasks": [\n    {"id": 1},\n');
    expect(i.code).toBe("TRUNCATED");
    expect(i.message).toMatch(/opened at line 1, column 1 is never closed/);
    expect(i.fix).toMatch(/cut off/);
  });

  it("an unquoted key, a raw line break inside a string", () => {
    expect(json("{epic_id: 1}").fix).toBe('Write the key as "epic_id" at line 1, column 2: JSON keys are double-quoted strings.');
    expect(json('{"a": "two\nlines"}').fix).toMatch(/as \\n/);
  });

  it("UTF-16 (with or without a byte-order mark) is named as UTF-16, not as binary data", () => {
    const text = '{"epic_id":"EP-001"}';
    const le = Buffer.from(text, "utf16le");
    expect(only(parseDocument(le, "json").issues)).toMatchObject({ code: "FILE_UTF16", found: "UTF-16LE" });
    const be = Buffer.from(le).swap16();
    expect(only(parseDocument(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), "json").issues)).toMatchObject({ code: "FILE_UTF16", found: "UTF-16BE with a byte-order mark" });
    expect(only(parseDocument(le, "json").issues).fix).toMatch(/UTF-8/);
  });
});

describe("LLM output wrapped in a Markdown fence", () => {
  it("exactly one fenced block: its content is read, with a warning", () => {
    const r = parseDocument(enc('\n```json\n{"epic_id": "EP-001"}\n```\n'), "json");
    expect(r.value).toEqual({ epic_id: "EP-001" });
    expect(only(r.issues)).toMatchObject({ code: "FENCED", severity: "warning" });
    const y = parseDocument(enc("~~~yaml\nfrom: devops\n~~~"), "yaml");
    expect(y.value).toEqual({ from: "devops" });
  });

  it("a fence with prose around it is rejected: remove the fence lines and the text around them", () => {
    const i = only(parseDocument(enc('Here is the plan:\n```json\n{"epic_id": "EP-001"}\n```\nLet me know!'), "json").issues);
    expect(i).toMatchObject({ code: "FENCED_WITH_TEXT", severity: "error", line: 2 });
    expect(i.fix).toBe("Remove the fence lines and the text around them: the file must hold the document alone.");
  });
});

describe("look-alike characters and seed placeholders", () => {
  it("a Cyrillic Е in an epic id: the code point and the ASCII id", () => {
    const r = interpretArtifact("plan.json", enc(artifact("plan.json", "\u0415P-001", 1)));
    const i = r.issues.find((x) => x.path === "/epic_id")!;
    expect(i).toMatchObject({ code: "LOOKALIKE", expected: '"EP-001"', fix: 'Write "EP-001" (plain ASCII).' });
    expect(i.message).toContain("U+0415");
    expect(r.issues.filter((x) => x.path === "/epic_id")).toHaveLength(1); // it replaces the schema's own error
  });

  it("roles and subjects too (a Cyrillic о in devops, a Unicode hyphen)", () => {
    const m = interpretMessage("v.yaml", enc('from: dev\u043eps\nto: quality\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: EP\u2010001\niteration: 1\ntype: veto\nsubject: not\u2013ready\ncontent: {violation: v, specifics: s}\n'), "quality");
    const by = (p: string) => m.issues.find((i) => i.path === p)!;
    expect(by("/from")).toMatchObject({ code: "LOOKALIKE", expected: '"devops"' });
    expect(by("/epic_id")).toMatchObject({ code: "LOOKALIKE", expected: '"EP-001"' });
    expect(by("/epic_id").message).toContain("U+2010");
    expect(by("/subject")).toMatchObject({ code: "LOOKALIKE", expected: '"not-ready"' });
  });

  it("the seed's placeholders are named as placeholders, with what to write", () => {
    const doc = JSON.parse(artifact("deployment.json", "EP-001", 1)) as Record<string, unknown>;
    Object.assign(doc, { epic_id: "EP-XXX", iteration: "current iteration", timestamp: "ISO-8601" });
    const r = interpretArtifact("deployment.json", enc(JSON.stringify(doc)));
    const codes = Object.fromEntries(r.issues.map((i) => [i.path, i.code]));
    expect(codes).toMatchObject({ "/epic_id": "PLACEHOLDER", "/iteration": "PLACEHOLDER", "/timestamp": "PLACEHOLDER" });
    expect(r.issues.find((i) => i.path === "/timestamp")!.fix).toMatch(/date -u/);
    const yaml = interpretMessage("v.yaml", enc('from: devops\nto: quality\ntimestamp: "ISO-8601"\nepic_id: "EP-XXX"\niteration: "current"\ntype: veto\nsubject: not_production_ready\ncontent: {violation: v, specifics: s}\n'), "quality");
    expect(yaml.issues.filter((i) => i.code === "PLACEHOLDER").map((i) => i.path).sort()).toEqual(["/epic_id", "/iteration", "/timestamp"]);
  });
});

describe("line endings where they matter", () => {
  it("Markdown with carriage returns alone (old Mac line endings): the headings are found, and the author is warned", () => {
    const text = "# Runbook\r## Service Overview\rx\r## Monitoring\rx\r## Common Issues\rx\r## Rollback Procedure\rx\r";
    const r = interpretArtifact("runbook.md", enc(text));
    expect(r.issues.filter((i) => i.severity === "error")).toEqual([]);
    expect(r.issues.map((i) => i.code)).toEqual(["LINE_ENDINGS"]);
  });
});
