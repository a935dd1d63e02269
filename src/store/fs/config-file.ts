/**
 * The one way anything reads a root's consensus.yaml: a file anyone who can write the root (an agent)
 * can replace, so it is read like every other agent-writable file (guarded-read.ts: no link followed,
 * a FIFO cannot block the open, at most CAP.config bytes). A refusal is a ConsensusError naming the
 * file, what was found and the fix; the file's content is never in it.
 */
import { parseConfig, type Pipeline } from "../../config/pipeline.js";
import { ConsensusError, issue, shellArg } from "../../errors/issue.js";
import { CAP, GuardedReadError, readGuardedText } from "./guarded-read.js";

/**
 * consensus.yaml's text (UTF-8). Throws ConsensusError: CONFIG_MISSING when there is no file at `path`;
 * CONFIG_INVALID when it is a symbolic link, not a regular file (a FIFO, a folder, a device), larger than
 * CAP.config bytes (1 MiB) or unreadable (EACCES …), each with its fix.
 */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readGuardedText(path, { maxBytes: CAP.config });
  } catch (e) {
    throw configReadError(path, e);
  }
}

/** readConfigText, parsed and checked: the pipeline, or a ConsensusError with the config's issues. */
export async function readConfigFile(path: string): Promise<Pipeline> {
  const text = await readConfigText(path);
  const { pipeline, issues } = parseConfig(text, path);
  if (!pipeline) throw new ConsensusError(issues);
  return pipeline;
}

/** The ConsensusError for a failed read of consensus.yaml at `path` (see readConfigText). */
export function configReadError(path: string, e: unknown): ConsensusError {
  if (e instanceof GuardedReadError) {
    return new ConsensusError(issue("CONFIG_INVALID", { message: e.kind === "too_large" ? e.message : `${path} is ${e.found}: not read (consensus.yaml must be a regular file; a link is never followed)`, file: path, found: e.found, expected: `a regular file of at most ${CAP.config} bytes`, fix: e.kind === "too_large" ? e.fix : `Remove it (\`rm ${shellArg(path)}\`) and put the real config back as a regular file (\`git checkout -- ${shellArg(path)}\`, or \`consensus init\` for the default), then check it: \`consensus validate ${shellArg(path)}\`.` }));
  }
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new ConsensusError(issue("CONFIG_MISSING", { message: `no consensus.yaml at ${path}`, file: path }));
  return new ConsensusError(issue("CONFIG_INVALID", { message: `${path} could not be read: ${code ?? (e as Error).message}`, file: path, found: code ?? "unreadable", expected: "a readable regular file", fix: `Make ${path} a regular file this user can read (\`ls -l ${shellArg(path)}\`), or restore it (\`git checkout -- ${shellArg(path)}\`).` }));
}
