/**
 * The machine as a diagram, read from the xstate machine itself (not from the config), so the picture
 * is the behaviour. Pure.
 */
import { describeApprovals, type Pipeline } from "../config/resolve.js";
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
  if (event === "APPROVE") {
    const s = p.stage(from);
    return `approvals reach ${s ? describeApprovals(s) : "the quorum"}`;
  }
  if (event === "VETO") {
    if (g === "vetoRepeats") return "same veto twice";
    if (g === "vetoCircular") return "two roles vetoing in turn (A, B, A)";
    if (g === "lateVetoTo") return "second blocking veto of the closed iteration routes earlier (earliest stage wins)";
    if (g === "vetoExceedsMax") return `veto past max_iterations (${p.maxIterations})`;
    return `blocking veto by ${String(params?.role)} (iteration + 1)`;
  }
  if (event === "OVERRIDE") return "person: override";
  if (event === "ESCALATE") return "daemon: escalate (stage removed, agent failing, deadline, budget)";
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
  for (const s of pipeline.stages) lines.push(`  note right of ${s.id}: ${rulesOf(s, pipeline).join("; ")}`);
  return lines.join("\n");
}

export function toDot(machine: EpicMachine, pipeline: Pipeline): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ["digraph consensus {", "  rankdir=LR;", '  node [shape=box, style=rounded];', '  start [shape=point];', '  promoted [shape=doublecircle];', '  cancelled [shape=doublecircle];', '  escalated [shape=octagon];'];
  lines.push(`  start -> ${q(pipeline.stages[0]!.id)} [label="consensus start"];`);
  for (const s of pipeline.stages) lines.push(`  ${q(s.id)} [label=${q([s.id, ...rulesOf(s, pipeline)].join("\n"))}];`);
  for (const e of edgesOf(machine, pipeline)) lines.push(`  ${q(e.from)} -> ${q(e.to)} [label=${q(e.label)}];`);
  lines.push("}");
  return lines.join("\n");
}

/** The configured rules of one stage, one short phrase each (graph notes, report). */
export function rulesOf(s: Pipeline["stages"][number], p: Pipeline): string[] {
  const out = [`owner ${s.owner}`, `needs ${s.artifacts.join(", ")}`];
  if (s.approvers.length) out.push(`approvals: ${describeApprovals(s)}`);
  if (s.vetoes.length) out.push(`vetoes: ${s.vetoes.map((r) => `${r} → ${p.vetoRoute(r, s.id)}`).join(", ")}`);
  if (s.nonOverridable.length) out.push(`never overridden: ${s.nonOverridable.join(", ")}`);
  return out;
}
