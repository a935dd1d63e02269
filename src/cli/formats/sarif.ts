/**
 * Issues as a SARIF 2.1.0 log (OASIS Static Analysis Results Interchange Format), the format GitHub
 * code scanning uploads (github/codeql-action/upload-sarif). Pure: issues in, one JSON text out.
 *
 * Shape: one run whose tool.driver lists a rule per error code used (its title, and its fix as
 * `help`); one result per issue with `ruleId`, `level` (error | warning), the message with the fix,
 * one location — `physicalLocation` (the file as a URI relative to the working folder, and the region:
 * line and column where known, else line 1, which GitHub requires) and, when the issue has a JSON
 * path, a `logicalLocation` whose `fullyQualifiedName` is that JSON Pointer — and `properties` with
 * the JSON path, expected, found and the fix, as `--format json` gives them.
 * Checked against the published 2.1.0 schema in test/cli/formats.test.ts.
 */
import type { Location, Log, ReportingDescriptor, Result } from "sarif";
import { CODES } from "../../errors/codes.js";
import type { Issue } from "../../errors/issue.js";

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

/** A file path as a SARIF URI: relative paths stay relative (resolved against the checkout), absolute ones become file:// URIs. */
export function sarifUri(file: string): string {
  const parts = file.split(/[\\/]/);
  const encoded = parts.map((p) => encodeURIComponent(p)).join("/");
  if (/^[A-Za-z]:[\\/]/.test(file)) return `file:///${encoded}`;
  return file.startsWith("/") ? `file://${encoded}` : encoded;
}

export function formatIssuesSarif(issues: readonly Issue[], tool: { version: string }): string {
  const codes = [...new Set(issues.map((i) => i.code))].sort();
  const rules: ReportingDescriptor[] = codes.map((code) => ({
    id: code,
    name: code.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
    shortDescription: { text: CODES[code].title },
    help: { text: CODES[code].fix },
    defaultConfiguration: { level: CODES[code].severity === "error" ? "error" : "warning" },
  }));
  const results: Result[] = issues.map((i) => {
    const location: Location = {};
    if (i.file !== undefined) {
      location.physicalLocation = {
        artifactLocation: { uri: sarifUri(i.file) },
        region: { startLine: i.line ?? 1, ...(i.column !== undefined ? { startColumn: i.column } : {}) },
      };
    }
    if (i.path !== undefined) location.logicalLocations = [{ fullyQualifiedName: i.path === "" ? "/" : i.path, kind: "element" }];
    const detail = i.expected !== undefined || i.found !== undefined ? ` (expected ${i.expected ?? "-"}; found ${i.found ?? "-"})` : "";
    return {
      ruleId: i.code,
      ruleIndex: codes.indexOf(i.code),
      level: i.severity === "error" ? "error" : "warning",
      message: { text: `${i.path ? `${i.path}: ` : ""}${i.message}${detail}. Fix: ${i.fix}` },
      ...(location.physicalLocation || location.logicalLocations ? { locations: [location] } : {}),
      properties: {
        ...(i.path !== undefined ? { json_path: i.path } : {}),
        ...(i.expected !== undefined ? { expected: i.expected } : {}),
        ...(i.found !== undefined ? { found: i.found } : {}),
        fix: i.fix,
      },
    };
  });
  const log: Log = {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "consensus", version: tool.version, rules } },
        columnKind: "utf16CodeUnits",
        results,
      },
    ],
  };
  return JSON.stringify(log, null, 2);
}
