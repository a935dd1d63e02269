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
    if (g === "artifactOverBudget") return "artifacts cross the budget";
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
  if (event === "ESCALATE") return "daemon: stage removed or agent failing";
  if (event === "DEADLINE") return "deadline missed twice";
  if (event === "CANCEL") return "person: cancel";
  return event;
}

/** A pseudo-state standing for several stages: an edge they all have is drawn once, from it. */
export interface StageGroup {
  id: string;
  /** "any stage", or the stages named ("implementation, review or deployment"). */
  label: string;
  stages: string[];
}

/**
 * The edges to draw: an edge to `escalated` or `cancelled` that several stages have is drawn once,
 * from a group of those stages, with the labels of all such edges joined (four stages and six reasons
 * to escalate are a handful of edges, not twenty-four).
 */
export function groupedEdgesOf(machine: EpicMachine, pipeline: Pipeline): { edges: Edge[]; groups: StageGroup[] } {
  const edges = edgesOf(machine, pipeline);
  const stages = pipeline.stages.map((s) => s.id);
  const sources = new Map<string, string[]>();
  const terminal = (e: Edge) => (e.to === "escalated" || e.to === "cancelled") && stages.includes(e.from);
  for (const e of edges.filter(terminal)) {
    const k = `${e.to}\u0000${e.label}`;
    sources.set(k, [...(sources.get(k) ?? []), e.from]);
  }
  const groups = new Map<string, StageGroup>();
  const grouped = new Map<string, Edge>();
  const out: Edge[] = [];
  for (const e of edges) {
    const from = terminal(e) ? sources.get(`${e.to}\u0000${e.label}`)! : [e.from];
    if (from.length < 2) {
      out.push(e);
      continue;
    }
    const all = from.length === stages.length;
    const id = all ? "any_stage" : `stages_${from.join("_")}`;
    if (!groups.has(id)) groups.set(id, { id, label: all ? "any stage" : `${from.slice(0, -1).join(", ")} or ${from.at(-1)!}`, stages: from });
    const k = `${id}\u0000${e.to}`;
    const g = grouped.get(k);
    if (!g) {
      const edge = { from: id, to: e.to, label: e.label };
      grouped.set(k, edge);
      out.push(edge);
    } else if (!g.label.split("; ").includes(e.label)) g.label = `${g.label}; ${e.label}`;
  }
  return { edges: out, groups: [...groups.values()] };
}

export function toMermaid(machine: EpicMachine, pipeline: Pipeline): string {
  const lines = ["stateDiagram-v2", `  [*] --> ${pipeline.stages[0]!.id}: consensus start`];
  const { edges, groups } = groupedEdgesOf(machine, pipeline);
  for (const g of groups) lines.push(`  state "${g.label}" as ${g.id}`);
  for (const e of edges) lines.push(`  ${e.from} --> ${e.to}: ${e.label}`);
  lines.push("  promoted --> [*]", "  cancelled --> [*]");
  for (const s of pipeline.stages) lines.push(`  note right of ${s.id}: ${rulesOf(s, pipeline).join("; ")}`);
  return lines.join("\n");
}

export function toDot(machine: EpicMachine, pipeline: Pipeline): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ["digraph consensus {", "  rankdir=LR;", '  node [shape=box, style=rounded];', '  start [shape=point];', '  promoted [shape=doublecircle];', '  cancelled [shape=doublecircle];', '  escalated [shape=octagon];'];
  lines.push(`  start -> ${q(pipeline.stages[0]!.id)} [label="consensus start"];`);
  for (const s of pipeline.stages) lines.push(`  ${q(s.id)} [label=${q([s.id, ...rulesOf(s, pipeline)].join("\n"))}];`);
  const { edges, groups } = groupedEdgesOf(machine, pipeline);
  for (const g of groups) lines.push(`  ${q(g.id)} [label=${q(g.label)}, style=dashed];`);
  for (const e of edges) lines.push(`  ${q(e.from)} -> ${q(e.to)} [label=${q(e.label)}];`);
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
