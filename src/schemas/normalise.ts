/**
 * Unambiguous sloppiness made canonical, with a warning (PROTOCOL §4): an iteration written as a
 * numeric string, a timestamp without a zone (read as UTC). What is ambiguous is left alone for the
 * schema to reject. Pure; returns a new object.
 */
import { issue, type Issue } from "../errors/issue.js";

const ZONELESS = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;

export function normaliseDocument(value: unknown): { value: unknown; issues: Issue[] } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { value, issues: [] };
  const doc = { ...(value as Record<string, unknown>) };
  const issues: Issue[] = [];
  for (const key of ["iteration", "i"]) {
    const v = doc[key];
    if (typeof v === "string" && /^\s*[1-9]\d{0,8}\s*$/.test(v)) {
      doc[key] = Number(v.trim());
      issues.push(issue("NORMALISED", { message: `${key} was a string; read as the integer ${doc[key] as number}`, path: `/${key}`, expected: "integer", found: JSON.stringify(v), fix: `Write "${key}": ${doc[key] as number} without quotes.` }));
    }
  }
  const ts = doc.timestamp;
  if (typeof ts === "string") {
    const m = ZONELESS.exec(ts.trim());
    if (m) {
      const time = m[2]!.length === 5 ? `${m[2]}:00` : m[2];
      doc.timestamp = `${m[1]}T${time}Z`;
      issues.push(issue("NORMALISED", { message: `timestamp had no zone; read as UTC`, path: "/timestamp", expected: "an RFC 3339 timestamp with a zone", found: JSON.stringify(ts), fix: `Write "${doc.timestamp as string}" (with Z or an offset).` }));
    }
  }
  return { value: doc, issues };
}
