/** The report page's inline style and its one small script (no external URL, nothing to fetch). */
/** The filter box: the page reads fine without it. */
export const SCRIPT = `(function(){var q=document.getElementById("filter"),st=document.getElementById("status-filter");if(!q||!st)return;
function apply(){var t=q.value.trim().toLowerCase(),s=st.value;document.querySelectorAll("[data-epic-id]").forEach(function(el){if(el.tagName==="svg")return;var ok=(!s||el.getAttribute("data-status")===s)&&(!t||el.textContent.toLowerCase().indexOf(t)>=0);el.hidden=!ok;});}
q.addEventListener("input",apply);st.addEventListener("change",apply);})();`;

export const CSS = `
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f7f7f5;--card:#fff;--blue:#2563eb;--green:#2e7d32;--red:#c0392b;--orange:#e67e22;--grey:#6b7280}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header.top{padding:20px 32px 12px;background:#111827;color:#f9fafb}
header.top h1{margin:0 0 4px;font-size:22px;letter-spacing:.2px}
header.top .meta{margin:0 0 10px;color:#cbd5e1}
header.top code{color:#e5e7eb;background:#1f2937}
main{padding:8px 32px 32px;max-width:1280px}
h2{font-size:17px;margin:26px 0 10px}
section{margin-bottom:8px}
.section-head{display:flex;align-items:baseline;gap:24px;flex-wrap:wrap}
.filter{display:flex;gap:14px;color:var(--muted)}
.filter input,.filter select{font:inherit;padding:3px 8px;border:1px solid #cbd5e1;border-radius:6px;background:#fff}
table.grid{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden}
table.grid th,table.grid td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
table.grid th{background:#f3f4f6;font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.4px;color:#4b5563}
table.grid tr:last-child td{border-bottom:0}
table.grid caption{text-align:left;font-weight:600;padding:0 0 6px}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.id a{font-weight:600;color:var(--blue);text-decoration:none;white-space:nowrap}
td.title{max-width:260px;overflow-wrap:anywhere}
td.waiting .why{color:#374151}
.open-vetoes{color:var(--red);font-weight:600}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap;border:1px solid transparent}
.badge.in_progress{background:#dbeafe;color:#1e40af;border-color:#bfdbfe}
.badge.escalated{background:#ffedd5;color:#9a3412;border-color:#fed7aa}
.badge.promoted{background:#dcfce7;color:#166534;border-color:#bbf7d0}
.badge.cancelled{background:#f3f4f6;color:#4b5563;border-color:#e5e7eb}
.counts .badge{margin-right:4px}
.role{display:inline-block;padding:0 6px;border-radius:4px;background:#eef2ff;color:#3730a3;font-size:12px;font-weight:600}
.muted{color:var(--muted)}
.warn{color:#fbbf24}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f4f6;padding:0 4px;border-radius:3px;overflow-wrap:anywhere}
svg.diagram{display:block;max-width:100%;height:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
.stage-box rect{fill:#fff;stroke:#94a3b8;stroke-width:1.5}
.stage-box .box-title{font-weight:700;font-size:14px;fill:#111827}
.stage-box .box-line{font-size:12px;fill:#374151}
.stage-box .small{font-size:11px;fill:var(--muted)}
.stage-box .strong{font-weight:600;fill:#3730a3}
.terminal rect{fill:#dcfce7;stroke:var(--green);stroke-width:1.5}
.terminal text{font-weight:700;font-size:13px;fill:#166534}
.terminal.escalated rect{fill:#ffedd5;stroke:var(--orange)}
.terminal.escalated text{fill:#9a3412}
path.flow.dashed{stroke-dasharray:4 3}
text.small-note{font-size:11px;fill:var(--muted)}
circle.start{fill:#111827}
path.flow{stroke:#6b7280;stroke-width:1.5;fill:none}
path.veto-route{stroke:var(--red);stroke-width:1.5;fill:none;stroke-dasharray:5 3}
text.veto-label{font-size:11px;fill:var(--red);font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:4px}
.note{color:var(--muted);max-width:900px}
article.epic{background:var(--card);border:1px solid var(--line);border-left:5px solid #93c5fd;border-radius:8px;padding:14px 18px;margin:0 0 18px}
article.epic.escalated{border-left-color:var(--orange)}
article.epic.promoted{border-left-color:#4ade80}
article.epic.cancelled{border-left-color:#9ca3af}
.epic-head{display:flex;align-items:center;gap:12px}
.epic-head h3{margin:0;font-size:16px}
.epic-head .title{font-weight:500;overflow-wrap:anywhere}
dl.facts{display:flex;flex-wrap:wrap;gap:6px 26px;margin:10px 0 6px}
dl.facts div{min-width:70px}
dl.facts .wide{flex-basis:100%}
dl.facts dt{font-size:11px;text-transform:uppercase;letter-spacing:.4px;color:var(--muted)}
dl.facts dd{margin:0;font-weight:600}
dd.stuck{font-weight:500}
article.escalated dd.stuck{color:#9a3412;font-weight:600}
svg.timeline{display:block;width:100%;max-width:1200px;height:auto;margin:8px 0}
svg.timeline .lane{fill:#fafafa}
svg.timeline .lane.odd{fill:#f3f4f6}
svg.timeline .lane-label{font-size:12px;fill:#374151;font-weight:600}
svg.timeline rect.span{stroke:rgba(0,0,0,.15)}
svg.timeline rect.span.open{stroke:#111827;stroke-width:1.5;stroke-dasharray:4 2}
svg.timeline rect.span.escalated{fill:#fed7aa}
svg.timeline .span-label{font-size:11px;fill:#fff;font-weight:600;pointer-events:none}
svg.timeline .span-label.dark{fill:#9a3412}
svg.timeline .iteration-mark line{stroke:#9ca3af;stroke-dasharray:3 3}
svg.timeline .iteration-mark text{font-size:11px;fill:var(--muted)}
svg.timeline .event-mark.accepted circle{fill:#1f2937;stroke:#fff;stroke-width:1}
svg.timeline .event-mark.approved circle{fill:var(--green);stroke:#fff;stroke-width:1}
svg.timeline .event-mark.rejected path{stroke:var(--red);stroke-width:2}
svg.timeline .veto-marker path{fill:var(--red);stroke:#fff;stroke-width:1.5}
svg.timeline .veto-marker.resolved path,svg.timeline .veto-marker.non-blocking path{fill:#fff;stroke:var(--red);stroke-width:2}
svg.timeline .end-mark.promoted path{fill:var(--green);stroke:var(--green);stroke-width:2}
svg.timeline .end-mark.escalated polygon{fill:var(--orange)}
svg.timeline .end-mark.escalated text{font-size:11px;font-weight:700;fill:#fff}
svg.timeline .end-mark.cancelled path{stroke:#4b5563;stroke-width:3}
svg.timeline .axis,svg.timeline .tick{stroke:#9ca3af}
svg.timeline .tick-label{font-size:11px;fill:var(--muted)}
.legend{color:var(--muted);display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center}
.legend svg{vertical-align:middle;margin-right:2px}
.actors{margin:4px 0 10px;color:var(--muted)}
.time-split{margin:2px 0 6px;color:var(--muted);font-size:13px}
.split-label{display:block;font-size:11px;text-transform:uppercase;letter-spacing:.4px}
.split-bar{display:flex;height:8px;border-radius:4px;overflow:hidden;max-width:600px;margin:3px 0}
.split-part{display:block;min-width:2px}
.split-part:nth-child(6n+1){background:#4e79a7}
.split-part:nth-child(6n+2){background:#f28e2b}
.split-part:nth-child(6n+3){background:#59a14f}
.split-part:nth-child(6n+4){background:#b07aa1}
.split-part:nth-child(6n+5){background:#76b7b2}
.split-part:nth-child(6n){background:#9c755f}
.split-part[data-stage="escalated"]{background:var(--orange)}
.split-names{display:flex;flex-wrap:wrap;gap:2px 14px}
.split-names b{color:#374151;font-weight:600}
.split-name::before{content:"";display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:4px;background:#4e79a7}
.split-name:nth-child(6n+2)::before{background:#f28e2b}
.split-name:nth-child(6n+3)::before{background:#59a14f}
.split-name:nth-child(6n+4)::before{background:#b07aa1}
.split-name:nth-child(6n+5)::before{background:#76b7b2}
.split-name:nth-child(6n)::before{background:#9c755f}
.split-name[data-stage="escalated"]::before{background:var(--orange)}
table.vetoes{margin:6px 0 10px}
.veto-state{font-weight:600;font-size:12px;padding:0 6px;border-radius:4px}
.veto-state.open{background:#fee2e2;color:#991b1b}
.veto-state.resolved{background:#dcfce7;color:#166534}
.veto-state.non-blocking{background:#f3f4f6;color:#4b5563}
td.why{max-width:420px;overflow-wrap:anywhere}
details.events summary{cursor:pointer;color:var(--muted);margin:6px 0}
table.events td{font-size:13px;padding:4px 10px}
table.events td.what{overflow-wrap:anywhere;max-width:560px}
.kind{font-size:12px;font-weight:600;color:#374151}
.kind.k-veto,.kind.m-veto,.kind.k-artifact_rejected,.kind.k-message_rejected{color:var(--red)}
.kind.k-promoted,.kind.k-approval,.kind.m-approve{color:var(--green)}
.kind.k-escalated{color:var(--orange)}
.kind.k-stage_advanced{color:var(--blue)}
.config-extra{display:flex;flex-wrap:wrap;gap:8px 24px}
.config-extra dt{font-weight:600}
.config-extra dd{margin:0}
footer{padding:0 32px 24px;color:var(--muted);font-size:12px}
[hidden]{display:none!important}
`;
