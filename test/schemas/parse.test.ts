import { describe, expect, it } from "vitest";
import type { Issue } from "../../src/errors/issue.js";
import { normaliseDocument } from "../../src/schemas/normalise.js";
import { decodeText, findDuplicateJsonKey, parseDocument, parseMarkdownOutline, sanitize } from "../../src/schemas/parse.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const codes = (issues: readonly Issue[]): string[] => issues.map((i) => i.code);
const parseJson = (s: string) => parseDocument(enc(s), "json");
const parseYaml = (s: string) => parseDocument(enc(s), "yaml");

describe("decodeText: what counts as a text file", () => {
  it("rejects an empty file as FILE_EMPTY", () => {
    const r = decodeText(new Uint8Array());
    expect(r.text).toBeUndefined();
    expect(codes(r.issues)).toEqual(["FILE_EMPTY"]);
  });

  it("rejects a whitespace-only file as FILE_EMPTY", () => {
    expect(codes(decodeText(enc(" \n\t \r\n")).issues)).toEqual(["FILE_EMPTY"]);
  });

  it("rejects a file with a NUL byte as FILE_BINARY", () => {
    const r = decodeText(new Uint8Array([0x7b, 0x00, 0x7d]));
    expect(r.text).toBeUndefined();
    expect(codes(r.issues)).toEqual(["FILE_BINARY"]);
  });

  it("names a file with a NUL byte and invalid UTF-8 binary, and says where the NUL is", () => {
    expect(decodeText(new Uint8Array([0x7b, 0xff, 0x00, 0x7d])).issues).toMatchObject([{ code: "FILE_BINARY", found: "NUL byte at offset 2" }]);
    expect(decodeText(new Uint8Array([0x7b, 0x7d, 0x00])).issues).toMatchObject([{ code: "FILE_BINARY", found: "NUL byte at offset 2" }]);
  });

  it("rejects invalid UTF-8 (0xff 0xfe 0x41) as FILE_NOT_UTF8", () => {
    const r = decodeText(new Uint8Array([0xff, 0xfe, 0x41]));
    expect(r.text).toBeUndefined();
    expect(codes(r.issues)).toEqual(["FILE_NOT_UTF8"]);
    expect(r.issues[0]!.fix).not.toBe("");
  });

  it("strips a UTF-8 byte-order mark with a FILE_BOM warning", () => {
    const r = decodeText(new Uint8Array([0xef, 0xbb, 0xbf, ...enc('{"a":1}')]));
    expect(r.text).toBe('{"a":1}');
    expect(r.issues).toMatchObject([{ code: "FILE_BOM", severity: "warning" }]);
  });
});

describe("parseDocument: reading bad input", () => {
  it("parses BOM-prefixed valid JSON, with only a FILE_BOM warning", () => {
    const r = parseDocument(new Uint8Array([0xef, 0xbb, 0xbf, ...enc('{"epic_id":"EP-001"}')]), "json");
    expect(r.value).toEqual({ epic_id: "EP-001" });
    expect(r.issues).toMatchObject([{ code: "FILE_BOM", severity: "warning" }]);
  });

  it("reports empty, binary and non-UTF-8 files without a value", () => {
    expect(parseYaml("").value).toBeUndefined();
    expect(codes(parseDocument(new Uint8Array([0xff, 0xfe, 0x41]), "yaml").issues)).toEqual(["FILE_NOT_UTF8"]);
    expect(codes(parseDocument(new Uint8Array([0x61, 0x3a, 0x00]), "yaml").issues)).toEqual(["FILE_BINARY"]);
  });

  it("reports the line and column of a JSON syntax error (missing comma)", () => {
    const r = parseJson('{\n  "a": 1\n  "b": 2\n}');
    expect(r.value).toBeUndefined();
    expect(r.issues).toMatchObject([{ code: "JSON_SYNTAX", line: 3, column: 3 }]);
    expect(r.issues[0]!.message).toContain("line 3");
  });

  it("reports the line and column of a JSON syntax error (an unexpected token: a value missing)", () => {
    // V8 words "Unexpected token" errors without a position; the line must still be found.
    const r = parseJson('{\n  "a": 1,\n  "b": ,\n  "c": 3\n}');
    expect(r.value).toBeUndefined();
    expect(r.issues).toMatchObject([{ code: "JSON_SYNTAX", line: 3, column: 8 }]);
  });

  it("reports the line of a JSON syntax error (a trailing comma)", () => {
    const r = parseJson('{\n  "a": [1, 2,],\n  "b": 2\n}');
    expect(r.issues).toMatchObject([{ code: "JSON_SYNTAX", line: 2 }]);
  });

  it("reports the line of a YAML syntax error", () => {
    const r = parseYaml("a: 1\nb: [1, 2\nc: 3\n");
    expect(r.value).toBeUndefined();
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ code: "YAML_SYNTAX", line: 3 });
    expect(r.issues[0]!.message).toContain("line 3");
  });

  it("reports the line of a YAML indentation error", () => {
    expect(parseYaml("a: 1\n  b: 2\n").issues).toMatchObject([{ code: "YAML_SYNTAX", line: 2 }]);
  });
});

describe("duplicate keys", () => {
  it("finds a duplicate key at the top level of a JSON object", () => {
    const r = parseJson('{"iteration":1,\n"iteration":2}');
    expect(r.value).toBeUndefined();
    expect(r.issues).toMatchObject([{ code: "DUPLICATE_KEY", found: "iteration", line: 2 }]);
  });

  it("finds a duplicate key in a nested JSON object", () => {
    expect(parseJson('{"a":{"b":[{"c":1,"c":2}]}}').issues).toMatchObject([{ code: "DUPLICATE_KEY", found: "c" }]);
  });

  it("finds a duplicate key written once plainly and once with a \\u escape", () => {
    expect(parseJson('{"a":1,"\\u0061":2}').issues).toMatchObject([{ code: "DUPLICATE_KEY", found: "a" }]);
  });

  it("finds a duplicate key after a nested object and array in the same JSON object", () => {
    expect(parseJson('{"a":{"x":1},"b":[1,{"a":2}],"a":3}').issues).toMatchObject([{ code: "DUPLICATE_KEY", found: "a" }]);
  });

  it("does not flag equal keys in sibling JSON objects", () => {
    const text = '{"a":{"c":1},"b":{"c":2},"d":[{"c":1},{"c":2}]}';
    expect(findDuplicateJsonKey(text)).toBeUndefined();
    expect(parseJson(text)).toEqual({ value: JSON.parse(text), issues: [] });
  });

  it("does not flag a key that is equal to a string value", () => {
    expect(findDuplicateJsonKey('{"a":"b","b":"a"}')).toBeUndefined();
  });

  it("is not fooled by escaped quotes and braces inside strings", () => {
    expect(findDuplicateJsonKey('{"a":"x\\"y","b":"{\\"a\\":1}","c":"}{,\\"a"}')).toBeUndefined();
    expect(findDuplicateJsonKey('{"k\\"":1,"k":2}')).toBeUndefined();
    expect(findDuplicateJsonKey('{"a":"ends in a backslash \\\\","b":"\\\\","a2":1}')).toBeUndefined();
  });

  it("still finds a duplicate after strings with escaped quotes and braces", () => {
    expect(findDuplicateJsonKey('{"a":"}\\"{","b":1,"a":2}')).toMatchObject({ code: "DUPLICATE_KEY", found: "a" });
    // a key ending in an escaped backslash, and one equal to another only once its escapes are decoded
    expect(findDuplicateJsonKey('{"k\\\\":1,"x":"\\\\","k\\\\":2}')).toMatchObject({ code: "DUPLICATE_KEY", found: "k\\" });
    expect(findDuplicateJsonKey('{"\\"q":1,"\\u0022q":2}')).toMatchObject({ code: "DUPLICATE_KEY", found: '"q' });
  });

  it("finds a duplicate key in YAML and reports its line", () => {
    const r = parseYaml("a: 1\nb:\n  c: 1\n  c: 2\n");
    expect(r.value).toBeUndefined();
    expect(r.issues).toMatchObject([{ code: "DUPLICATE_KEY", line: 4 }]);
  });

  it("does not flag equal keys in sibling YAML mappings", () => {
    expect(parseYaml("a:\n  c: 1\nb:\n  c: 2\n")).toEqual({ value: { a: { c: 1 }, b: { c: 2 } }, issues: [] });
  });
});

describe("forbidden keys (prototype pollution guard)", () => {
  for (const key of ["__proto__", "constructor", "prototype"]) {
    it(`rejects "${key}" at the top level of JSON`, () => {
      const r = parseJson(`{"ok":1,"${key}":{"polluted":1}}`);
      expect(r.value).toBeUndefined();
      expect(r.issues).toMatchObject([{ code: "FORBIDDEN_KEY", path: `/${key}` }]);
    });

    it(`rejects "${key}" nested in JSON, with the JSON pointer path`, () => {
      expect(parseJson(`{"a":[{"b":{"${key}":{"polluted":1}}}]}`).issues).toMatchObject([{ code: "FORBIDDEN_KEY", path: `/a/0/b/${key}` }]);
    });

    it(`rejects "${key}" in YAML, with the JSON pointer path`, () => {
      expect(parseYaml(`a:\n  - x: 1\n    ${key}:\n      polluted: 1\n`).issues).toMatchObject([{ code: "FORBIDDEN_KEY", path: `/a/0/${key}` }]);
      expect(parseYaml(`${key}: 1\n`).issues).toMatchObject([{ code: "FORBIDDEN_KEY", path: `/${key}` }]);
    });
  }

  it("leaves Object.prototype untouched after parsing {\"__proto__\":{\"polluted\":1}}", () => {
    parseJson('{"__proto__":{"polluted":1}}');
    parseYaml("__proto__:\n  polluted: 1\n");
    parseYaml("a: &x {polluted: 1}\n__proto__: *x\n");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("sanitize rejects an own __proto__ key on a plain object", () => {
    const obj = JSON.parse('{"a":{"__proto__":{"polluted":1}}}') as unknown;
    expect(sanitize(obj).issues).toMatchObject([{ code: "FORBIDDEN_KEY", path: "/a/__proto__" }]);
  });

  it("escapes / and ~ in the path of a forbidden key's parent", () => {
    expect(parseJson('{"a/b~c":{"constructor":1}}').issues).toMatchObject([{ code: "FORBIDDEN_KEY", path: "/a~1b~0c/constructor" }]);
  });
});

describe("resource limits", () => {
  const deep = 10_000;

  it("rejects JSON arrays nested 10,000 deep as TOO_DEEP", () => {
    const r = parseJson(`${"[".repeat(deep)}${"]".repeat(deep)}`);
    expect(r.value).toBeUndefined();
    expect(codes(r.issues)).toEqual(["TOO_DEEP"]);
  });

  it("rejects JSON objects nested 10,000 deep as TOO_DEEP", () => {
    expect(codes(parseJson(`${'{"a":'.repeat(deep)}1${"}".repeat(deep)}`).issues)).toEqual(["TOO_DEEP"]);
  });

  it("rejects YAML flow sequences nested 10,000 deep as TOO_DEEP", () => {
    const r = parseYaml(`${"[".repeat(deep)}${"]".repeat(deep)}`);
    expect(r.value).toBeUndefined();
    expect(codes(r.issues)).toEqual(["TOO_DEEP"]);
  });

  it("rejects YAML flow mappings nested 10,000 deep as TOO_DEEP", () => {
    expect(codes(parseYaml(`${"{a: ".repeat(deep)}1${"}".repeat(deep)}`).issues)).toEqual(["TOO_DEEP"]);
  });

  it("accepts nesting at the depth limit and rejects one level more", () => {
    expect(sanitize([[1]], { maxDepth: 2, maxNodes: 100 }).issues).toEqual([]);
    expect(codes(sanitize([[[1]]], { maxDepth: 2, maxNodes: 100 }).issues)).toEqual(["TOO_DEEP"]);
  });

  it("stops a YAML billion-laughs alias bomb with TOO_MANY_NODES", () => {
    const names = "abcdefghi";
    let y = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n`;
    for (let k = 1; k < names.length; k++) y += `${names[k]}: &${names[k]} [${Array(9).fill(`*${names[k - 1]}`).join(",")}]\n`;
    const r = parseYaml(y);
    expect(r.value).toBeUndefined();
    expect(codes(r.issues)).toEqual(["TOO_MANY_NODES"]);
  });

  it("copies shared YAML nodes so the result is a tree, not a graph", () => {
    const r = parseYaml("a: &x {n: 1}\nb: *x\n");
    const v = r.value as { a: object; b: object };
    expect(v).toEqual({ a: { n: 1 }, b: { n: 1 } });
    expect(v.a).not.toBe(v.b);
  });
});

describe("YAML core schema", () => {
  it("keeps an unquoted date 2026-11-21 as a string", () => {
    expect(parseYaml("d: 2026-11-21\nt: 2026-11-21T10:00:00Z\n").value).toEqual({ d: "2026-11-21", t: "2026-11-21T10:00:00Z" });
  });

  it("reads yes/on as strings, not booleans (YAML 1.2 core)", () => {
    expect(parseYaml("a: yes\nb: on\nc: true\n").value).toEqual({ a: "yes", b: "on", c: true });
  });
});

describe("normaliseDocument", () => {
  it('turns iteration "2" into 2 with a NORMALISED warning at /iteration', () => {
    const r = normaliseDocument({ iteration: "2" });
    expect(r.value).toEqual({ iteration: 2 });
    expect(r.issues).toMatchObject([{ code: "NORMALISED", severity: "warning", path: "/iteration", found: '"2"' }]);
  });

  it('leaves iteration "two" alone and says nothing (the schema rejects it)', () => {
    expect(normaliseDocument({ iteration: "two" })).toEqual({ value: { iteration: "two" }, issues: [] });
  });

  it('leaves iteration "0" and "1.5" alone (not a valid iteration either way)', () => {
    expect(normaliseDocument({ iteration: "0" }).value).toEqual({ iteration: "0" });
    expect(normaliseDocument({ iteration: "1.5" }).value).toEqual({ iteration: "1.5" });
  });

  it('reads a zoneless timestamp "2026-11-21T10:00:00" as UTC, with a warning', () => {
    const r = normaliseDocument({ timestamp: "2026-11-21T10:00:00" });
    expect(r.value).toEqual({ timestamp: "2026-11-21T10:00:00Z" });
    expect(r.issues).toMatchObject([{ code: "NORMALISED", severity: "warning", path: "/timestamp" }]);
  });

  it("leaves a timestamp with a zone or offset unchanged, with no warning", () => {
    expect(normaliseDocument({ timestamp: "2026-11-21T10:00:00Z", iteration: 1 })).toEqual({ value: { timestamp: "2026-11-21T10:00:00Z", iteration: 1 }, issues: [] });
    expect(normaliseDocument({ timestamp: "2026-11-21T10:00:00+02:00" }).issues).toEqual([]);
  });

  it("does not change the object it was given", () => {
    const doc = { iteration: "2", timestamp: "2026-11-21T10:00:00" };
    normaliseDocument(doc);
    expect(doc).toEqual({ iteration: "2", timestamp: "2026-11-21T10:00:00" });
  });
});

describe("parseMarkdownOutline", () => {
  it("lists ATX headings trimmed and lower-cased, without closing #s", () => {
    expect(parseMarkdownOutline("# Runbook\n\n## Service Overview ##\n   ### Common Issues  \n#not-a-heading\n").headings).toEqual(["runbook", "service overview", "common issues"]);
  });

  it("ignores headings inside ``` and ~~~ fenced code blocks", () => {
    const md = "# Runbook\n```bash\n# restart the pods\nkubectl rollout restart\n```\n## Monitoring\n~~~\n## Not A Heading\n~~~\n## Rollback Procedure\n";
    expect(parseMarkdownOutline(md).headings).toEqual(["runbook", "monitoring", "rollback procedure"]);
  });

  it("does not close a ``` fence on a ~~~ line inside it", () => {
    const md = "# Runbook\n```markdown\n~~~\n# example heading\n```\n## Rollback Procedure\n";
    expect(parseMarkdownOutline(md).headings).toEqual(["runbook", "rollback procedure"]);
  });

  it("reads a .md document as its outline through parseDocument", () => {
    expect(parseDocument(enc("## Monitoring\r\ntext\r\n"), "md")).toEqual({ value: { headings: ["monitoring"] }, issues: [] });
  });
});
