/**
 * One small effect file (a notice, an archive copy) written where people and agents read it: its
 * folder walked from the root and what is missing made (safeMkdirSync: every component lstat'ed, a
 * link refused before anything is created through it), then the file written by temporary + rename
 * (writeAtomicSync: the open temporary checked to be inside the root before the rename). Never
 * fsync'd: the store's checkpoint syncs the file and the folders reported here before it claims the
 * effect. Run on the daemon's thread or on the effect writer's (effect-writer.ts): the same code, so
 * the same checks, wherever it runs.
 */
import { dirname } from "node:path";
import { writeAtomicSync } from "./atomic-write.js";
import { safeMkdirSync } from "./safe-dirs.js";

/** What a failed write leaves for the caller besides its error: the folders it made before failing. */
export class EffectFileError extends Error {
  constructor(
    cause: unknown,
    /** Folders whose entries changed before the failure (they must still be synced). */
    readonly changed: string[],
  ) {
    super((cause as Error)?.message ?? String(cause), { cause });
  }
}

/**
 * Writes `bytes` at `target` (absolute, below `root`), making its folder with `dirMode`. A folder
 * removed while it runs (an agent or a person cleaned an inbox) is made again and the write retried
 * once. Returns the folders whose entries changed (each made folder's parent). Throws EffectFileError
 * wrapping the cause (an errno error, or ConsensusError UNSAFE_PATH for a link or a non-folder on the
 * way) with the folders changed before it.
 */
export function writeEffectFileSync(root: string, target: string, bytes: Uint8Array, dirMode: number): string[] {
  const dir = dirname(target);
  const changed: string[] = [];
  try {
    changed.push(...safeMkdirSync(root, dir, dirMode));
    try {
      writeAtomicSync(target, bytes, { root });
    } catch (e) {
      if ((e as NodeJS.ErrnoException)?.code !== "ENOENT") throw e;
      changed.push(...safeMkdirSync(root, dir, dirMode));
      writeAtomicSync(target, bytes, { root });
    }
  } catch (e) {
    throw new EffectFileError(e, changed);
  }
  return changed;
}
