/**
 * The reconcile scan: every candidate file under the root, oldest first, so files dropped while the
 * daemon was down (or missed by the watcher) are handled in the order they were written. Candidates
 * are the drop zones' files and the strays (files where the layout expects nothing, classify.ts);
 * the daemon takes at most STRAY_CAP new strays a scan, so a tree copied in by mistake is reported over
 * several scans, not at once. The daemon's own folders (current/, archive/, logs/, .consensus/ but
 * its requests) are not walked.
 */
import fg from "fast-glob";
import { classifyPath } from "./classify.js";

export interface Candidate {
  rel: string;
  /** mtime and size: a file seen before with the same signature need not be read again. */
  sig: string;
  /** Where the layout expects nothing (reported, never acted on). */
  stray: boolean;
}

/** How many new stray files the daemon takes from one scan. */
export const STRAY_CAP = 200;
/** How deep the scan follows folders the layout does not have (consensus/consensus/artifacts/EP-001/plan.json is 5). */
const STRAY_DEPTH = 6;

export async function scanCandidates(root: string): Promise<Candidate[]> {
  const options = { cwd: root, onlyFiles: false, followSymbolicLinks: false, stats: true, suppressErrors: true } as const;
  const [drops, requests] = await Promise.all([
    // dot: false — dot-files and dot-folders are never candidates (the private area is read below)
    fg(["**"], { ...options, dot: false, deep: STRAY_DEPTH, ignore: ["current/**", "archive/**", "logs/**"] }),
    fg([".consensus/requests/*.json"], { ...options, dot: true }),
  ]);
  // Symbolic links are candidates too (not followed): the reader refuses those pointing out of the
  // root, with an error a person can act on, instead of the scan skipping them silently.
  return [...drops, ...requests]
    .filter((e) => e.dirent.isFile() || e.dirent.isSymbolicLink())
    .map((e) => ({ e, kind: classifyPath(e.path).kind }))
    .filter((x) => x.kind !== "ignored")
    .sort((a, b) => (a.e.stats?.mtimeMs ?? 0) - (b.e.stats?.mtimeMs ?? 0) || a.e.path.localeCompare(b.e.path))
    .map(({ e, kind }) => ({ rel: e.path, sig: `${e.stats?.mtimeMs ?? 0}:${e.stats?.size ?? 0}`, stray: kind === "stray" }));
}
