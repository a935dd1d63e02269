/**
 * The report as one self-contained HTML page: inline CSS, inline SVG, no external URL, readable with
 * scripts off (a few lines of inline script only add the filter box). Every string from the log or the
 * config goes through esc(): epic titles, veto reasons and file names are written by agents. Pure.
 *
 * Stable hooks for tests and scripts: #epic-summary tr[data-epic-id], article.epic#epic-<ID>,
 * svg.timeline rect.span[data-stage][data-iteration], .veto-marker[data-veto-from][data-veto-subject],
 * #pipeline-diagram g.stage-box[data-stage], path.veto-route[data-from][data-to], #rules-table.
 */
import { CSS, SCRIPT } from "./page-assets.js";
import { plural } from "./plain-text.js";
import { formatBudget, formatDuration, formatSpend, type EpicReport, type ReportModel, type Rules, type Span, type TimelineEvent, type VetoItem } from "./model.js";

export function esc(s: unknown): string {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const ITERATION_COLOURS = ["#4e79a7", "#2a9d8f", "#8e6bbf", "#b5835a", "#c9a227", "#7f7f7f"];
const iterationColour = (i: number): string => ITERATION_COLOURS[(Math.max(1, i) - 1) % ITERATION_COLOURS.length]!;

const STATUS_LABEL: Record<EpicReport["status"], string> = { in_progress: "in progress", escalated: "escalated", promoted: "promoted", cancelled: "cancelled" };

export function renderReportHtml(m: ReportModel): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="consensus report">
<title>consensus report — ${esc(plural(m.epics.length, "epic"))}</title>
<style>${CSS}</style>
</head>
<body>
<header class="top">
  <h1>consensus report</h1>
  <p class="meta">${m.root ? `<code>${esc(m.root)}</code> · ` : ""}generated <time datetime="${esc(m.generatedAt)}">${esc(fmtTime(m.generatedAt))}</time> · config <code title="${esc(m.rules.version)}">${esc(m.rules.version.slice(0, 12) || "-")}</code>${m.unparsableLines ? ` · <span class="warn">${esc(m.unparsableLines)} log lines did not parse and are not shown</span>` : ""}</p>
  <p class="counts" id="counts">${(["in_progress", "escalated", "promoted", "cancelled"] as const).map((s) => `<span class="badge ${s}" data-count-status="${s}">${esc(m.counts[s])} ${STATUS_LABEL[s]}</span>`).join(" ")}</p>
</header>
<main>
${summarySection(m)}
${pipelineSection(m.rules)}
<section id="timelines">
<h2>Timelines</h2>
${legend()}
${m.epics.map(epicSection).join("\n") || '<p class="empty">No epics yet.</p>'}
</section>
${rulesSection(m.rules)}
</main>
<footer><p>Written by <code>consensus report --html</code> from the decision log, the record of truth. Times are UTC.</p></footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function summarySection(m: ReportModel): string {
  const rows = m.epics.map((e) => {
    const open = e.openVetoes;
    return `<tr data-epic-id="${esc(e.id)}" data-status="${esc(e.status)}" data-stage="${esc(e.stage)}" data-iteration="${esc(e.iteration)}">
<td class="id"><a href="#epic-${esc(e.id)}">${esc(e.id)}</a></td>
<td class="title">${esc(e.title)}</td>
<td>${badge(e.status)}</td>
<td class="stage">${esc(e.stage)}</td>
<td class="num">${esc(e.iteration)}</td>
${e.ended ? `<td class="num muted" title="from start to ${esc(e.status)}">took ${esc(formatDuration(e.elapsedMs))}</td>` : `<td class="num" title="since ${esc(fmtTime(e.stageEnteredAt))}">${esc(formatDuration(e.timeInStageMs))}</td>`}
<td class="waiting">${e.waitingFor.length ? `<span class="roles">${e.waitingFor.map((r) => `<span class="role">${esc(r)}</span>`).join(" ")}</span> ` : ""}<span class="why">${esc(e.stuckBecause)}</span></td>
<td class="num">${e.vetoes.length ? `${esc(e.vetoes.length)}${open ? ` <span class="open-vetoes">(${esc(open)} open)</span>` : ""}` : "–"}</td>
<td class="spend">${esc(formatSpend(e.spend, e.budget)) || "–"}</td>
</tr>`;
  });
  return `<section id="summary">
<div class="section-head"><h2>Epics</h2>
<form class="filter" onsubmit="return false"><label>Filter <input id="filter" type="search" placeholder="id, title, role, stage…" autocomplete="off"></label>
<label>Status <select id="status-filter"><option value="">all</option>${(["in_progress", "escalated", "promoted", "cancelled"] as const).map((s) => `<option value="${s}">${STATUS_LABEL[s]}</option>`).join("")}</select></label></form></div>
<table id="epic-summary" class="grid">
<thead><tr><th>Epic</th><th>Title</th><th>Status</th><th>Stage</th><th>Iter</th><th>In stage</th><th>Waiting for / stuck because</th><th>Vetoes</th><th>Spend</th></tr></thead>
<tbody>
${rows.join("\n") || '<tr class="empty"><td colspan="9">No epics yet: start one with <code>consensus start EP-001 --title "…"</code>.</td></tr>'}
</tbody>
</table>
</section>`;
}

function badge(status: EpicReport["status"]): string {
  return `<span class="badge ${esc(status)}" data-badge="${esc(status)}">${esc(STATUS_LABEL[status] ?? status)}</span>`;
}

// ---------------------------------------------------------------- the pipeline diagram

function pipelineSection(r: Rules): string {
  return `<section id="pipeline">
<h2>Pipeline</h2>
${pipelineSvg(r)}
<p class="note">Each stage completes when its owner's artifacts are valid for the current iteration${r.stages.some((s) => s.approvers.length) ? " and its approvers' quorum is in" : ""}. A blocking veto sends the epic back along a red arrow and starts the next iteration. The same veto twice, or an iteration above ${esc(r.maxIterations)}, escalates the epic to a person (<code>consensus override</code> or <code>consensus cancel</code>).</p>
</section>`;
}

export function pipelineSvg(r: Rules): string {
  const boxW = 168;
  const gap = 56;
  const x0 = 40;
  const top = 24;
  const lineH = 16;
  const lines = (s: Rules["stages"][number]) => 3 + (s.approvers.length ? 1 : 0);
  const boxH = 14 + lineH * Math.max(...r.stages.map(lines));
  const xOf = (i: number) => x0 + i * (boxW + gap);
  const terminalX = xOf(r.stages.length);
  // veto routes grouped by (from, to), drawn under the boxes, deeper the further they go back
  const routes = new Map<string, { from: number; to: number; roles: string[] }>();
  for (const s of r.stages) {
    for (const v of s.vetoes) {
      const to = r.stages.find((x) => x.id === v.to)?.index ?? 0;
      const key = `${s.index}>${to}`;
      const g = routes.get(key) ?? { from: s.index, to, roles: [] };
      g.roles.push(v.role);
      routes.set(key, g);
    }
  }
  const ordered = [...routes.values()].sort((a, b) => Math.abs(a.from - a.to) - Math.abs(b.from - b.to) || a.from - b.from);
  const base = top + boxH;
  let depth = 0;
  const fromCount = new Map<number, number>();
  const routeSvg = ordered.map((g, k) => {
    depth = 40 + k * 30;
    const cx = (i: number) => xOf(i) + boxW / 2;
    // leave from the right half of the source box, arrive at the left half of the target: arcs nest
    const j = fromCount.get(g.from) ?? 0;
    fromCount.set(g.from, j + 1);
    const fromX = cx(g.from) + 30 + j * 12;
    const toX = cx(g.to) - 26 - (k % 4) * 8;
    const y = base + depth;
    const d = `M ${fromX} ${base} C ${fromX} ${y}, ${toX} ${y}, ${toX} ${base + 4}`;
    const label = `veto: ${g.roles.join(", ")}`;
    const from = r.stages[g.from]!.id;
    const to = r.stages[g.to]!.id;
    return `<g class="veto-route-group"><path class="veto-route" data-from="${esc(from)}" data-to="${esc(to)}" data-roles="${esc(g.roles.join(" "))}" d="${d}" marker-end="url(#pd-arrow-veto)"><title>${esc(`a blocking veto by ${g.roles.join(" or ")} at ${from} sends the epic back to ${to}, iteration + 1`)}</title></path>
<text class="veto-label" x="${fromX + 6}" y="${base + 16 + j * 28}">${esc(label)}<tspan x="${fromX + 6}" dy="13">→ ${esc(to)}</tspan></text></g>`;
  });
  const height = Math.max(base + 0.75 * depth + 30, base + 92);
  const width = terminalX + 130;
  const boxes = r.stages.map((s, i) => {
    const x = xOf(i);
    const rows = [
      `<text class="box-title" x="${x + 12}" y="${top + 20}">${esc(`${i + 1}. ${s.id}`)}</text>`,
      `<text class="box-line" x="${x + 12}" y="${top + 20 + lineH}">owner <tspan class="strong">${esc(s.owner)}</tspan></text>`,
      `<text class="box-line small" x="${x + 12}" y="${top + 20 + 2 * lineH}">${esc(clip(s.artifacts.join(" + "), 26))}<title>${esc(s.artifacts.join(", "))}</title></text>`,
    ];
    if (s.approvers.length) rows.push(`<text class="box-line small" x="${x + 12}" y="${top + 20 + 3 * lineH}">${esc(clip(`approve: ${s.approval}`, 26))}</text>`);
    const arrow = `<path class="flow" d="M ${x + boxW} ${top + boxH / 2} L ${x + boxW + gap - 4} ${top + boxH / 2}" marker-end="url(#pd-arrow)"/>`;
    return `<g class="stage-box" data-stage="${esc(s.id)}" data-owner="${esc(s.owner)}"><rect x="${x}" y="${top}" width="${boxW}" height="${boxH}" rx="10"/>${rows.join("")}</g>${arrow}`;
  });
  const start = `<circle class="start" cx="${x0 - 22}" cy="${top + boxH / 2}" r="6"><title>consensus start</title></circle><path class="flow" d="M ${x0 - 16} ${top + boxH / 2} L ${x0 - 4} ${top + boxH / 2}" marker-end="url(#pd-arrow)"/>`;
  const terminal = `<g class="terminal" data-stage="promoted"><rect x="${terminalX}" y="${top + boxH / 2 - 18}" width="104" height="36" rx="18"/><text x="${terminalX + 52}" y="${top + boxH / 2 + 5}" text-anchor="middle">promoted</text></g>`;
  const escalated = `<g class="terminal escalated" data-stage="escalated"><rect x="${terminalX}" y="${base + 42}" width="104" height="36" rx="6"/><text x="${terminalX + 52}" y="${base + 65}" text-anchor="middle">escalated</text><title>${esc(`from any stage: the same veto twice, or an iteration above ${r.maxIterations}; a person decides with consensus override or consensus cancel`)}</title></g>
<path class="flow dashed" d="M ${terminalX - 30} ${base + 60} L ${terminalX - 4} ${base + 60}" marker-end="url(#pd-arrow)"/><text class="small-note" x="${terminalX - 34}" y="${base + 64}" text-anchor="end">any stage</text>`;
  return `<svg id="pipeline-diagram" class="diagram" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="pipeline: ${esc(r.stages.map((s) => s.id).join(" → "))} → promoted">
<defs>
<marker id="pd-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker>
<marker id="pd-arrow-veto" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c0392b"/></marker>
</defs>
${start}
${boxes.join("\n")}
${terminal}
${escalated}
${routeSvg.join("\n")}
</svg>`;
}

// ---------------------------------------------------------------- one epic

function epicSection(e: EpicReport): string {
  const open = e.openVetoes;
  return `<article class="epic ${esc(e.status)}" id="epic-${esc(e.id)}" data-epic-id="${esc(e.id)}" data-status="${esc(e.status)}">
<header class="epic-head">
  <h3><span class="id">${esc(e.id)}</span> <span class="title">${esc(e.title)}</span></h3>
  ${badge(e.status)}
</header>
<dl class="facts">
  <div><dt>Stage</dt><dd>${esc(e.stage)}</dd></div>
  <div><dt>Iteration</dt><dd>${esc(e.iteration)}</dd></div>
  ${e.ended ? `<div><dt>Took</dt><dd>${esc(formatDuration(e.elapsedMs))}</dd></div>` : `<div><dt>In stage</dt><dd>${esc(formatDuration(e.timeInStageMs))}</dd></div><div><dt>Age</dt><dd>${esc(formatDuration(e.elapsedMs))}</dd></div>`}
  <div><dt>Started</dt><dd><time datetime="${esc(e.startedAt)}">${esc(fmtTime(e.startedAt))}</time></dd></div>
  <div><dt>Vetoes</dt><dd>${esc(e.vetoes.length)}${open ? ` (${esc(open)} open)` : ""}</dd></div>
  ${e.spend || e.budget ? `<div><dt>Spend</dt><dd class="spend">${esc(formatSpend(e.spend, e.budget))}</dd></div>` : ""}
  <div class="wide"><dt>${e.status === "in_progress" || e.status === "escalated" ? "Waiting for" : "Outcome"}</dt><dd class="stuck">${esc(e.stuckBecause)}</dd></div>
</dl>
${timelineSvg(e)}
${timeSplit(e)}
${e.actors.length ? `<p class="actors">Who acted: ${e.actors.map((a) => `<span class="role">${esc(a.actor)}</span>&nbsp;×${esc(a.count)}`).join(" ")}</p>` : ""}
${vetoTable(e.vetoes)}
${eventTable(e)}
</article>`;
}

/** Where the time went, as a single stacked bar with the stage names under it. */
function timeSplit(e: EpicReport): string {
  const total = e.timeByStage.reduce((n, s) => n + s.ms, 0);
  if (total <= 0 || e.timeByStage.length < 2) return "";
  const parts = e.timeByStage.map((s) => `<span class="split-part" data-stage="${esc(s.stage)}" style="flex-grow:${Math.max(1, Math.round((s.ms / total) * 1000))}" title="${esc(`${s.stage}: ${formatDuration(s.ms)}`)}"></span>`);
  const names = e.timeByStage.map((s) => `<span class="split-name" data-stage="${esc(s.stage)}"><b>${esc(s.stage)}</b> ${esc(formatDuration(s.ms))} (${esc(Math.round((s.ms / total) * 100))}%)</span>`);
  return `<div class="time-split"><span class="split-label">Time by stage</span><div class="split-bar">${parts.join("")}</div><div class="split-names">${names.join(" ")}</div></div>`;
}

const LANE_H = 28;
const LABEL_W = 132;
const PLOT_W = 820;
const TL_TOP = 26;

export function timelineSvg(e: EpicReport): string {
  const stages = [...new Set([...e.spans.map((s) => s.stage), ...e.vetoes.map((v) => v.stage)])];
  const lanes = orderLanes(stages, e);
  const t0 = Date.parse(e.startedAt);
  const ends = e.spans.map((s) => Date.parse(s.start) + s.durationMs);
  const t1 = Math.max(t0 + 1, ...ends, ...e.events.map((x) => Date.parse(x.at)).filter(Number.isFinite));
  const x = (t: string | number) => LABEL_W + ((typeof t === "number" ? t : Date.parse(t)) - t0) / (t1 - t0) * PLOT_W;
  const laneY = (stage: string) => TL_TOP + Math.max(0, lanes.indexOf(stage)) * LANE_H;
  const height = TL_TOP + lanes.length * LANE_H + 30;
  const width = LABEL_W + PLOT_W + 40;
  const out: string[] = [];
  lanes.forEach((l, i) => {
    const y = TL_TOP + i * LANE_H;
    out.push(`<rect class="lane${i % 2 ? " odd" : ""}" x="0" y="${y}" width="${width}" height="${LANE_H}"/><text class="lane-label" x="10" y="${y + 18}">${esc(clip(l, 17))}</text>`);
  });
  // iteration boundaries, labelled in full where there is room
  const starts: Array<{ iteration: number; x: number }> = [];
  for (const s of e.spans) if (s.iteration > (starts.at(-1)?.iteration ?? 0)) starts.push({ iteration: s.iteration, x: x(s.start) });
  starts.forEach((b, i) => {
    const room = (starts[i + 1]?.x ?? LABEL_W + PLOT_W + 40) - b.x;
    const text = room > 76 ? `iteration ${b.iteration}` : `#${b.iteration}`;
    out.push(`<g class="iteration-mark" data-iteration="${esc(b.iteration)}"><line x1="${b.x}" y1="${TL_TOP - 6}" x2="${b.x}" y2="${TL_TOP + lanes.length * LANE_H}"/><text x="${b.x + 3}" y="${TL_TOP - 10}">${esc(text)}</text></g>`);
  });
  for (const s of e.spans) out.push(spanRect(s, x, laneY(s.stage)));
  for (const ev of e.events) {
    if (ev.kind === "artifact_accepted" || ev.kind === "artifact_rejected" || (ev.kind === "message_accepted" && ev.messageType === "approve")) {
      const cx = x(ev.at);
      const cy = laneY(ev.stage) + LANE_H / 2;
      const cls = ev.kind === "artifact_rejected" ? "rejected" : ev.kind === "artifact_accepted" ? "accepted" : "approved";
      const shape = ev.kind === "artifact_rejected" ? `<path d="M ${cx - 4} ${cy - 4} L ${cx + 4} ${cy + 4} M ${cx + 4} ${cy - 4} L ${cx - 4} ${cy + 4}"/>` : `<circle cx="${cx}" cy="${cy}" r="3.5"/>`;
      out.push(`<g class="event-mark ${cls}" data-kind="${esc(ev.kind)}">${shape}<title>${esc(`${fmtTime(ev.at)} ${ev.text}`)}</title></g>`);
    }
  }
  for (const v of e.vetoes) {
    const cx = x(v.at);
    const cy = laneY(v.stage) + LANE_H / 2;
    const state = v.state;
    out.push(`<g class="veto-marker ${state}" data-veto-from="${esc(v.from)}" data-veto-subject="${esc(v.subject)}" data-veto-state="${state}"><path d="M ${cx} ${cy - 8} L ${cx + 8} ${cy} L ${cx} ${cy + 8} L ${cx - 8} ${cy} z"/><title>${esc(`veto by ${v.from}: ${v.subject}${v.violation ? ` — ${v.violation}` : ""} (iteration ${v.iteration}, ${state})`)}</title></g>`);
  }
  for (const ev of e.events) {
    if (ev.kind !== "promoted" && ev.kind !== "escalated" && ev.kind !== "cancelled") continue;
    const cx = x(ev.at);
    const lane = ev.kind === "escalated" ? (lanes.includes("escalated") ? "escalated" : ev.stage) : (e.spans.at(-1)?.stage ?? ev.stage);
    const cy = laneY(lane) + LANE_H / 2;
    const mark = ev.kind === "promoted" ? `<path d="M ${cx} ${cy + 9} L ${cx} ${cy - 10} L ${cx + 12} ${cy - 5} L ${cx} ${cy}"/>` : ev.kind === "escalated" ? `<polygon points="${octagon(cx, cy, 8)}"/><text x="${cx}" y="${cy + 3.5}" text-anchor="middle">!</text>` : `<path d="M ${cx - 6} ${cy - 6} L ${cx + 6} ${cy + 6} M ${cx + 6} ${cy - 6} L ${cx - 6} ${cy + 6}"/>`;
    out.push(`<g class="end-mark ${ev.kind}" data-kind="${ev.kind}">${mark}<title>${esc(`${fmtTime(ev.at)} ${ev.text}`)}</title></g>`);
  }
  // the time axis
  const axisY = TL_TOP + lanes.length * LANE_H;
  out.push(`<line class="axis" x1="${LABEL_W}" y1="${axisY}" x2="${LABEL_W + PLOT_W}" y2="${axisY}"/>`);
  for (let k = 0; k <= 4; k++) {
    const t = t0 + ((t1 - t0) * k) / 4;
    const xt = LABEL_W + (PLOT_W * k) / 4;
    out.push(`<line class="tick" x1="${xt}" y1="${axisY}" x2="${xt}" y2="${axisY + 5}"/><text class="tick-label" x="${xt}" y="${axisY + 18}" text-anchor="${k === 0 ? "start" : k === 4 ? "end" : "middle"}">${esc(k === 0 ? fmtTime(e.startedAt) : `+${formatOffset(t - t0)}`)}</text>`);
  }
  return `<svg class="timeline" data-epic-id="${esc(e.id)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(`timeline of ${e.id}`)}">${out.join("\n")}</svg>`;
}

function spanRect(s: Span, x: (t: string | number) => number, y: number): string {
  const x1 = x(s.start);
  const x2 = x(Date.parse(s.start) + s.durationMs);
  const w = Math.max(4, x2 - x1);
  const cls = ["span", s.end ? "closed" : "open", s.stage === "escalated" ? "escalated" : "", s.exit ? `exit-${s.exit}` : ""].filter(Boolean).join(" ");
  const tip = `${s.stage}, iteration ${s.iteration}: ${formatDuration(s.durationMs)}${s.end ? "" : " so far"}${s.exit ? ` — ${s.exit}${s.exitReason ? ` (${s.exitReason})` : ""}` : ""}`;
  const esc8 = s.stage === "escalated";
  const text = esc8 ? `waiting for a person${w > 200 ? ` · ${formatDuration(s.durationMs)}` : ""}` : `#${s.iteration}${w > 110 ? ` · ${formatDuration(s.durationMs)}` : ""}`;
  const label = w > (esc8 ? 150 : 34) ? `<text class="span-label${esc8 ? " dark" : ""}" x="${x1 + (esc8 ? 14 : 6)}" y="${y + 18}">${esc(text)}</text>` : "";
  const fill = s.stage === "escalated" ? "" : ` fill="${iterationColour(s.iteration)}"`;
  return `<g class="span-group"><rect class="${cls}" data-stage="${esc(s.stage)}" data-iteration="${esc(s.iteration)}"${s.exit ? ` data-exit="${esc(s.exit)}"` : ""} x="${x1}" y="${y + 5}" width="${w}" height="${LANE_H - 10}" rx="4"${fill}><title>${esc(tip)}</title></rect>${label}</g>`;
}

/** Lanes in pipeline order as the spans first visit them, with the escalated lane last. */
function orderLanes(stages: string[], e: EpicReport): string[] {
  const firstSeen = new Map<string, number>();
  e.spans.forEach((s, i) => firstSeen.has(s.stage) || firstSeen.set(s.stage, i));
  return stages.filter((s) => s !== "escalated").sort((a, b) => (firstSeen.get(a) ?? 1e9) - (firstSeen.get(b) ?? 1e9)).concat(stages.includes("escalated") ? ["escalated"] : []);
}

function octagon(cx: number, cy: number, r: number): string {
  const pts: string[] = [];
  for (let k = 0; k < 8; k++) {
    const a = Math.PI / 8 + (k * Math.PI) / 4;
    pts.push(`${(cx + r * Math.cos(a)).toFixed(1)},${(cy + r * Math.sin(a)).toFixed(1)}`);
  }
  return pts.join(" ");
}

function vetoTable(vs: VetoItem[]): string {
  if (!vs.length) return "";
  const rows = vs.map((v) => {
    const state = v.state;
    return `<tr class="veto ${state}" data-veto-from="${esc(v.from)}" data-veto-subject="${esc(v.subject)}" data-veto-state="${state}">
<td>${esc(v.from)}</td><td><code>${esc(v.subject)}</code></td><td class="why">${esc(v.violation ?? "–")}</td><td class="num">${esc(v.iteration)}</td><td>${esc(v.stage)}</td>
<td><span class="veto-state ${state}">${state}</span>${v.resolved ? ` <span class="muted">by ${esc(v.resolvedBy)} ${v.resolvedAt ? esc(fmtTime(v.resolvedAt)) : ""}</span>` : ""}</td></tr>`;
  });
  return `<table class="grid vetoes"><caption>Vetoes</caption><thead><tr><th>From</th><th>Subject</th><th>Why</th><th>Iter</th><th>Stage</th><th>State</th></tr></thead><tbody>${rows.join("\n")}</tbody></table>`;
}

function eventTable(e: EpicReport): string {
  const t0 = Date.parse(e.startedAt);
  const rows = e.events.map((ev) => {
    const off = Date.parse(ev.at) - t0;
    return `<tr class="event ${esc(ev.kind)}" data-kind="${esc(ev.kind)}" data-decision="${esc(ev.decision)}"${ev.seq !== undefined ? ` data-seq="${esc(ev.seq)}"` : ""}>
<td class="muted"><time datetime="${esc(ev.at)}" title="${esc(ev.at)}">${esc(Number.isFinite(off) ? `+${formatOffset(off)}` : ev.at)}</time></td><td class="num">${esc(ev.iteration ?? "")}</td><td>${esc(ev.stage)}</td><td>${ev.actor ? `<span class="role">${esc(ev.actor)}</span>` : ""}${ev.proof === "unverified" ? ' <span class="muted" title="nothing proves who wrote it (PROTOCOL: Proofs and permissions)">unverified</span>' : ""}</td><td>${kindLabel(ev)}</td><td class="what">${esc(describe(ev))}</td></tr>`;
  });
  return `<details class="events"${!e.ended && e.events.length <= 40 ? " open" : ""}><summary>${esc(e.events.length)} decisions</summary>
<table class="grid events"><thead><tr><th>When</th><th>Iter</th><th>Stage</th><th>Who</th><th>What</th><th>Details</th></tr></thead><tbody>${rows.join("\n")}</tbody></table></details>`;
}

function kindLabel(ev: TimelineEvent): string {
  const label = ev.kind === "message_accepted" && ev.messageType ? `${ev.messageType} message` : ev.kind === "veto" ? "veto recorded" : ev.kind === "other" || ev.kind === "agent_line" ? ev.decision : ev.kind.replace(/_/g, " ");
  return `<span class="kind k-${esc(ev.kind)}${ev.messageType ? ` m-${esc(ev.messageType)}` : ""}">${esc(label)}</span>`;
}

function describe(ev: TimelineEvent): string {
  switch (ev.kind) {
    case "artifact_accepted":
      return `${ev.file ?? ""}${ev.spend ? ` (spent ${formatBudget(ev.spend)})` : ""}`;
    case "message_accepted":
      return `${ev.file ?? ""}${ev.subject ? ` — ${ev.subject}` : ""}`;
    case "veto":
      return `${ev.subject ?? ""}${ev.reason ? ` — ${ev.reason}` : ""}`;
    default:
      return ev.text.replace(/^\S+( #\d+)? /, "");
  }
}

function rulesSection(r: Rules): string {
  const withDeadline = r.stages.some((s) => s.deadlineMs !== undefined);
  const withNonOverridable = r.stages.some((s) => s.nonOverridable.length);
  const rows = r.stages.map(
    (s) => `<tr data-stage="${esc(s.id)}"><td class="num">${esc(s.index + 1)}</td><td><strong>${esc(s.id)}</strong></td><td><span class="role">${esc(s.owner)}</span></td><td>${s.artifacts.map((a) => `<code>${esc(a)}</code>`).join(" ")}</td>
<td>${s.vetoes.length ? s.vetoes.map((v) => `<span class="role">${esc(v.role)}</span>&nbsp;→&nbsp;${esc(v.to)}`).join("<br>") : "–"}</td>
<td>${s.approvers.length ? `${s.approvers.map((a) => `<span class="role">${esc(a)}</span>`).join(" ")} <span class="muted">(${esc(s.approval)})</span>` : "–"}</td>
${withDeadline ? `<td class="deadline">${s.deadlineMs !== undefined ? esc(formatDuration(s.deadlineMs)) : "–"}</td>` : ""}${withNonOverridable ? `<td class="never-overridden">${s.nonOverridable.length ? s.nonOverridable.map((x) => `<code>${esc(x)}</code>`).join(" ") : "–"}</td>` : ""}</tr>`,
  );
  return `<section id="rules">
<h2>Rules</h2>
<p>Roles: ${r.roles.map((x) => `<span class="role">${esc(x)}</span>`).join(" ")} · at most <strong id="max-iterations">${esc(r.maxIterations)}</strong> iterations per epic${r.budget ? ` · budget per epic <strong id="budget">${esc(formatBudget(r.budget))}</strong>` : ""}</p>
<table id="rules-table" class="grid">
<thead><tr><th>#</th><th>Stage</th><th>Owner</th><th>Artifacts</th><th>Who may veto → sent back to</th><th>Approvers (quorum)</th>${withDeadline ? "<th>Deadline</th>" : ""}${withNonOverridable ? "<th>Never overridden</th>" : ""}</tr></thead>
<tbody>${rows.join("\n")}</tbody>
</table>
${r.modes.length || r.agents.length ? `<dl class="config-extra">${r.modes.map((m) => `<div data-mode="${esc(m.name)}"><dt>mode ${esc(m.name)}</dt><dd>${esc(m.stages.join(" → "))}${m.description ? ` <span class="muted">${esc(m.description)}</span>` : ""}</dd></div>`).join("")}${r.agents.length ? `<div><dt>agents configured</dt><dd>${r.agents.map((a) => `<span class="role">${esc(a)}</span>`).join(" ")}</dd></div>` : ""}</dl>` : ""}
</section>`;
}

function legend(): string {
  const sw = (c: string) => `<svg width="22" height="12" aria-hidden="true"><rect width="22" height="12" rx="3" fill="${c}"/></svg>`;
  return `<p class="legend">${ITERATION_COLOURS.slice(0, 3).map((c, i) => `${sw(c)} iteration ${i + 1}`).join(" ")}
<svg width="16" height="16" aria-hidden="true"><path d="M8 0 L16 8 L8 16 L0 8z" fill="#c0392b"/></svg> veto (hollow: resolved or non-blocking)
<svg width="10" height="10" aria-hidden="true"><circle cx="5" cy="5" r="4" fill="#1f2937"/></svg> artifact accepted
<svg width="10" height="10" aria-hidden="true"><path d="M1 1 L9 9 M9 1 L1 9" stroke="#c0392b" stroke-width="2"/></svg> rejected
<svg width="14" height="16" aria-hidden="true"><path d="M2 16 L2 1 L13 5 L2 9" fill="#2e7d32" stroke="#2e7d32" stroke-width="2"/></svg> promoted
<svg width="16" height="16" aria-hidden="true"><polygon points="${octagon(8, 8, 7)}" fill="#e67e22"/></svg> escalated</p>`;
}

/** Offsets from an epic's start, finer than formatDuration under a minute so close events stay apart. */
function formatOffset(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return formatDuration(ms);
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** 2026-11-21 10:00:05Z */
function fmtTime(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  return new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}
