/**
 * Issues as a person, a program or GitHub reads them. One place, so every command prints errors the
 * same way: what, where (file, line, JSON path), expected/found, and the fix.
 */
import type { Issue } from "../errors/issue.js";
import { formatIssuesText } from "../report/issue-text.js";
import { printable } from "../report/plain-text.js";

export { formatIssuesText };

export type Format = "text" | "json" | "github";

/** Escapes a GitHub workflow command's message (newlines and carriage returns are GitHub's own escapes; any other control character is shown escaped: its log viewer renders ANSI); ghProp also its properties (file=, title=). */
export const ghEscape = (s: string): string => printable(s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A"));
export const ghProp = (s: string): string => ghEscape(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** GitHub Actions workflow commands: each issue becomes an annotation on the file. */
export function formatIssuesGithub(issues: readonly Issue[]): string {
  return issues
    .map((i) => {
      const props = [i.file ? `file=${ghProp(i.file)}` : undefined, i.line !== undefined ? `line=${i.line}` : undefined, i.column !== undefined ? `col=${i.column}` : undefined, `title=${ghProp(`consensus ${i.code}`)}`].filter(Boolean).join(",");
      const seen = [i.expected !== undefined ? `expected ${i.expected}` : undefined, i.found !== undefined ? `found ${i.found}` : undefined].filter(Boolean).join("; ");
      const detail = `${i.path ? `${i.path}: ` : ""}${i.message}${seen ? ` (${seen})` : ""}. Fix: ${i.fix}`;
      return `::${i.severity === "error" ? "error" : "warning"} ${props}::${ghEscape(detail)}`;
    })
    .join("\n");
}

export function formatIssues(issues: readonly Issue[], format: Format): string {
  if (format === "json") return JSON.stringify(issues, null, 2);
  if (format === "github") return formatIssuesGithub(issues);
  return formatIssuesText(issues);
}

export { formatTable } from "../report/plain-text.js";
