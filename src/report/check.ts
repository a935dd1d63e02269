/**
 * What `consensus doctor` reports: one result per check, pass / warn / fail, what was found and, for
 * anything short of a pass, the fix (a command where there is one). Pure.
 */
import { printable } from "./plain-text.js";

export type CheckStatus = "pass" | "warn" | "fail" | "skip";

export interface CheckResult {
  /** Short stable id (node, layout, permissions, config, inotify, disk, lock, log, clock, state). */
  id: string;
  status: CheckStatus;
  /** What was found, in one sentence. */
  found: string;
  /** What to do about it; present for every warn and fail. */
  fix?: string;
  /** Figures behind the verdict, for --format json. */
  details?: Record<string, unknown>;
}

export const pass = (id: string, found: string, details?: Record<string, unknown>): CheckResult => ({ id, status: "pass", found, ...(details ? { details } : {}) });
export const warn = (id: string, found: string, fix: string, details?: Record<string, unknown>): CheckResult => ({ id, status: "warn", found, fix, ...(details ? { details } : {}) });
export const fail = (id: string, found: string, fix: string, details?: Record<string, unknown>): CheckResult => ({ id, status: "fail", found, fix, ...(details ? { details } : {}) });
export const skip = (id: string, found: string): CheckResult => ({ id, status: "skip", found });

export interface DoctorReport {
  root: string;
  ok: boolean;
  counts: Record<CheckStatus, number>;
  checks: CheckResult[];
}

export function summarise(root: string, checks: CheckResult[]): DoctorReport {
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  return { root, ok: counts.fail === 0, counts, checks };
}

export function formatReportText(r: DoctorReport): string {
  const width = Math.max(...r.checks.map((c) => c.id.length));
  const lines = [`consensus doctor: ${printable(r.root)}`];
  for (const c of r.checks) {
    // what a check found may quote a file an agent wrote: one line each, no terminal escapes
    lines.push(`  ${c.status.padEnd(4)}  ${c.id.padEnd(width)}  ${printable(c.found)}`);
    if (c.fix) lines.push(`  ${" ".repeat(4)}  ${" ".repeat(width)}  fix: ${printable(c.fix)}`);
  }
  const tally = [`${r.counts.pass} passed`, `${r.counts.warn} warning${r.counts.warn === 1 ? "" : "s"}`, `${r.counts.fail} failed`, ...(r.counts.skip ? [`${r.counts.skip} skipped`] : [])].join(", ");
  lines.push(r.ok ? `${tally}: ready` : `${tally}: fix the failures above, then run consensus doctor again`);
  return `${lines.join("\n")}\n`;
}
