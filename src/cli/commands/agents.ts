/**
 * `consensus agents [--format text|json]`: the agents/*.md definitions next to the root (name, role,
 * model, triggers) and whether consensus.yaml gives each a command. Exit 0, or 1 when a definition's
 * front matter is invalid (the issues say what and where).
 */
import { agentsDirOf, readAgentDefinitions } from "../../agents/read-definitions.js";
import type { Pipeline } from "../../config/pipeline.js";
import { readConfig } from "../../config/read-config.js";
import { layoutOf } from "../../store/fs/layout.js";
import { rootOf, type GlobalOptions } from "../context.js";
import { formatIssuesText, formatTable } from "../output.js";

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
  valid: boolean;
}

export async function agentsCommand(g: GlobalOptions, o: { format: "text" | "json" }): Promise<number> {
  const root = rootOf(g);
  const defs = await readAgentDefinitions(root);
  let pipeline: Pipeline | undefined;
  try {
    pipeline = await readConfig(layoutOf(root).config);
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
  const issues = defs.flatMap((d) => d.issues);
  if (o.format === "json") process.stdout.write(`${JSON.stringify({ dir: agentsDirOf(root), agents: rows, issues }, null, 2)}\n`);
  else {
    if (!rows.length) process.stdout.write(`no agent definitions in ${agentsDirOf(root)} and no agents: in consensus.yaml\n`);
    else process.stdout.write(`${table(rows)}\n`);
    if (issues.length) process.stderr.write(`${formatIssuesText(issues)}\n`);
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
    r.command ?? "(not configured)",
  ]);
  return formatTable(head, body);
}
