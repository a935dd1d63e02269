/** Issues as a person (or an LLM) reads them: what, where (file, line, JSON path), expected/found, and the fix; every line made printable (agents' bytes never reach a terminal raw). Pure. */
import type { Issue } from "../errors/issue.js";
import { printable } from "./plain-text.js";

export function formatIssuesText(issues: readonly Issue[]): string {
  return issues
    .map((i) => {
      const where = [i.file, i.line !== undefined ? `line ${i.line}${i.column !== undefined ? `:${i.column}` : ""}` : undefined, i.path ? i.path : undefined].filter(Boolean).join(" ");
      const lines = [`${i.severity === "error" ? "error" : "warning"} [${i.code}] ${where ? `${where}: ` : ""}${i.message}`];
      const seen = [i.expected !== undefined ? `expected: ${i.expected}` : undefined, i.found !== undefined ? `found: ${i.found}` : undefined].filter(Boolean);
      if (seen.length) lines.push(`  ${seen.join("   ")}`);
      lines.push(`  fix: ${i.fix}`);
      // every field may hold an agent's bytes: each line is made printable on its own
      return lines.map((l) => printable(l)).join("\n");
    })
    .join("\n");
}
