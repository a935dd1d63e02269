/**
 * Property-based tests (fast-check) over everything that reads untrusted bytes or names: the document
 * parser, the path classifier, and the validators (interpretArtifact / interpretMessage). No disk.
 *
 * The properties: nothing throws; every call finishes quickly; the answer is either a value or at
 * least one error Issue (with a fix); a value is a fresh tree of plain objects with no `__proto__`,
 * `constructor` or `prototype` key; Object.prototype is never touched; and parsing is a pure function
 * (what was parsed before does not change what is parsed next).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { dump } from "js-yaml";
import { afterAll, describe, expect, it } from "vitest";
import { classifyPath } from "../../src/transports/files/classify.js";
import { EPIC_ID, ROLE } from "../../src/config/names.js";
import { CODES } from "../../src/errors/codes.js";
import { errorsOf, type Issue } from "../../src/errors/issue.js";
import { interpretArtifact, interpretMessage } from "../../src/schemas/interpret.js";
import { parseDocument, parseMarkdownOutline, type DocFormat, type Parsed } from "../../src/schemas/parse.js";
import { fixtures, repo } from "../support/bus.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
/** FUZZ_RUNS=5000 npx vitest run test/fuzz for a longer hunt. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const FORMATS: DocFormat[] = ["json", "yaml", "md"];
const FORBIDDEN = ["__proto__", "constructor", "prototype"];
/** Generous: a parse of ≤ 2000 bytes takes well under a millisecond; this only catches hangs. */
const SLOW_MS = 2000;

/** Every issue is from the catalogue and says what and how to fix it. */
function checkIssues(issues: readonly Issue[]): void {
  expect(Array.isArray(issues)).toBe(true);
  for (const i of issues) {
    expect(Object.keys(CODES)).toContain(i.code);
    expect(["error", "warning"]).toContain(i.severity);
    expect(typeof i.message).toBe("string");
    expect(i.message.length).toBeGreaterThan(0);
    expect(i.fix.trim().length).toBeGreaterThan(0);
  }
}

/** A value that came out of the parser: plain objects and arrays only, no forbidden keys. */
function plainProblem(v: unknown, path = "", depth = 0): string | undefined {
  if (depth > 65) return `${path}: deeper than the cap`;
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return undefined;
  if (typeof v !== "object") return `${path}: a ${typeof v}`;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return `${path}: an array with another prototype`;
    for (let i = 0; i < v.length; i++) {
      const p = plainProblem(v[i], `${path}/${i}`, depth + 1);
      if (p) return p;
    }
    return undefined;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return `${path}: an object with another prototype`;
  for (const k of Reflect.ownKeys(v)) {
    if (typeof k !== "string") return `${path}: a symbol key`;
    if (FORBIDDEN.includes(k)) return `${path}/${k}: a forbidden key`;
    const p = plainProblem((v as Record<string, unknown>)[k], `${path}/${k}`, depth + 1);
    if (p) return p;
  }
  return undefined;
}
const checkPlain = (v: unknown): void => expect(plainProblem(v)).toBeUndefined();

/** The contract of parseDocument for any input. */
function checkParsed(p: Parsed, format: DocFormat): void {
  checkIssues(p.issues);
  if (p.value === undefined) {
    expect(errorsOf(p.issues).length, "no value and no error").toBeGreaterThan(0);
  } else {
    expect(errorsOf(p.issues), "a value with errors").toEqual([]);
    if (format === "md") expect(Array.isArray((p.value as { headings: unknown }).headings)).toBe(true);
    else checkPlain(p.value);
  }
}

function timed<T>(fn: () => T, limitMs = SLOW_MS): T {
  const t0 = performance.now();
  const out = fn();
  const ms = performance.now() - t0;
  expect(ms, `took ${ms.toFixed(0)} ms`).toBeLessThan(limitMs);
  return out;
}

function parseChecked(bytes: Uint8Array, format: DocFormat): Parsed {
  const p = timed(() => parseDocument(bytes, format));
  checkParsed(p, format);
  return p;
}

const hasForbiddenKey = (v: unknown): boolean =>
  v !== null && typeof v === "object" && (Object.keys(v).some((k) => FORBIDDEN.includes(k)) || Object.values(v).some(hasForbiddenKey));

const formatOfName = (name: string): DocFormat => (name.endsWith(".json") ? "json" : name.endsWith(".md") ? "md" : "yaml");
const fixtureList: Array<{ name: string; format: DocFormat; bytes: Uint8Array }> = ["valid", "seed004"].flatMap((dir) =>
  readdirSync(join(fixtures, dir)).map((name) => ({ name, format: formatOfName(name), bytes: new Uint8Array(readFileSync(join(fixtures, dir, name))) })),
);

const fixtureByName = new Map(fixtureList.map((f) => [f.name, f]));
/** A fixture, drawn by name (so a counterexample shows the name, not the bytes). */
const fixtureArb = fc.constantFrom(...fixtureList.map((f) => f.name));
const fx = (name: string) => fixtureByName.get(name)!;
const fixtureFiles = fixtureList;

/** Each fixture parsed once, before any property ran: what a fresh parser answers. */
const reference = new Map(fixtureFiles.map((f) => [f.name, parseDocument(f.bytes, f.format)]));

/** Byte-level damage to a valid file: flips, inserts, deletions, truncation, duplication of a slice. */
type Mutation = { op: "flip" | "insert" | "delete" | "truncate" | "dup" | "set"; at: number; byte: number; len: number };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom("flip", "insert", "delete", "truncate", "dup", "set"),
  at: fc.nat(),
  byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0x0a, 0x26, 0x2a, 0x23, 0xc3, 0xe2, 0xff, 0xef)),
  len: fc.integer({ min: 1, max: 64 }),
});
function mutate(src: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Array.from(src);
  for (const m of muts) {
    const at = b.length ? m.at % (b.length + 1) : 0;
    switch (m.op) {
      case "flip":
        if (at < b.length) b[at] = b[at]! ^ (1 << m.byte % 8);
        break;
      case "set":
        if (at < b.length) b[at] = m.byte;
        break;
      case "insert":
        b.splice(at, 0, m.byte);
        break;
      case "delete":
        b.splice(at, m.len);
        break;
      case "truncate":
        b = b.slice(0, at);
        break;
      case "dup":
        b.splice(at, 0, ...b.slice(at, at + m.len));
        break;
    }
  }
  return new Uint8Array(b.slice(0, 4000));
}

afterAll(() => {
  // nothing any property fed the parsers may leak into the global prototypes
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted")).toBe(false);
});

describe("parseDocument never throws, never hangs, and answers with a value or an error", () => {
  it("over random bytes, in every format", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.constantFrom(...FORMATS), (bytes, format) => {
        parseChecked(bytes, format);
      }),
      { numRuns: RUNS },
    );
  });

  it("over random Unicode text (including lone surrogates and control characters)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 2000 }), fc.string({ unit: "grapheme", maxLength: 500 }), fc.string({ maxLength: 2000 })), fc.constantFrom(...FORMATS), (s, format) => {
        parseChecked(enc(s), format);
      }),
      { numRuns: RUNS },
    );
  });

  it("over mutated valid fixtures (valid/, seed004/)", () => {
    fc.assert(
      fc.property(fixtureArb, fc.array(mutationArb, { minLength: 1, maxLength: 6 }), fc.boolean(), (name, muts, otherFormat) => {
        const f = fx(name);
        const bytes = mutate(f.bytes, muts);
        parseChecked(bytes, f.format);
        if (otherFormat) parseChecked(bytes, f.format === "json" ? "yaml" : "json");
      }),
      { numRuns: RUNS },
    );
  });

  it("the unmutated fixtures parse to a value", () => {
    for (const f of fixtureFiles) {
      const p = parseChecked(f.bytes, f.format);
      expect(p.value, f.name).toBeDefined();
    }
  });

  it("JSON text reads back as JSON.parse reads it, unless a forbidden key is in it", () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 6 }), fc.constantFrom(0, 2, "\t"), (text, indent) => {
        const reference = JSON.parse(text) as unknown;
        const pretty = JSON.stringify(reference, null, indent);
        for (const t of [text, pretty]) {
          const p = parseChecked(enc(t), "json");
          if (hasForbiddenKey(reference)) expect(p.issues.map((i) => i.code)).toContain("FORBIDDEN_KEY");
          else expect(JSON.stringify(p.value)).toBe(JSON.stringify(reference));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("YAML dumped from random values parses without throwing, and a block dump reads back as its value", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.boolean(), (value, flow) => {
        let text: string;
        try {
          text = dump(value, { flowLevel: flow ? 0 : -1 });
        } catch {
          return; // js-yaml's dumper is not under test
        }
        const p = parseChecked(enc(text), "yaml");
        if (hasForbiddenKey(value)) expect(p.issues.map((i) => i.code)).toContain("FORBIDDEN_KEY");
        // a block dump reads back as the value it was dumped from
        else if (!flow) expect(p.value, text).toEqual(value);
      }),
      { numRuns: RUNS },
    );
  });
});

/**
 * How many ATX headings a Markdown text has, written apart from the parser: a line (lines end at \n
 * or \r\n) of 0-3 spaces and 1-6 #s followed by a blank or the line's end, outside fenced code (a
 * fence of 3 or more ` or ~ after at most 3 whitespace characters, closed by a fence of the same
 * character at least as long). The fence's indent is any whitespace, as the runbook parser reads it:
 * stricter CommonMark would not open a fence after a tab (indented code) and would end a line at a
 * lone \r, and the generator below makes both.
 */
function headingsOracle(text: string): number {
  let count = 0;
  let open: string | undefined;
  // CommonMark line endings: LF, CRLF, and a CR alone
  for (const line of text.split(/\r\n|\r|\n/)) {
    const fence = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (open === undefined) {
      if (fence) open = fence;
      else if (/^ {0,3}#{1,6}(?=[ \t]|$)/.test(line)) count++;
    } else if (fence && fence[0] === open[0] && fence.length >= open.length) open = undefined;
  }
  return count;
}

describe("the guards hold for generated hostile documents", () => {
  it("deep nesting (up to 100 000 levels, closed or not) is TOO_DEEP or a syntax error, never a crash", () => {
    type Nest = { format: DocFormat; text: (n: number) => string; depth: (n: number) => number; closed: boolean };
    const shapes: Nest[] = [
      { format: "json", text: (n) => `${"[".repeat(n)}1${"]".repeat(n)}`, depth: (n) => n, closed: true },
      { format: "json", text: (n) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`, depth: (n) => n, closed: true },
      { format: "json", text: (n) => `${"[".repeat(n)}1`, depth: (n) => n, closed: false },
      { format: "yaml", text: (n) => `${"[".repeat(n)}1${"]".repeat(n)}`, depth: (n) => n, closed: true },
      { format: "yaml", text: (n) => `${"{a: ".repeat(n)}1${"}".repeat(n)}`, depth: (n) => n, closed: true },
      { format: "yaml", text: (n) => `${"{a: ".repeat(n)}1`, depth: (n) => n, closed: false },
      { format: "yaml", text: (n) => `${"- ".repeat(Math.min(n, 5000))}x\n`, depth: (n) => Math.min(n, 5000), closed: true },
      { format: "yaml", text: (n) => `${Array.from({ length: Math.min(n, 300) }, (_, i) => `${" ".repeat(i)}a:`).join("\n")} 1\n`, depth: (n) => Math.min(n, 300), closed: true },
    ];
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100_000 })), fc.constantFrom(...shapes), (n, shape) => {
        const p = timed(() => parseDocument(enc(shape.text(n)), shape.format), 10_000);
        checkParsed(p, shape.format);
        const depth = shape.depth(n);
        if (p.value !== undefined) expect(depth).toBeLessThanOrEqual(64);
        if (shape.closed && depth > 64) expect(p.issues.map((i) => i.code)).toContain("TOO_DEEP");
        if (shape.closed && depth <= 64) expect(p.value).toBeDefined();
      }),
      { numRuns: 80 },
    );
  });

  it("YAML alias bombs stop at the node cap with TOO_MANY_NODES", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2, max: 10 }), fc.boolean(), (levels, fan, flow) => {
        const lines = [`l0: &l0 [${Array(fan).fill('"lol"').join(", ")}]`];
        for (let i = 1; i <= levels; i++) {
          const refs = Array(fan).fill(`*l${i - 1}`);
          lines.push(flow ? `l${i}: &l${i} [${refs.join(", ")}]` : `l${i}: &l${i}\n${refs.map((r) => `  - ${r}`).join("\n")}`);
        }
        const p = timed(() => parseDocument(enc(`${lines.join("\n")}\n`), "yaml"));
        checkParsed(p, "yaml");
        // nodes the sanitizer visits: the root, then each level's sequence expanded in full
        let size = 1 + fan;
        let total = 1 + size;
        for (let i = 1; i <= levels; i++) {
          size = 1 + fan * size;
          total += size;
        }
        if (total > 100_000) expect(p.issues.map((i) => i.code)).toEqual(["TOO_MANY_NODES"]);
        else expect(p.value).toBeDefined();
      }),
      { numRuns: 100 },
    );
  });

  it("a duplicate key anywhere is DUPLICATE_KEY in JSON and YAML; distinct keys never are", () => {
    const keyArb = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !FORBIDDEN.includes(k));
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { minLength: 1, maxLength: 8 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 4 }), fc.boolean(), (keys, pick, pos, depth, dup) => {
        const entries = keys.map((k, i) => `${JSON.stringify(k)}: ${i}`);
        if (dup) entries.splice(pos % (entries.length + 1), 0, `${JSON.stringify(keys[pick % keys.length])}: "again"`);
        let text = `{${entries.join(", ")}}`;
        for (let d = 0; d < depth; d++) text = d % 2 ? `[${text}]` : `{"k${d}": ${text}}`;
        for (const format of ["json", "yaml"] as const) {
          const p = parseChecked(enc(text), format);
          const codes = p.issues.map((i) => i.code);
          if (dup) expect(codes, `${format}: ${text}`).toContain("DUPLICATE_KEY");
          else expect(codes, `${format}: ${text}`).not.toContain("DUPLICATE_KEY");
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("__proto__, constructor and prototype keys at any depth are FORBIDDEN_KEY, and pollute nothing", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FORBIDDEN),
        fc.array(fc.oneof(fc.constant("[]" as const), fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/)), { maxLength: 5 }),
        fc.jsonValue({ maxDepth: 2 }).filter((v) => !hasForbiddenKey(v)),
        fc.boolean(),
        (key, path, extra, blockYaml) => {
          const payload = `{"polluted": true, "toString": 1, "${key === "constructor" ? "prototype" : "polluted2"}": {"polluted": true}}`;
          let text = `{"ok": ${JSON.stringify(extra)}, ${JSON.stringify(key)}: ${payload}}`;
          let pointer = `/${key}`;
          for (const seg of [...path].reverse()) {
            text = seg === "[]" ? `[${text}]` : `{${JSON.stringify(seg)}: ${text}}`;
            pointer = `/${seg === "[]" ? "0" : seg}${pointer}`;
          }
          const docs: Array<[DocFormat, string]> = [["json", text], ["yaml", text]];
          if (blockYaml) docs.push(["yaml", `${path.map((s, i) => `${"  ".repeat(i)}${s === "[]" ? "-" : `${s}:`}`).join("\n")}${path.length ? "\n" : ""}${"  ".repeat(path.length)}${key}:\n${"  ".repeat(path.length + 1)}polluted: true\n`]);
          for (const [format, t] of docs) {
            const p = parseChecked(enc(t), format);
            expect(p.value, t).toBeUndefined();
            const forbidden = p.issues.find((i) => i.code === "FORBIDDEN_KEY");
            expect(forbidden, `${format}: ${t}`).toBeDefined();
            expect(forbidden!.path, `${format}: ${t}`).toBe(pointer);
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(({} as Record<string, unknown>).polluted2).toBeUndefined();
        },
      ),
      { numRuns: RUNS },
    );
    // a merge key (<<) that carries __proto__ in from an anchor
    const merged = parseChecked(enc("base: &b {__proto__: {polluted: true}}\nuse:\n  <<: *b\n"), "yaml");
    expect(merged.issues.map((i) => i.code)).toContain("FORBIDDEN_KEY");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("Markdown headings with long runs of blanks and #s are read in linear time", () => {
    // The heading regex /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/ backtracks cubically on a heading line
    // with a long run of blanks that is followed by more text: 1 500 blanks take about a second,
    // 20 000 (a 20 kB runbook, far under the 1 MB cap) would hold the daemon for many minutes.
    for (const line of [`# x${" ".repeat(1500)}y`, `## a${"\t".repeat(1500)}b`]) {
      const p = timed(() => parseDocument(enc(`${line}\n`), "md"), 250);
      checkParsed(p, "md");
    }
  });

  it("Markdown over random heading-like lines never throws and finds each heading once", () => {
    const lineArb = fc.tuple(fc.constantFrom("", " ", "   ", "    "), fc.constantFrom("#", "##", "######", "#######", "```", "~~~", ""), fc.string({ unit: fc.constantFrom(" ", "\t", "#", "a", "`", "~", "\r"), maxLength: 40 }));
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 30 }), (lines) => {
        const text = lines.map(([a, b, c]) => `${a}${b}${c}`).join("\n");
        const out = timed(() => parseMarkdownOutline(text));
        expect(out.headings.length).toBeLessThanOrEqual(text.split(/\r\n|\r|\n/).length);
        expect(out.headings.length, JSON.stringify(text)).toBe(headingsOracle(text));
        for (const h of out.headings) expect(h).toBe(h.trim().toLowerCase());
      }),
      { numRuns: RUNS },
    );
  });
});

describe("parseDocument is pure: what came before does not change what comes next", () => {
  const truncatedTails = [[0xc3], [0xe2], [0xe2, 0x82], [0xf0], [0xf0, 0x9f], [0xf0, 0x9f, 0x98]];

  it("a file cut in the middle of a UTF-8 character does not poison the next, valid file", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), fc.constantFrom(...truncatedTails), fixtureArb, (prefix, tail, nextName) => {
        const next = fx(nextName);
        const bad = new Uint8Array([...enc(prefix), ...tail]);
        const first = parseChecked(bad, "json");
        expect(first.issues.map((i) => i.code)).toContain("FILE_NOT_UTF8");
        const after = parseChecked(next.bytes, next.format);
        expect(after.issues.map((i) => i.code), `${next.name} after a truncated file`).not.toContain("FILE_NOT_UTF8");
        expect(after.value).toBeDefined();
      }),
      { numRuns: 100 },
    );
  });

  it("over random byte strings followed by a valid fixture", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.constantFrom(...FORMATS), fixtureArb, (bytes, format, nextName) => {
        const next = fx(nextName);
        parseChecked(bytes, format);
        expect(parseDocument(next.bytes, next.format), `${next.name} after ${Buffer.from(bytes).toString("hex").slice(0, 80)}`).toEqual(reference.get(next.name));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("classifyPath: hostile names are refused by name alone", () => {
  // eslint-disable-next-line no-control-regex -- the control characters are what it looks for
  const CONTROL = /[\u0000-\u001f\u007f]/;
  const segArb = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom("artifacts", "messages", "inbox", ".consensus", "requests", "EP-001", "quality", "plan.json", "m.yaml", "m.json", "x.txt") },
    { weight: 2, arbitrary: fc.constantFrom("..", ".", "", "EP\u001b[31m", "pl\nan.json", "a\u0000b", "\u007f", "C:", "~", ".hidden", "x.tmp", "x.swp", "notice-1.yaml") },
    { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
  );
  it("never throws; '..', '.', empty segments, absolute paths and control characters are always invalid", () => {
    fc.assert(
      fc.property(fc.array(segArb, { minLength: 1, maxLength: 6 }), fc.boolean(), (segs, abs) => {
        const rel = (abs ? "/" : "") + segs.join("/");
        const c = classifyPath(rel);
        expect(["artifact", "message", "request", "ignored", "stray", "invalid"]).toContain(c.kind);
        const parts = rel.split("/");
        const hostile = rel.startsWith("/") || /^[A-Za-z]:/.test(rel) || parts.some((p) => p === ".." || p === "." || p === "" || CONTROL.test(p));
        if (hostile) {
          expect(c.kind, JSON.stringify(rel)).toBe("invalid");
          if (c.kind === "invalid") {
            expect(c.issue.fix.length).toBeGreaterThan(0);
            expect(c.issue.file).toBe(rel);
          }
        }
        if (c.kind === "artifact" && c.folder !== undefined) expect(c.folder).toMatch(EPIC_ID);
        if (c.kind === "message") expect(c.inbox).toMatch(ROLE);
        if (c.kind === "artifact" || c.kind === "message") expect(c.name).not.toMatch(CONTROL);
      }),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Validators

const ARTIFACT_NAMES = ["plan.json", "implementation.json", "review.json", "deployment.json", "cicd.yaml", "runbook.md"];
const fixtureDocs: Record<string, unknown> = Object.fromEntries(
  fixtureFiles.filter((f) => f.format !== "md").map((f) => [f.name, parseDocument(f.bytes, f.format).value]),
);

/** Serialises any value the way an agent might write it: JSON (compact or pretty) or YAML. */
function serialise(value: unknown, as: "json" | "pretty" | "yaml"): Uint8Array {
  let text: string | undefined;
  try {
    text = as === "yaml" ? dump(value, { skipInvalid: true }) : JSON.stringify(value, null, as === "pretty" ? 2 : 0);
  } catch {
    text = undefined;
  }
  return enc(text ?? "null");
}

/** Replaces the value at a random path of a document with a random value (wrong types, hostile ids). */
function replaceAt(doc: unknown, picks: number[], value: unknown): unknown {
  if (picks.length === 0 || doc === null || typeof doc !== "object") return value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(doc) ? [...doc] : { ...(doc as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return value;
  const k = keys[picks[0]! % keys.length]!;
  (copy as Record<string, unknown>)[k] = replaceAt((copy as Record<string, unknown>)[k], picks.slice(1), value);
  return copy;
}

const hostileValue = fc.oneof(
  fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true }),
  fc.constantFrom("../etc/passwd", "/abs/path", "EP\u001b[31m", "a\nb", "", " ", "1", "-1", "0", "1e3", "2026-11-21 10:00", "2026-13-45T99:99:99Z", -1, 0, 1.5, 2 ** 53, Number.MAX_VALUE, null, [], {}, true),
);

/** Each artifact's required keys, from its schema. */
const REQUIRED = new Map(
  ARTIFACT_NAMES.map((n) => [n, (JSON.parse(readFileSync(join(repo, "schemas", `${n.replace(/\.(json|yaml|md)$/, "")}.schema.json`), "utf8")) as { required?: string[] }).required ?? []]),
);

/**
 * The validator's contract: no document means an error; and a document accepted (no errors) under an
 * artifact name was validated: its required keys are there, its epic_id is an epic id, its
 * iteration an integer from 1 (so skipping the schema check could not pass).
 */
function checkInterpreted(r: { doc?: unknown; issues: Issue[] }, name?: string): void {
  checkIssues(r.issues);
  if (r.doc === undefined) {
    expect(errorsOf(r.issues).length).toBeGreaterThan(0);
    return;
  }
  const required = name === undefined ? undefined : REQUIRED.get(name);
  if (required === undefined || errorsOf(r.issues).length > 0) return;
  const doc = r.doc as Record<string, unknown>;
  const where = `${name} accepted: ${JSON.stringify(doc).slice(0, 300)}`;
  for (const k of required) expect(Object.hasOwn(doc, k), `${where}: no ${k}`).toBe(true);
  if (required.includes("epic_id")) expect(typeof doc.epic_id === "string" && EPIC_ID.test(doc.epic_id), `${where}: epic_id`).toBe(true);
  if (required.includes("iteration")) expect(Number.isInteger(doc.iteration) && (doc.iteration as number) >= 1, `${where}: iteration`).toBe(true);
}

/** The JSON pointer replaceAt() reaches with the same picks. */
function pointerAt(doc: unknown, picks: number[]): string {
  if (picks.length === 0 || doc === null || typeof doc !== "object") return "";
  const keys = Object.keys(doc);
  if (keys.length === 0) return "";
  const k = keys[picks[0]! % keys.length]!;
  return `/${k}${pointerAt((doc as Record<string, unknown>)[k], picks.slice(1))}`;
}

describe("validators never throw, over random and damaged documents", () => {
  it("interpretArtifact over random values serialised as JSON or YAML, under every artifact name", () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything({ maxDepth: 4 }), fc.object({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 4 })), fc.constantFrom<"json" | "pretty" | "yaml">("json", "pretty", "yaml"), fc.oneof(fc.constantFrom(...ARTIFACT_NAMES), fc.string({ maxLength: 16 })), (value, as, name) => {
        checkInterpreted(timed(() => interpretArtifact(name, serialise(value, as))), name);
      }),
      { numRuns: RUNS },
    );
  });

  it("interpretArtifact over valid fixtures with one field replaced by a wrong or hostile value", () => {
    const names = ARTIFACT_NAMES.filter((n) => fixtureDocs[n] !== undefined);
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), hostileValue, fc.constantFrom<"json" | "pretty" | "yaml">("json", "pretty", "yaml"), (name, picks, value, as) => {
        const doc = replaceAt(fixtureDocs[name], picks, value);
        const bytes = serialise(doc, name.endsWith(".yaml") ? "yaml" : as);
        const r = timed(() => interpretArtifact(name, bytes));
        checkInterpreted(r, name);
        if (pointerAt(fixtureDocs[name], picks) === "/epic_id") {
          // what the validator was given (serialising may drop or change the value): an epic_id
          // there that is not an epic id is a SCHEMA error at /epic_id (or, for a template word such as
          // "[false]" or "<EPIC>", the more telling PLACEHOLDER there)
          const seen = parseDocument(bytes, formatOfName(name)).value as Record<string, unknown> | undefined;
          const id = seen !== null && typeof seen === "object" && !Array.isArray(seen) && Object.hasOwn(seen, "epic_id") ? seen.epic_id : undefined;
          if (id !== undefined && !(typeof id === "string" && EPIC_ID.test(id))) {
            expect(r.issues, `epic_id ${JSON.stringify(id)}`).toContainEqual(expect.objectContaining({ code: expect.stringMatching(/^(SCHEMA|PLACEHOLDER)$/), path: "/epic_id" }));
          }
        }
      }),
      { numRuns: RUNS, examples: [["plan.json", [0], "[false]", "json"] as never] },
    );
  });

  it("interpretArtifact over random bytes and mutated fixtures", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.tuple(fixtureArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([f, m]) => mutate(fx(f).bytes, m))), fc.constantFrom(...ARTIFACT_NAMES), (bytes, name) => {
        checkInterpreted(timed(() => interpretArtifact(name, bytes)), name);
      }),
      { numRuns: RUNS },
    );
  });

  const compactArb = fc.record(
    {
      d: fc.oneof(fc.constantFrom("2026-11-21", "2026-11-21T10:00:00Z", "yesterday"), fc.anything({ maxDepth: 1 })),
      st: fc.oneof(fc.constantFrom("request", "response", "veto", "approval", "status", "handoff", "planning", "nope"), fc.anything({ maxDepth: 1 })),
      r: fc.oneof(fc.constantFrom("architect", "quality", "devops", "../x"), fc.anything({ maxDepth: 1 })),
      epic: fc.oneof(fc.constantFrom("EP-001", "/etc", "EP\u0007"), fc.anything({ maxDepth: 1 })),
      sm: fc.oneof(fc.array(fc.string({ maxLength: 30 }), { maxLength: 3 }), fc.anything({ maxDepth: 2 })),
      nx: fc.oneof(fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), fc.anything({ maxDepth: 2 })),
      artifacts: fc.array(fc.string({ maxLength: 10 }), { maxLength: 2 }),
      i: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constantFrom("1", "x")),
      subject: fc.oneof(fc.stringMatching(/^[a-z_]{1,12}$/), fc.string({ maxLength: 10 })),
    },
    { requiredKeys: [] },
  );
  const envelopeArb = fc.record(
    {
      id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/), fc.anything({ maxDepth: 1 })),
      from: fc.oneof(fc.constantFrom("planner", "developer", "quality", "devops", "orchestrator", "ghost", "../quality", ""), fc.anything({ maxDepth: 1 })),
      to: fc.oneof(fc.constantFrom("planner", "developer", "quality", "devops", "/root"), fc.anything({ maxDepth: 1 })),
      timestamp: fc.oneof(fc.constantFrom("2026-11-21T10:00:00Z", "2026-11-21 10:00", "2026-11-21T10:00"), fc.anything({ maxDepth: 1 })),
      epic_id: fc.oneof(fc.constantFrom("EP-001", "../EP-001", "EP-001\n"), fc.anything({ maxDepth: 1 })),
      iteration: fc.oneof(fc.integer({ min: -1, max: 4 }), fc.constantFrom("1", " 2 ", "0", "x", 1.5)),
      type: fc.oneof(fc.constantFrom("request", "response", "approve", "veto", "info"), fc.anything({ maxDepth: 1 })),
      subject: fc.oneof(fc.stringMatching(/^[a-z_]{1,12}$/), fc.anything({ maxDepth: 1 })),
      content: fc.oneof(fc.record({ violation: fc.string(), specifics: fc.string(), blocking: fc.oneof(fc.boolean(), fc.anything({ maxDepth: 0 })) }, { requiredKeys: [] }), fc.anything({ maxDepth: 2 })),
      action_needed: fc.string({ maxLength: 10 }),
    },
    { requiredKeys: [] },
  );

  it("interpretMessage over random envelopes, compact forms and values, in any inbox", () => {
    fc.assert(
      fc.property(fc.oneof(envelopeArb, compactArb, fc.anything({ maxDepth: 3 })), fc.constantFrom<"json" | "pretty" | "yaml">("json", "pretty", "yaml"), fc.oneof(fc.constantFrom("planner", "quality", "any"), fc.string({ maxLength: 10 })), (value, as, inbox) => {
        const name = as === "yaml" ? "m.yaml" : "m.json";
        const r = timed(() => interpretMessage(name, serialise(value, as), inbox));
        checkInterpreted(r);
        if (r.doc !== undefined && errorsOf(r.issues).length === 0) {
          // an accepted message is a well-formed envelope
          expect(typeof r.doc.from).toBe("string");
          expect(typeof r.doc.to).toBe("string");
          expect(r.doc.epic_id).toMatch(EPIC_ID);
          expect(["request", "response", "approve", "veto", "info"]).toContain(r.doc.type);
          if (r.doc.iteration !== undefined) expect(Number.isInteger(r.doc.iteration) && r.doc.iteration >= 1).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("interpretMessage over random bytes, any file name", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), fc.oneof(fc.constantFrom("m.yaml", "m.yml", "m.json", "m.txt", "M.JSON"), fc.string({ maxLength: 10 })), (bytes, name) => {
        checkInterpreted(timed(() => interpretMessage(name, bytes, "quality")));
      }),
      { numRuns: RUNS },
    );
  });
});
