/**
 * Can each configured agent run? Its program must be found (on PATH, or at the path given, from the
 * agent's working folder) and its prompt file must exist: otherwise the daemon launches a command that
 * fails, or hands the agent a CONSENSUS_PROMPT that is not there. `validate`, `doctor` and `agents`
 * warn about both. probeAgents() looks (shell); agentIssues() says what it means (pure).
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import type { Pipeline } from "../config/pipeline.js";
import { issue, type Issue } from "../errors/issue.js";

export interface AgentFacts {
  name: string;
  /** argv[0] of `command`; undefined for `shell:` (a shell line is not looked into). */
  program?: string;
  /** Where the program was found; undefined when not found (or not looked for). */
  programAt?: string;
  /** The prompt as configured (relative to the folder holding consensus/) and whether that file exists. */
  prompt: string;
  promptExists: boolean;
}

/** Warnings for agents that cannot run as configured: AGENT_NOT_FOUND, AGENT_PROMPT_MISSING. Pure. */
export function agentIssues(facts: readonly AgentFacts[], configFile?: string): Issue[] {
  const out: Issue[] = [];
  for (const a of facts) {
    if (a.program !== undefined && a.programAt === undefined) {
      out.push(issue("AGENT_NOT_FOUND", { message: `agent "${a.name}": program ${a.program} is not on PATH`, path: `/agents/${a.name}/command/0`, found: a.program, ...(configFile ? { file: configFile } : {}), fix: `Install ${a.program} or put it on the daemon's PATH, or give its full path in agents.${a.name}.command (docs/agents.md has recipes).` }));
    }
    if (!a.promptExists) {
      out.push(issue("AGENT_PROMPT_MISSING", { message: `agent "${a.name}": its prompt ${a.prompt} does not exist (the daemon would hand it CONSENSUS_PROMPT=${a.prompt})`, path: `/agents/${a.name}/prompt`, found: a.prompt, ...(configFile ? { file: configFile } : {}), fix: `Run \`consensus init\` to write the role prompts next to consensus/, create ${a.prompt}, or set agents.${a.name}.prompt.` }));
    }
  }
  return out;
}

/** Looks for each configured agent's program and prompt, as the runner would launch it from `project` (the folder holding consensus/). */
export function probeAgents(pipeline: Pipeline, project: string, env: NodeJS.ProcessEnv = process.env): AgentFacts[] {
  return [...pipeline.agents.values()].map((a) => {
    const cwd = resolve(project, a.cwd);
    // a program named through ${CONSENSUS_…} is only known at launch
    const program = a.command?.[0]?.includes("${") ? undefined : a.command?.[0];
    const promptAt = resolve(project, a.prompt);
    const programAt = program === undefined ? undefined : findProgram(program, cwd, a.env.PATH ?? env.PATH ?? "");
    return { name: a.name, ...(program !== undefined ? { program } : {}), ...(programAt ? { programAt } : {}), prompt: a.prompt, promptExists: isFile(promptAt) };
  });
}

/** Where `program` resolves as spawn() would find it: a path (with a slash) from `cwd`, else the first executable file on PATH. */
export function findProgram(program: string, cwd: string, path: string): string | undefined {
  if (program.includes("/")) {
    const p = isAbsolute(program) ? program : join(cwd, program);
    return isExecutable(p) ? p : undefined;
  }
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(isAbsolute(dir) ? dir : resolve(cwd, dir), program);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isExecutable(p: string): boolean {
  if (!isFile(p)) return false;
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The folder holding consensus/ (agents' cwd and prompt paths are relative to it). */
export const projectOf = (root: string): string => dirname(resolve(root));
