/** Reads and checks <root>/consensus.yaml; a missing or invalid config is a ConsensusError. */
import { readFile } from "node:fs/promises";
import { ConsensusError, issue } from "../errors/issue.js";
import { parseConfig, type Pipeline } from "./pipeline.js";

/**
 * `read` is how the file is read: the daemon passes its guarded read (a regular file, no link, no FIFO,
 * size cap: store/fs/guarded-read.ts), which the config room may not import. An error other than a
 * missing file is said as it is (a FIFO, a link, too large), with its fix.
 */
export async function readConfig(path: string, read: (path: string) => Promise<string> = (p) => readFile(p, "utf8")): Promise<Pipeline> {
  let text: string;
  try {
    text = await read(path);
  } catch (e) {
    const fix = (e as { fix?: unknown }).fix;
    if ((e as NodeJS.ErrnoException).code !== "ENOENT" && typeof fix === "string") throw new ConsensusError(issue("CONFIG_INVALID", { message: (e as Error).message, file: path, fix }));
    throw new ConsensusError(issue("CONFIG_MISSING", { message: `no config at ${path}`, file: path }));
  }
  const { pipeline, issues } = parseConfig(text, path);
  if (!pipeline) throw new ConsensusError(issues);
  return pipeline;
}
