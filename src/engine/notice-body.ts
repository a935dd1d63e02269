/**
 * A notice's YAML text: byte for byte what js-yaml's `dump(notice, { lineWidth: 120, noRefs: true })`
 * writes, without its cost. dump chooses each string's style by testing every character and every
 * implicit type; for the strings notices are made of (ids, paths, timestamps, sentences on one line)
 * that is most of a notice's CPU (≈65 µs of a stage notice, issue 17.2). Here the mappings and
 * sequences are written the way dump writes them in block style, and a string is written by the same
 * rules when it is one line of printable characters short enough not to be folded; anything else (a
 * line break, a control or astral character, a long line, a number that is not an integer, a key over
 * 1,024 characters) makes the whole notice go through dump itself, so the text never differs.
 * test/engine/notice-body.test.ts holds both to the same output. Pure.
 */
import { DEFAULT_SCHEMA, dump } from "js-yaml";

export const NOTICE_DUMP_OPTIONS = { lineWidth: 120, noRefs: true } as const;

/** The notice's YAML text (with its final newline), as `dump(notice, NOTICE_DUMP_OPTIONS)` writes it. */
export function formatNoticeBody(notice: object): string {
  return fastNoticeBody(notice) ?? dump(notice, NOTICE_DUMP_OPTIONS);
}

/** The same text written here, or undefined where only dump can say (exported for the test that holds the two together). */
export function fastNoticeBody(notice: object): string | undefined {
  const fast = IMPLICIT ? node(notice, 0, true) : undefined;
  return fast === undefined ? undefined : `${fast}\n`;
}

/** The implicit types dump tests a plain string against (null, bool, int, float, timestamp, merge). */
const IMPLICIT = ((DEFAULT_SCHEMA as unknown as { compiledImplicit?: unknown }).compiledImplicit ?? undefined) as Array<{ resolve(s: string): boolean }> | undefined;

/** Strings js-yaml quotes for YAML 1.1 readers (its compat mode, on by default). */
const DEPRECATED_BOOLEANS = new Set(["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF"]);
const DEPRECATED_BASE60 = /^[-+]?[0-9_]+(?::[0-9_]+)+(?:\.[0-9_]*)?$/;
/** Words an implicit type reads as other than a string, among those that start with a letter. */
const WORDS = new Set(["null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE"]);

/** Two spaces a level (dump's default indent). */
const newline = (level: number): string => `\n${"  ".repeat(level)}`;

/** A value at `level` as dump's writeNode writes it in block style; undefined: leave it to dump. */
function node(v: unknown, level: number, compact: boolean): string | undefined {
  if (typeof v === "string") return scalar(v, level, false);
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return Number.isSafeInteger(v) && !Object.is(v, -0) ? String(v) : undefined;
  if (Array.isArray(v)) return v.length ? sequence(v, level, compact) : "[]";
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return mapping(v as Record<string, unknown>, level, compact);
  return undefined;
}

function mapping(o: Record<string, unknown>, level: number, compact: boolean): string | undefined {
  let out = "";
  for (const key of Object.keys(o)) {
    const value = o[key];
    // dump skips a pair whose value is undefined
    if (value === undefined) continue;
    const k = scalar(key, level + 1, true);
    // a key dump writes longer than 1,024 characters is an explicit pair ("? key")
    if (k === undefined || k.length > 1024) return undefined;
    const v = node(value, level + 1, false);
    if (v === undefined) return undefined;
    out += `${!compact || out !== "" ? newline(level) : ""}${k}${v.charCodeAt(0) === 10 ? ":" : ": "}${v}`;
  }
  return out || "{}";
}

function sequence(a: unknown[], level: number, compact: boolean): string | undefined {
  let out = "";
  for (const item of a) {
    // dump writes an undefined element as null
    const v = node(item === undefined ? null : item, level + 1, true);
    if (v === undefined) return undefined;
    out += `${!compact || out !== "" ? newline(level) : ""}${v.charCodeAt(0) === 10 ? "-" : "- "}${v}`;
  }
  return out;
}

/**
 * A string as dump writes it in block context, or undefined when dump might choose a style other
 * than plain or single-quoted (a line break, a character that is not printable, astral or a BOM, a
 * line long enough to fold).
 */
function scalar(s: string, level: number, isKey: boolean): string | undefined {
  if (s.length === 0) return "''";
  const first = s.charCodeAt(0);
  if (DEPRECATED_BOOLEANS.has(s) || (!letter(first) && DEPRECATED_BASE60.test(s))) return `'${s}'`;
  // dump's line width at this depth: a longer value is folded (keys are never folded)
  if (!isKey && s.length > Math.max(40, 120 - 2 * Math.max(1, level))) return undefined;
  let plain = plainFirst(first) && plainLast(s.charCodeAt(s.length - 1));
  let prev = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!printable(c)) return undefined;
    // ns-plain-char in block context: "#" only after a non-space, a space never after ":"
    if (plain && ((c === 0x23 && (prev === -1 || prev === 0x20)) || (c === 0x20 && prev === 0x3a))) plain = false;
    prev = c;
  }
  if (plain && !ambiguous(s)) return s;
  return `'${s.replace(/'/g, "''")}'`;
}

/** Printable, one UTF-16 unit, and not a line break, tab or BOM (js-yaml's isPrintable, narrowed). */
function printable(c: number): boolean {
  return (c >= 0x20 && c <= 0x7e) || (c >= 0xa1 && c <= 0xd7ff && c !== 0x2028 && c !== 0x2029) || (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff);
}

/** js-yaml's isPlainSafeFirst for a printable character: not a space, not a YAML indicator. */
function plainFirst(c: number): boolean {
  return c >= 0x80 || NOT_FIRST[c] === 0;
}

/** ASCII characters a plain string cannot start with: space and YAML's indicators. */
const NOT_FIRST = new Uint8Array(128);
for (const ch of " -?:,[]{}#&*!|=>'\"%@`") NOT_FIRST[ch.charCodeAt(0)] = 1;

const letter = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);

/** js-yaml's isPlainSafeLast: not a space, not a colon. */
function plainLast(c: number): boolean {
  return c !== 0x20 && c !== 0x09 && c !== 0x3a;
}

/** Whether dump would read the plain string as another type (so quotes it): the same resolvers it asks. */
function ambiguous(s: string): boolean {
  // a string starting with a letter can only be null or a boolean (numbers, dates and merge keys start otherwise)
  if (letter(s.charCodeAt(0))) return WORDS.has(s);
  return IMPLICIT!.some((t) => t.resolve(s));
}
