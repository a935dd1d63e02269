/**
 * Bytes → a plain, safe value, or Issues that say what is wrong and where. Pure: no I/O.
 *
 * Guards every input the bus reads: empty, binary and non-UTF-8 files, byte-order marks, JSON and
 * YAML syntax (with line and column), duplicate keys, nesting depth, alias bombs (a YAML alias is
 * counted each time it is used, so a billion laughs stops at the node cap), and `__proto__` /
 * `constructor` / `prototype` keys. The result is a fresh tree of plain objects: shared YAML nodes are
 * copied, so nothing downstream can be tricked into walking a graph.
 */
import { load, CORE_SCHEMA, YAMLException } from "js-yaml";
import { issue, type Issue } from "../errors/issue.js";
import { diagnoseJson, unfence, utf16Issue } from "./diagnose.js";

export type DocFormat = "json" | "yaml" | "md";

export interface ParseLimits {
  maxDepth: number;
  maxNodes: number;
}
export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxDepth: 64, maxNodes: 100_000 };

export interface Parsed {
  value?: unknown;
  issues: Issue[];
}

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function formatOf(fileName: string): DocFormat | undefined {
  const m = /\.(json|ya?ml|md)$/i.exec(fileName);
  if (!m) return undefined;
  const ext = m[1]!.toLowerCase();
  return ext === "json" ? "json" : ext === "md" ? "md" : "yaml";
}

/** Decodes bytes as UTF-8 text: rejects empty, binary and non-UTF-8 input; strips a BOM with a warning. */
export function decodeText(bytes: Uint8Array): { text?: string; issues: Issue[] } {
  if (bytes.length === 0 || isBlank(bytes)) return { issues: [issue("FILE_EMPTY", { found: `${bytes.length} bytes` })] };
  const utf16 = utf16Issue(bytes);
  if (utf16) return { issues: [utf16] };
  // NUL is checked before UTF-8 (a binary file is named as such); decoded first, it is searched in the
  // text: a NUL byte in valid UTF-8 is U+0000, and the string search is cheaper (issue 17.2)
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    if (bytes.includes(0)) return { issues: [binary(bytes)] };
    return { issues: [issue("FILE_NOT_UTF8", { found: `invalid byte sequence near offset ${firstBadUtf8(bytes)}` })] };
  }
  if (text.includes("\0")) return { issues: [binary(bytes)] };
  const issues: Issue[] = [];
  if (text.charCodeAt(0) === 0xfeff) {
    text = text.slice(1);
    issues.push(issue("FILE_BOM"));
  }
  return { text, issues };
}

const binary = (bytes: Uint8Array): Issue => issue("FILE_BINARY", { found: `NUL byte at offset ${bytes.indexOf(0)}` });

export function parseDocument(bytes: Uint8Array, format: DocFormat, limits: ParseLimits = DEFAULT_PARSE_LIMITS): Parsed {
  const decoded = decodeText(bytes);
  if (decoded.text === undefined) return { issues: decoded.issues };
  const issues = decoded.issues;
  let text = decoded.text;
  if (format === "md") {
    if (/\r(?!\n)/.test(text)) issues.push(issue("LINE_ENDINGS", { found: "carriage returns without line feeds" }));
    return { value: parseMarkdownOutline(text), issues };
  }
  // An LLM's answer pasted whole: one fenced block and nothing else is unambiguous (read it, and warn).
  const fenced = unfence(text);
  if (fenced && "content" in fenced) {
    text = fenced.content;
    issues.push(fenced.issue);
  }

  let raw: unknown;
  try {
    raw = format === "json" ? JSON.parse(text) : load(text, { schema: CORE_SCHEMA, json: false });
  } catch (e) {
    // Both parsers recurse: a document nested thousands deep exhausts the stack before sanitize runs.
    if (e instanceof RangeError) issues.push(issue("TOO_DEEP", { path: "", expected: `at most ${limits.maxDepth} levels`, found: "deeper than the parser can follow" }));
    else if (fenced && "withText" in fenced) issues.push(fenced.withText);
    else issues.push(format === "json" ? jsonSyntaxIssue(e, text) : yamlSyntaxIssue(e));
    return { issues };
  }
  if (format === "json") {
    const dup = findDuplicateJsonKey(text);
    if (dup) {
      issues.push(dup);
      return { issues };
    }
  }
  const safe = sanitize(raw, limits);
  if (safe.issues.length > 0) return { issues: [...issues, ...safe.issues] };
  return { value: safe.value, issues };
}

/** Copies a parsed tree into fresh plain objects, enforcing depth, node count and key guards. */
export function sanitize(root: unknown, limits: ParseLimits = DEFAULT_PARSE_LIMITS): { value?: unknown; issues: Issue[] } {
  let nodes = 0;
  // the keys and indexes down to the value in hand; its JSON pointer is built only for an issue (issue 17.2)
  const trail: Array<string | number> = [];
  const here = (): string => trail.map((k) => `/${typeof k === "number" ? k : escapePointer(k)}`).join("");
  const fail = (i: Issue): never => {
    throw new SanitizeStop(i);
  };
  const walk = (v: unknown, depth: number): unknown => {
    if (++nodes > limits.maxNodes) fail(issue("TOO_MANY_NODES", { path: here(), expected: `at most ${limits.maxNodes} values`, found: "more" }));
    if (depth > limits.maxDepth) fail(issue("TOO_DEEP", { path: here(), expected: `at most ${limits.maxDepth} levels`, found: "deeper" }));
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (let i = 0; i < v.length; i++) {
        trail.push(i);
        out.push(walk(v[i], depth + 1));
        trail.pop();
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) {
      trail.push(key);
      if (FORBIDDEN_KEYS.has(key)) fail(issue("FORBIDDEN_KEY", { path: here(), found: JSON.stringify(key) }));
      out[key] = walk((v as Record<string, unknown>)[key], depth + 1);
      trail.pop();
    }
    return out;
  };
  try {
    return { value: walk(root, 0), issues: [] };
  } catch (e) {
    if (e instanceof SanitizeStop) return { issues: [e.issue] };
    if (e instanceof RangeError) return { issues: [issue("TOO_DEEP", { path: "", found: "stack exhausted" })] };
    throw e;
  }
}

class SanitizeStop extends Error {
  constructor(readonly issue: Issue) {
    super(issue.message);
  }
}

export const escapePointer = (key: string): string => key.replace(/~/g, "~0").replace(/\//g, "~1");

/** A Markdown document's outline: its ATX heading texts, trimmed and lower-cased, in order. */
export function parseMarkdownOutline(text: string): { headings: string[] } {
  const headings: string[] = [];
  // A fence closes only with the same character, at least as long as the one that opened it.
  let fence: string | undefined;
  for (const line of text.split(/\r\n|\r|\n/)) {
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (f && (fence === undefined || (f[0] === fence[0] && f.length >= fence.length))) {
      fence = fence === undefined ? f : undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const h = headingText(line);
    if (h !== undefined) headings.push(h.toLowerCase());
  }
  return { headings };
}

/** An ATX heading's text, in linear time (a regex with two optional runs backtracks quadratically). */
function headingText(line: string): string | undefined {
  const m = /^ {0,3}(#{1,6})(?=[ \t]|$)/.exec(line);
  if (!m) return undefined;
  let t = line.slice(m[0].length).trim();
  let j = t.length;
  while (j > 0 && t[j - 1] === "#") j--;
  if (j === 0 || t[j - 1] === " " || t[j - 1] === "\t") t = t.slice(0, j).trim();
  return t;
}

function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return false;
  return true;
}

/** Offset of the first byte that is not valid UTF-8 (a fresh decoder: the shared one keeps no state). */
function firstBadUtf8(bytes: Uint8Array): number {
  const d = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let lo = 0;
  let hi = bytes.length;
  // the longest valid prefix, by bisection over prefixes (a prefix may end mid-character: allow 3 bytes)
  while (hi - lo > 4) {
    const mid = (lo + hi) >>> 1;
    try {
      d.decode(bytes.subarray(0, mid), { stream: true });
      d.decode();
      lo = mid;
    } catch {
      d.decode();
      hi = mid;
    }
  }
  return lo;
}

function lineCol(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) (line++, (last = i));
  return { line, column: pos - last };
}

function jsonSyntaxIssue(e: unknown, text: string): Issue {
  const msg = e instanceof Error ? e.message : String(e);
  const pos = /position (\d+)/.exec(msg);
  const offset = pos ? Number(pos[1]) : (jsonErrorOffset(text) ?? (/end of JSON input/.test(msg) ? text.length : undefined));
  const named = offset !== undefined ? diagnoseJson(text, offset, msg) : undefined;
  if (named) return named;
  const at = offset !== undefined ? lineCol(text, offset) : undefined;
  const found = msg.replace(/^JSON\.parse: /, "").replace(/ in JSON at position \d+.*$/, "");
  return issue("JSON_SYNTAX", {
    message: at ? `file is not valid JSON (line ${at.line}, column ${at.column})` : "file is not valid JSON",
    expected: "valid JSON",
    found: found.length > 120 ? `${found.slice(0, 119)}…` : found,
    ...(at ? { fix: `Fix the JSON at line ${at.line}, column ${at.column} (\`jq . FILE\` points at it too).` } : {}),
    ...(at ?? {}),
  });
}

function yamlSyntaxIssue(e: unknown): Issue {
  if (e instanceof YAMLException) {
    const line = e.mark ? e.mark.line + 1 : undefined;
    const column = e.mark ? e.mark.column + 1 : undefined;
    const where = line !== undefined ? ` (line ${line}, column ${column})` : "";
    if (/duplicated mapping key/.test(e.reason)) {
      return issue("DUPLICATE_KEY", { message: `a key appears twice in one mapping${where}`, found: e.reason, line, column });
    }
    return issue("YAML_SYNTAX", { message: `file is not valid YAML${where}`, expected: "valid YAML", found: e.reason, line, column });
  }
  return issue("YAML_SYNTAX", { found: e instanceof Error ? e.message : String(e) });
}

/**
 * JSON.parse keeps the last of two equal keys without a word; agents that merge objects by hand do
 * write them. One linear scan over the text (strings skipped correctly) finds the first duplicate.
 */
export function findDuplicateJsonKey(text: string): Issue | undefined {
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    } else if (c === 0x22 /* " */) {
      // the closing quote: the next one not escaped (an odd run of backslashes before it escapes it)
      let j = i;
      let escaped = false;
      do {
        j = text.indexOf('"', j + 1);
        if (j < 0) j = text.length;
        let k = j - 1;
        while (k > i && text.charCodeAt(k) === 0x5c) k--;
        escaped = (j - 1 - k) % 2 === 1;
      } while (escaped && j < text.length);
      if (expectKey) {
        // a key without escapes is its text; one with escapes is decoded (\u0061 is a)
        const raw = text.slice(i + 1, j);
        const key = raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
        const keys = stack[stack.length - 1];
        if (keys instanceof Set) {
          if (keys.has(key)) {
            const at = lineCol(text, i);
            return issue("DUPLICATE_KEY", { message: `key ${JSON.stringify(key)} appears twice in one object (line ${at.line}, column ${at.column})`, found: key, ...at });
          }
          keys.add(key);
        }
        expectKey = false;
      }
      i = j;
    }
  }
  return undefined;
}

/**
 * Where JSON text stops being JSON. V8 gives a position for some errors and only a quoted snippet for
 * others (a trailing comma, a missing value), so on failure a small scanner finds the offset itself.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const value = (depth: number): void => {
    if (depth > 10_000) fail();
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ",") (i++);
        else if (text[i] === "}") return void i++;
        else fail();
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return void i++;
        else fail();
      }
    } else if (c === '"') str();
    else if (c !== undefined && /[-0-9]/.test(c)) {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (!m) fail();
      i += m![0].length;
    } else {
      for (const lit of ["true", "false", "null"]) if (text.startsWith(lit, i)) return void (i += lit.length);
      fail();
    }
  };
  const str = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      i += text[i] === "\\" ? 2 : 1;
    }
    if (i >= text.length) fail();
    i++;
  };
  try {
    value(0);
    ws();
    return i < text.length ? i : undefined;
  } catch (at) {
    return typeof at === "number" ? Math.min(at, text.length) : undefined;
  }
}
