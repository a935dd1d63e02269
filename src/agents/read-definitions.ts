/** Reads agents/*.md next to the consensus/ folder. */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseAgentDefinition, type AgentDef } from "./definitions.js";

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
