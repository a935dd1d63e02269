/** Issues as a person (or an LLM) reads them: what, where (file, line, JSON path), expected/found, and the fix. Pure. */
import type { Issue } from "./issue.js";

export function formatIssuesText(issues: readonly Issue[]): string {
  return issues
    .map((i) => {
      const where = [i.file, i.line !== undefined ? `line ${i.line}${i.column !== undefined ? `:${i.column}` : ""}` : undefined, i.path ? i.path : undefined].filter(Boolean).join(" ");
      const lines = [`${i.severity === "error" ? "error" : "warning"} [${i.code}] ${where ? `${where}: ` : ""}${i.message}`];
      if (i.expected !== undefined || i.found !== undefined) lines.push(`  expected: ${i.expected ?? "-"}   found: ${i.found ?? "-"}`);
      lines.push(`  fix: ${i.fix}`);
      return lines.join("\n");
    })
    .join("\n");
}
