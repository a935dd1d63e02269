/**
 * agents/*.md: the prompt files, whose front matter (name, description, model, tools, role, triggers)
 * is checked against schemas/agent-definition.schema.json. Parsing is pure; readAgentDefinitions
 * reads the folder.
 */
import { issue, type Issue } from "../errors/issue.js";
import { parseDocument } from "../schemas/parse.js";
import { validateKind } from "../schemas/registry.js";
import type { AgentDefinition } from "../schemas/types.gen.js";
import type { AgentTrigger } from "../machine/effects.js";

export interface AgentDef {
  /** The file's base name (developer for agents/developer.md): the key of agents.<name> in consensus.yaml. */
  key: string;
  file: string;
  def?: AgentDefinition;
  issues: Issue[];
}

/** Splits `---\nyaml\n---\n` off the top of a Markdown file and validates it. */
export function parseAgentDefinition(key: string, file: string, text: string): AgentDef {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(text);
  if (!m) return { key, file, issues: [issue("AGENT_DEFINITION_INVALID", { file, message: "no front matter", expected: "the file to start with ---, YAML (name, description, role, triggers), ---", found: text.slice(0, 40), fix: "Add front matter as in agents/developer.md." })] };
  // the front matter starts on the file's second line
  const parsed = parseDocument(new TextEncoder().encode(m[1]!), "yaml");
  if (parsed.value === undefined) return { key, file, issues: parsed.issues.map((i) => ({ ...i, file, ...(i.line !== undefined ? { line: i.line + 1 } : {}) })) };
  const issues = validateKind("agent-definition", parsed.value).map((i) => ({ ...i, file }));
  return issues.length ? { key, file, issues } : { key, file, def: parsed.value as AgentDefinition, issues: [] };
}

/** Triggers of definitions whose agents.<key> has a command; the role defaults to the key. */
export function triggersOf(defs: AgentDef[], configured: (key: string) => boolean): AgentTrigger[] {
  const out: AgentTrigger[] = [];
  for (const d of defs) {
    if (!d.def || !configured(d.key)) continue;
    for (const t of d.def.triggers ?? []) out.push({ agent: d.key, role: d.def.role ?? d.key, on: t.on, ...(t.stage ? { stage: t.stage } : {}), ...(t.from ? { from: t.from } : {}) });
  }
  return out;
}
