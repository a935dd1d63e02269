/** Reads agents/*.md next to the consensus/ folder. */
import { readdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Pipeline } from "../config/pipeline.js";
import { issue, shellArg } from "../errors/issue.js";
import { CAP, GuardedReadError, readGuardedText } from "../store/fs/guarded-read.js";
import type { Logger } from "../daemon/logger.js";
import type { AgentTrigger } from "../machine/effects.js";
import type { Layout } from "../store/fs/layout.js";
import { parseAgentDefinition, triggersOf, type AgentDef } from "./definitions.js";

export const agentsDirOf = (root: string): string => join(dirname(resolve(root)), "agents");

/**
 * The largest prompt file read (agents/<role>.md, bytes): a prompt is a page of Markdown, and one
 * over this is refused, never loaded whole.
 */
export const PROMPT_CAP = CAP.config;

/**
 * A prompt file's text, read as every file an agent may write is read (store/fs/guarded-read.ts): the
 * folder beside consensus/ is the project's, which agents write, so agents/<role>.md may be a link to
 * a secret of the daemon's user, a FIFO (a plain read blocks one of the daemon's I/O threads for good)
 * or huge. Throws GuardedReadError (symlink, not_regular, too_large: its message and fix name the file)
 * or the error of the open (ENOENT …).
 */
export async function readPromptText(file: string): Promise<string> {
  return readGuardedText(file, { maxBytes: PROMPT_CAP });
}

/** agents/*.md: each parsed, or (a link, a FIFO, over PROMPT_CAP, unreadable) an AGENT_DEFINITION_INVALID issue naming the fix; none read through a link. */
export async function readAgentDefinitions(root: string): Promise<AgentDef[]> {
  const dir = agentsDirOf(root);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".md")).sort();
  } catch {
    return [];
  }
  return Promise.all(
    names.map(async (n) => {
      const file = join(dir, n);
      try {
        return parseAgentDefinition(n.slice(0, -3), file, await readPromptText(file));
      } catch (e) {
        const g = e instanceof GuardedReadError ? e : undefined;
        const found = g?.found ?? (e as NodeJS.ErrnoException).code ?? "unreadable";
        return { key: n.slice(0, -3), file, issues: [issue("AGENT_DEFINITION_INVALID", { file, message: g?.message ?? `${file} could not be read: ${found}`, found, expected: `a regular file of at most ${PROMPT_CAP} bytes`, fix: g?.fix ?? `Make ${file} a regular file the daemon's user can read (\`ls -l ${shellArg(file)}\`).` })] };
      }
    }),
  );
}

/** The triggers of the configured agents, for the daemon; undefined when no agent is configured (no runner then). */
export async function readAgentTriggers(layout: Layout, pipeline: Pipeline, log: Logger): Promise<AgentTrigger[] | undefined> {
  if (pipeline.agents.size === 0) return undefined;
  const defs = await readAgentDefinitions(layout.root);
  for (const d of defs) for (const i of d.issues) log.warn({ file: d.file, path: i.path, fix: i.fix }, `agent definition ignored: ${i.message}`);
  const triggers = triggersOf(defs, (k) => pipeline.agents.has(k));
  log.info({ agents: [...pipeline.agents.keys()], triggers: triggers.length }, "runner armed");
  return triggers;
}
