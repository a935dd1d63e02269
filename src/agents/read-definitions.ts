/** Reads agents/*.md next to the consensus/ folder. */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Pipeline } from "../config/pipeline.js";
import type { Logger } from "../daemon/logger.js";
import type { AgentTrigger } from "../machine/effects.js";
import type { Layout } from "../store/fs/layout.js";
import { parseAgentDefinition, triggersOf, type AgentDef } from "./definitions.js";

export const agentsDirOf = (root: string): string => join(dirname(resolve(root)), "agents");

export async function readAgentDefinitions(root: string): Promise<AgentDef[]> {
  const dir = agentsDirOf(root);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".md")).sort();
  } catch {
    return [];
  }
  return Promise.all(names.map(async (n) => parseAgentDefinition(n.slice(0, -3), join(dir, n), await readFile(join(dir, n), "utf8"))));
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
