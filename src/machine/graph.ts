/**
 * The machine as a diagram, read from the xstate machine itself (not from the config), so the picture
 * is the behaviour. Pure.
 */
import type { Pipeline } from "../config/pipeline.js";
import type { EpicMachine } from "./epic-machine.js";

interface Edge {
  from: string;
  to: string;
  label: string;
}

export function edgesOf(machine: EpicMachine, pipeline: Pipeline): Edge[] {
  const edges: Edge[] = [];
  const states = machine.root.states as Record<string, { transitions: Map<string, Array<{ target?: Array<{ key: string }>; guard?: string | { type: string; params?: Record<string, unknown> } }>> }>;
  for (const [name, node] of Object.entries(states)) {
    for (const [event, ts] of node.transitions) {
      for (const t of ts) {
        const to = t.target?.[0]?.key;
        if (!to || (to === name && event !== "VETO")) continue;
        if (event === "APPROVE" && !pipeline.stage(name)?.approvers.length) continue;
        const label = labelFor(event, t.guard, name, pipeline);
        if (edges.some((e) => e.from === name && e.to === to && e.label === label)) continue;
        edges.push({ from: name, to, label });
      }
    }
  }
  return edges;
}

function labelFor(event: string, guard: string | { type: string; params?: Record<string, unknown> } | undefined, from: string, p: Pipeline): string {
  const g = typeof guard === "string" ? guard : guard?.type;
  const params = typeof guard === "object" ? guard.params : undefined;
  if (event === "ARTIFACT") {
    const s = p.stage(from);
    return `${s?.artifacts.join(" + ") ?? "artifacts"} valid${s && s.index === p.stages.length - 1 ? ", no blocking veto open" : ""}`;
  }
  if (event === "APPROVE") return "approval completes quorum";
  if (event === "VETO") {
    if (g === "vetoRepeats") return "same veto twice";
    if (g === "vetoExceedsMax") return `veto past max_iterations (${p.maxIterations})`;
    return `blocking veto by ${String(params?.role)} (iteration + 1)`;
  }
  if (event === "OVERRIDE") return "person: override";
  if (event === "CANCEL") return "person: cancel";
  return event;
}

export function toMermaid(machine: EpicMachine, pipeline: Pipeline): string {
  const lines = ["stateDiagram-v2", `  [*] --> ${pipeline.stages[0]!.id}: consensus start`];
  const cancels = new Set<string>();
  for (const e of edgesOf(machine, pipeline)) {
    if (e.to === "cancelled") {
      cancels.add(e.from);
      continue;
    }
    lines.push(`  ${e.from} --> ${e.to}: ${e.label}`);
  }
  for (const f of cancels) lines.push(`  ${f} --> cancelled: person: cancel`);
  lines.push("  promoted --> [*]", "  cancelled --> [*]");
  for (const s of pipeline.stages) lines.push(`  note right of ${s.id}: owner ${s.owner}${s.vetoes.length ? `; vetoes: ${s.vetoes.join(", ")}` : ""}`);
  return lines.join("\n");
}

export function toDot(machine: EpicMachine, pipeline: Pipeline): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ["digraph consensus {", "  rankdir=LR;", '  node [shape=box, style=rounded];', '  start [shape=point];', '  promoted [shape=doublecircle];', '  cancelled [shape=doublecircle];', '  escalated [shape=octagon];'];
  lines.push(`  start -> ${q(pipeline.stages[0]!.id)} [label="consensus start"];`);
  for (const s of pipeline.stages) lines.push(`  ${q(s.id)} [label=${q(`${s.id}\nowner: ${s.owner}`)}];`);
  for (const e of edgesOf(machine, pipeline)) lines.push(`  ${q(e.from)} -> ${q(e.to)} [label=${q(e.label)}];`);
  lines.push("}");
  return lines.join("\n");
}
