/**
 * What exactly is wrong with a document that does not parse, in the terms of its likely cause — the
 * way LLMs and editors get JSON wrong — with a fix that names the place: a trailing comma (at the
 * comma), a comment, NaN or Infinity, curly or single quotes, an unquoted key, a line break inside a
 * string, a document cut off before its end; a file saved as UTF-16; a document wrapped in a Markdown
 * code fence (alone: read with a warning; with text around it: rejected). Pure.
 */
import { issue, type Issue } from "../errors/issue.js";

export interface Position {
  offset: number;
  line: number;
  column: number;
}

export function positionOf(text: string, offset: number): Position {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) (line++, (last = i));
  return { offset, line, column: offset - last };
}

const at = (p: Position): string => `line ${p.line}, column ${p.column}`;
const where = (p: Position) => ({ line: p.line, column: p.column });
const CURLY = new Set(["\u201c", "\u201d", "\u201e", "\u201f", "\u2018", "\u2019", "\u201a", "\u201b", "\u00ab", "\u00bb"]);
const codePoint = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * The defect at `offset` (where JSON.parse or the scanner stopped), named with its fix, or undefined
 * when it is none of the known kinds (the caller says "not valid JSON" with the place).
 */
export function diagnoseJson(text: string, offset: number, v8Message: string): Issue | undefined {
  let i = offset;
  while (i < text.length && " \t\r\n".includes(text[i]!)) i++;
  const here = positionOf(text, Math.min(i, text.length));
  const rest = text.slice(i, i + 12);
  // a line break (or another control character) inside a string: V8 names it, the place is the character
  if (/Bad control character in string literal|Unterminated string/.test(v8Message) && /[\r\n]/.test(text[offset] ?? "")) {
    const p = positionOf(text, offset);
    return issue("JSON_SYNTAX", { message: `a line break inside a string (${at(p)})`, ...where(p), found: "a raw line break", expected: "\\n inside the string", fix: `Write the line break at ${at(p)} as \\n (JSON strings are one line), or split the text into an array of lines.` });
  }
  if (i >= text.length) {
    const open = unclosed(text);
    const from = open ? positionOf(text, open.offset) : undefined;
    return issue("TRUNCATED", {
      message: `the document ends before it is complete${open ? `: the ${open.char} opened at ${at(from!)} is never closed` : ""} (${at(here)})`,
      ...where(here),
      found: "the end of the file",
      expected: open ? `a closing ${open.char === "{" ? "}" : "]"}` : "the rest of the document",
      fix: "Write the whole document: it looks cut off (output that stopped early?). Check the end of the file, then drop it again.",
    });
  }
  if (rest[0] === "}" || rest[0] === "]") {
    let j = i - 1;
    while (j >= 0 && " \t\r\n".includes(text[j]!)) j--;
    if (text[j] === ",") {
      const comma = positionOf(text, j);
      return issue("JSON_SYNTAX", { message: `a trailing comma before ${rest[0]} (${at(comma)})`, ...where(comma), found: ",", expected: `no comma after the last ${rest[0] === "}" ? "member" : "item"}`, fix: `Remove the comma at ${at(comma)}: JSON allows no comma after the last ${rest[0] === "}" ? "member of an object" : "item of an array"}.` });
    }
  }
  if (rest.startsWith("//") || rest.startsWith("/*")) {
    return issue("JSON_SYNTAX", { message: `a comment (${at(here)}): JSON has no comments`, ...where(here), found: rest.startsWith("//") ? "// …" : "/* … */", fix: `Remove the comment at ${at(here)} (and any other): JSON has no // or /* */ comments. Put remarks in a field, e.g. "notes".` });
  }
  const nonFinite = /^-?(NaN|Infinity)/.exec(rest);
  if (nonFinite) {
    const word = (text[i - 1] === "-" && nonFinite[0][0] !== "-" ? "-" : "") + nonFinite[0];
    return issue("JSON_SYNTAX", { message: `${word} is not a JSON number (${at(here)})`, ...where(here), found: word, expected: "a number, or null", fix: `Replace ${word} at ${at(here)} with a number, or null if there is none.` });
  }
  const c = rest[0]!;
  if (CURLY.has(c)) {
    return issue("JSON_SYNTAX", { message: `a curly quote ${c} (${codePoint(c)}, ${at(here)}) where JSON needs a straight double quote`, ...where(here), found: `${c} (${codePoint(c)})`, expected: '"', fix: `Replace every curly quote (“ ” ‘ ’) with a straight double quote ("), starting at ${at(here)}; word processors and chat windows put them in.` });
  }
  if (c === "'") {
    return issue("JSON_SYNTAX", { message: `a single-quoted string (${at(here)})`, ...where(here), found: "'", expected: '"', fix: `Quote keys and strings with double quotes ("), starting at ${at(here)}: JSON has no single-quoted strings.` });
  }
  if (/[A-Za-z_$]/.test(c) && /property name|Unexpected token/.test(v8Message) && !/^(true|false|null)\b/.test(rest)) {
    const word = /^[A-Za-z_$][\w$-]*/.exec(rest)![0];
    const key = text.slice(i + word.length).trimStart().startsWith(":");
    if (key) return issue("JSON_SYNTAX", { message: `the key ${word} is not in double quotes (${at(here)})`, ...where(here), found: word, expected: `"${word}"`, fix: `Write the key as "${word}" at ${at(here)}: JSON keys are double-quoted strings.` });
    return issue("JSON_SYNTAX", { message: `the bare word ${word} (${at(here)}) is not a JSON value`, ...where(here), found: word, expected: "a string in double quotes, a number, true, false or null", fix: `Quote it ("${word}") at ${at(here)} if it is text.` });
  }
  return undefined;
}

/** The innermost bracket still open at the end of the text (strings skipped), if any. */
function unclosed(text: string): { char: "{" | "["; offset: number } | undefined {
  const stack: Array<{ char: "{" | "["; offset: number }> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    } else if (c === "{" || c === "[") stack.push({ char: c, offset: i });
    else if (c === "}" || c === "]") stack.pop();
  }
  return stack[0];
}

/** A UTF-16 file (with a byte-order mark, or ASCII text with every other byte NUL): named as such. */
export function utf16Issue(bytes: Uint8Array): Issue | undefined {
  const bom = bytes.length >= 2 && bytes.length % 2 === 0 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
  let pattern = false;
  if (!bom && bytes.length >= 4) {
    const n = Math.min(bytes.length - (bytes.length % 2), 64);
    let evenNul = 0;
    let oddNul = 0;
    for (let i = 0; i < n; i += 2) {
      if (bytes[i] === 0) evenNul++;
      if (bytes[i + 1] === 0) oddNul++;
    }
    pattern = (oddNul === n / 2 && evenNul === 0) || (evenNul === n / 2 && oddNul === 0);
  }
  if (!bom && !pattern) return undefined;
  const le = bom ? bytes[0] === 0xff : bytes[1] === 0;
  return issue("FILE_UTF16", { found: `UTF-16${le ? "LE" : "BE"}${bom ? " with a byte-order mark" : ""}`, expected: "UTF-8" });
}

/** Fence lines: three or more backticks or tildes, an optional info string (```json). */
const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/;

/**
 * A JSON or YAML document wrapped in a Markdown code fence, as chat models answer: exactly one fenced
 * block and nothing else → its content, to be read with a warning; a fence with text around it →
 * `withText` (the caller rejects it if the file does not parse as it is).
 */
export function unfence(text: string): { content: string; issue: Issue } | { withText: Issue } | undefined {
  // a fence line holds three backticks or tildes in a row: without them, no line needs splitting out (issue 17.2)
  if (!text.includes("```") && !text.includes("~~~")) return undefined;
  const lines = text.split(/\r?\n/);
  const open = lines.findIndex((l) => FENCE.test(l));
  if (open < 0) return undefined;
  const fence = FENCE.exec(lines[open]!)![1]!;
  let close = -1;
  for (let i = open + 1; i < lines.length; i++) {
    const m = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[i]!);
    if (m && m[1]![0] === fence[0] && m[1]!.length >= fence.length) {
      close = i;
      break;
    }
  }
  const blank = (ls: string[]) => ls.every((l) => l.trim() === "");
  const openAt = { line: open + 1, column: 1 };
  if (close > 0 && blank(lines.slice(0, open)) && blank(lines.slice(close + 1))) {
    return {
      content: lines.slice(open + 1, close).join("\n"),
      issue: issue("FENCED", { message: `the document is wrapped in a Markdown code fence (lines ${open + 1} and ${close + 1}); its content was read`, ...openAt, found: lines[open]!.trim(), fix: "Write the document alone, without the ``` lines around it." }),
    };
  }
  return { withText: issue("FENCED_WITH_TEXT", { message: `a Markdown code fence (${lines[open]!.trim()} at line ${open + 1}) with text around it`, ...openAt, found: lines[open]!.trim(), fix: "Remove the fence lines and the text around them: the file must hold the document alone." }) };
}
