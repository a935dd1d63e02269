/**
 * `consensus agents [--format text|json]`: the agents/*.md definitions next to the root (name, role,
 * model, triggers) and whether the rules in force (consensus.yaml, or a database store's rules) give
 * each a command. Exit 0, or 1 when a definition's
 * front matter is invalid (the issues say what and where).
 */
import { agentIssues, probeAgents, projectOf } from "../../agents/readiness.js";
import { agentsDirOf, readAgentDefinitions } from "../../agents/read-definitions.js";
import type { Pipeline } from "../../config/pipeline.js";
import { layoutOf } from "../../store/fs/layout.js";
import { rootOf, type GlobalOptions } from "../context.js";
import { formatTable, printable } from "../../report/plain-text.js";
import { formatIssuesText } from "../output.js";
import { pipelineOf } from "../read-store.js";

export interface AgentRow {
  key: string;
  file?: string;
  name?: string;
  role?: string;
  model?: string;
  description?: string;
  triggers: Array<{ on: string; stage?: string; from?: string }>;
  /** argv joined, the shell string, or undefined when agents.<key> is not configured. */
  command?: string;
  /** For a configured agent: its program is found and its prompt exists (the warnings say which is not). */
  ready?: boolean;
  valid: boolean;
}

export async function agentsCommand(g: GlobalOptions, o: { format: "text" | "json" }): Promise<number> {
  const root = rootOf(g);
  const defs = await readAgentDefinitions(root);
  let pipeline: Pipeline | undefined;
  try {
    pipeline = await pipelineOf(g);
  } catch {
    /* listed without commands; `consensus validate` explains the config */
  }
  const rows: AgentRow[] = defs.map((d) => ({
    key: d.key,
    file: d.file,
    ...(d.def ? { name: d.def.name, description: d.def.description } : {}),
    ...(d.def?.role ? { role: d.def.role } : {}),
    ...(d.def?.model ? { model: d.def.model } : {}),
    triggers: (d.def?.triggers ?? []).map((t) => ({ ...t })),
    ...commandOf(pipeline, d.key),
    valid: d.issues.length === 0,
  }));
  for (const key of pipeline?.agents.keys() ?? []) if (!rows.some((r) => r.key === key)) rows.push({ key, triggers: [], ...commandOf(pipeline, key), valid: true });
  // a configured agent that cannot run (program not found, prompt missing) is a warning, not a failure
  const warnings = pipeline ? agentIssues(probeAgents(pipeline, projectOf(root)), layoutOf(root).config) : [];
  for (const r of rows) if (r.command !== undefined) r.ready = !warnings.some((w) => w.path?.startsWith(`/agents/${r.key}/`));
  const issues = defs.flatMap((d) => d.issues);
  if (o.format === "json") process.stdout.write(`${JSON.stringify({ dir: agentsDirOf(root), agents: rows, issues: [...issues, ...warnings] }, null, 2)}\n`);
  else {
    if (!rows.length) process.stdout.write(`${printable(`no agent definitions in ${agentsDirOf(root)} and no agents: in consensus.yaml`)}\n`);
    else process.stdout.write(`${table(rows)}\n`);
    if (issues.length || warnings.length) process.stderr.write(`${formatIssuesText([...issues, ...warnings])}\n`);
  }
  return issues.length ? 1 : 0;
}

function commandOf(p: Pipeline | undefined, key: string): { command?: string } {
  const a = p?.agents.get(key);
  if (!a) return {};
  return { command: a.command ? a.command.join(" ") : `sh -c ${JSON.stringify(a.shell)}` };
}

function table(rows: AgentRow[]): string {
  const head = ["AGENT", "NAME", "ROLE", "MODEL", "TRIGGERS", "COMMAND"];
  const body = rows.map((r) => [
    r.key,
    r.valid ? (r.name ?? "-") : "(invalid)",
    r.role ?? "-",
    r.model ?? "-",
    r.triggers.length ? r.triggers.map((t) => [t.on, t.stage && `stage=${t.stage}`, t.from && `from=${t.from}`].filter(Boolean).join(" ")).join("; ") : "-",
    r.command === undefined ? "(not configured)" : `${r.command}${r.ready === false ? "  (cannot run: see below)" : ""}`,
  ]);
  return formatTable(head, body);
}
