/**
 * A file read only where it is named (review rv8): no symbolic link at its name or on the way to it, so
 * a folder swapped for a link (an inbox to .consensus/, an archive folder out of the root) is never read
 * through by whoever reads for someone else (an MCP session is served what the daemon's user can read).
 * On Linux the name is placed once (safe-dirs.ts atPlaceOf: an O_PATH descriptor, nothing opened,
 * whose place /proc/self/fd tells); that same file is then read, guarded (guarded-read.ts): no window
 * between the check and the read. Without /proc, the folder's realpath is compared first and the file opened
 * O_NOFOLLOW (a folder swapped between the two is the one window left there).
 */
import { fstatSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { readGuardedSyncStat, type GuardedOptions } from "./guarded-read.js";
import { atPlaceOf, procFdsKnown } from "./safe-dirs.js";

/**
 * Whether `rel` names a place under the root by its segments alone: relative, no '..', '.' or empty
 * segment (a caller's path with '..' would otherwise be placed, and read, wherever it climbs to: the
 * check below compares normalised paths). Checked here, where the path is used, whoever built it.
 */
export const plainRel = (rel: string): boolean => !rel.startsWith("/") && rel.split("/").every((p) => p !== "" && p !== "." && p !== "..");

/** Whether `relDir` under the root is where it is named (no link on the way). `realRoot`: realpath of the root. */
export function isNamedPlace(root: string, realRoot: string, relDir: string): boolean {
  if (!plainRel(relDir)) return false;
  try {
    return realpathSync.native(join(root, relDir)) === join(realRoot, relDir);
  } catch {
    return false;
  }
}

/** The bytes of `rel` under the root, read where it is named; undefined when absent, elsewhere, a link, or refused by the guards. */
export function readNamedSync(root: string, realRoot: string, rel: string, opts: GuardedOptions): Buffer | undefined {
  if (!plainRel(rel)) return undefined;
  const abs = join(root, rel);
  const want = join(realRoot, rel);
  try {
    if (procFdsKnown()) {
      // null: /proc could not tell (a place too long to name), the folder's realpath decides below
      const placed = atPlaceOf(abs, (real, pfd, reopen) => {
        if (real === undefined) return null;
        // a link at the name itself is placed where it lies: its own descriptor says what it is
        return real === want && !fstatSync(pfd).isSymbolicLink() ? readGuardedSyncStat(reopen, { ...opts, reopen: true }).bytes : undefined;
      });
      if (placed !== null) return placed;
    }
    if (!isNamedPlace(root, realRoot, dirname(rel))) return undefined;
    return readGuardedSyncStat(abs, opts).bytes;
  } catch {
    return undefined;
  }
}
