/** Reads and checks <root>/consensus.yaml; a missing or invalid config is a ConsensusError. */
import { readFile } from "node:fs/promises";
import { ConsensusError, issue } from "../errors/issue.js";
import { parseConfig, type Pipeline } from "./pipeline.js";

export async function readConfig(path: string): Promise<Pipeline> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new ConsensusError(issue("CONFIG_MISSING", { message: `no config at ${path}`, file: path }));
  }
  const { pipeline, issues } = parseConfig(text, path);
  if (!pipeline) throw new ConsensusError(issues);
  return pipeline;
}
