/**
 * The reconcile scan: every candidate file under the watched folders, oldest first, so files dropped
 * while the daemon was down (or missed by the watcher) are handled in the order they were written.
 */
import fg from "fast-glob";

export interface Candidate {
  rel: string;
  /** mtime and size: a file seen before with the same signature need not be read again. */
  sig: string;
}

export async function scanCandidates(root: string): Promise<Candidate[]> {
  const entries = await fg(["artifacts/*", "artifacts/*/*", "messages/inbox/*/*", ".consensus/requests/*.json"], {
    cwd: root,
    dot: true,
    onlyFiles: false,
    followSymbolicLinks: false,
    stats: true,
    suppressErrors: true,
    ignore: ["**/.*.tmp", "**/*.swp", "**/*~"],
  });
  // Symbolic links are candidates too (not followed): the reader refuses those pointing out of the
  // root, with an error a person can act on, instead of the scan skipping them silently.
  return entries
    .filter((e) => (e.dirent.isFile() || e.dirent.isSymbolicLink()) && !e.path.endsWith(".result.json"))
    .sort((a, b) => (a.stats?.mtimeMs ?? 0) - (b.stats?.mtimeMs ?? 0) || a.path.localeCompare(b.path))
    .map((e) => ({ rel: e.path, sig: `${e.stats?.mtimeMs ?? 0}:${e.stats?.size ?? 0}` }));
}
