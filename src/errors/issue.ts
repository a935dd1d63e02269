/**
 * Errors are data. Every problem the product reports — a schema violation, a hostile file name, a
 * veto from a role that may not veto — is an Issue: what is wrong (code + message), where (file + JSON
 * path), what was expected and found, and an imperative fix. The same objects go to stderr,
 * `--format json|github`, the decision log and the author's inbox.
 */
import type { Code } from "./codes.js";
import { CODES } from "./codes.js";

export type Severity = "error" | "warning";

export interface Issue {
  code: Code;
  severity: Severity;
  message: string;
  file?: string;
  /** JSON Pointer into the document ("" is the whole document). */
  path?: string;
  /** 1-based line, where the parser knows it. */
  line?: number;
  column?: number;
  expected?: string;
  found?: string;
  fix: string;
}

export interface IssueInit {
  message?: string;
  file?: string;
  path?: string;
  line?: number;
  column?: number;
  expected?: string;
  found?: string;
  fix?: string;
  severity?: Severity;
}

/** Builds an Issue from the catalogue: the code supplies the default message, fix and severity. */
export function issue(code: Code, init: IssueInit = {}): Issue {
  const def = CODES[code];
  const out: Issue = {
    code,
    severity: init.severity ?? def.severity,
    message: init.message ?? def.title,
    fix: init.fix ?? def.fix,
  };
  if (init.file !== undefined) out.file = init.file;
  if (init.path !== undefined) out.path = init.path;
  if (init.line !== undefined) out.line = init.line;
  if (init.column !== undefined) out.column = init.column;
  if (init.expected !== undefined) out.expected = init.expected;
  if (init.found !== undefined) out.found = init.found;
  return out;
}

export const errorsOf = (issues: readonly Issue[]): Issue[] => issues.filter((i) => i.severity === "error");
export const warningsOf = (issues: readonly Issue[]): Issue[] => issues.filter((i) => i.severity === "warning");
export const withFile = (issues: readonly Issue[], file: string): Issue[] => issues.map((i) => ({ ...i, file }));

/**
 * `s` as one word of a shell command in a fix (`rm ${shellArg(rel)}`): as it is when it holds only
 * characters no shell reads specially, else single-quoted. A name or a link target an agent chose
 * (`$(...)`, a space, a quote) is then copied and run as the path it is, never as a command of its own.
 */
export function shellArg(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Shows a value the way a person would type it, cut short so a log line stays readable. */
export function formatFound(value: unknown, max = 80): string {
  let s: string;
  if (value === undefined) s = "nothing";
  else if (typeof value === "string") s = JSON.stringify(value);
  else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = String(value);
    }
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A thrown error that carries Issues and an exit code; only the shell throws these. */
export class ConsensusError extends Error {
  readonly issues: Issue[];
  readonly exitCode: number;
  constructor(issues: Issue | Issue[], exitCode?: number) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.map((i) => i.message).join("; "));
    this.name = "ConsensusError";
    this.issues = list;
    this.exitCode = exitCode ?? Math.max(1, ...list.map((i) => CODES[i.code].exit));
  }
}
