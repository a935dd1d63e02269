/** The report as terminal text: the configured rules, then one line per epic. Pure. */
import { formatTable, plural, printable } from "./plain-text.js";
import { formatBudget, formatDuration, formatSpend, type ReportModel, type Rules } from "./model.js";

export function formatRulesText(r: Rules): string {
  const lines = [`rules: ${r.stages.length} stages, max ${r.maxIterations} iterations, roles ${r.roles.join(", ")}${r.budget ? `, budget per epic ${formatBudget(r.budget)}` : ""}`];
  for (const s of r.stages) {
    const parts = [`${String(s.index + 1).padStart(2)}. ${s.id}`, `owner ${s.owner}`, `drops ${s.artifacts.join(" + ")}`];
    if (s.approvers.length) parts.push(`approvals: ${s.approval}`);
    parts.push(s.vetoes.length ? `vetoes ${s.vetoes.map((v) => `${v.role} → ${v.to}`).join(", ")}` : "no vetoes");
    if (s.nonOverridable.length) parts.push(`never overridden: ${s.nonOverridable.join(", ")}`);
    if (s.deadlineMs !== undefined) parts.push(`deadline ${formatDuration(s.deadlineMs)}`);
    lines.push(parts.join("; "));
  }
  for (const m of r.modes) lines.push(`mode ${m.name}: ${m.stages.join(" → ")}${m.description ? ` (${m.description})` : ""}`);
  if (r.agents.length) lines.push(`agents configured: ${r.agents.join(", ")}`);
  return lines.map((l) => printable(l)).join("\n");
}

export function formatEpicsText(m: ReportModel): string {
  if (m.epics.length === 0) return printable(`no epics yet${m.root ? ` in ${m.root}` : ""}; start one with: consensus start EP-001 --title "…"`);
  const head = ["EPIC", "STATUS", "STAGE", "ITER", "IN STAGE", "VETOES", "SPEND", "WAITING FOR / STUCK BECAUSE"];
  const body = m.epics.map((e) => [
    e.id,
    e.status,
    e.stage,
    String(e.iteration),
    e.ended ? `took ${formatDuration(e.elapsedMs)}` : formatDuration(e.timeInStageMs),
    String(e.vetoes.length) + (e.openVetoes ? ` (${e.openVetoes} open)` : ""),
    formatSpend(e.spend, e.budget) || "-",
    e.stuckBecause,
  ]);
  const c = m.counts;
  return [formatTable(head, body), "", `${plural(m.epics.length, "epic")}: ${c.in_progress} in progress, ${c.escalated} escalated, ${c.promoted} promoted, ${c.cancelled} cancelled`].join("\n");
}

export function formatReportText(m: ReportModel): string {
  return `${formatRulesText(m.rules)}\n\n${formatEpicsText(m)}`;
}
