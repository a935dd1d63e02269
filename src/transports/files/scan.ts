/**
 * The reconcile scan: every candidate file under the root, oldest first, so files dropped while the
 * daemon was down (or missed by the watcher) are handled in the order they were written. Candidates
 * are the drop zones' files and the strays (files where the layout expects nothing, classify.ts);
 * the daemon takes at most STRAY_CAP new strays a scan, so a tree copied in by mistake is reported over
 * several scans, not at once. The daemon's own folders (current/, archive/, logs/, .consensus/ but
 * its requests) are not walked.
 */
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import fg from "fast-glob";
import { EPIC_ID } from "../../config/names.js";
import { classifyPath, type Classified } from "./classify.js";

export interface Candidate {
  rel: string;
  /** mtime and size: a file seen before with the same signature need not be read again. */
  sig: string;
  /** Its mtime (ms since the epoch; 0 when it could not be stat'ed). */
  mtimeMs: number;
  /** Where the layout expects nothing (reported, never acted on). */
  stray: boolean;
}

/** How many new stray files the daemon takes from one scan. */
export const STRAY_CAP = 200;
/** How deep the scan follows folders the layout does not have (consensus/consensus/artifacts/EP-001/plan.json is 5). */
const STRAY_DEPTH = 6;

/**
 * `patterns`: what to walk (fast-glob, relative to the root); by default the whole tree and the
 * requests. An agent's exit lists only the inboxes (`["messages/inbox/*\/*"]`).
 */
export async function scanCandidates(root: string, patterns?: string[]): Promise<Candidate[]> {
  // No `stats: true`: fast-glob's lstat of a name that is not UTF-8 (it arrives with U+FFFD) fails, and
  // with suppressErrors that dropped every candidate of the scan. The dirent's type comes from readdir;
  // the signature's lstat is ours, and a name that cannot be stat'ed stays a candidate (classify.ts
  // rejects it with the fix).
  const options = { cwd: root, onlyFiles: false, followSymbolicLinks: false, objectMode: true, suppressErrors: true } as const;
  const [drops, requests] = await Promise.all([
    // dot: false — dot-files and dot-folders are never candidates (the private area is read below)
    fg(patterns ?? ["**"], { ...options, dot: false, deep: STRAY_DEPTH, ignore: ["current/**", "archive/**", "logs/**"] }),
    patterns ? [] : fg([".consensus/requests/*.json"], { ...options, dot: true }),
  ]);
  // Symbolic links, FIFOs, devices and sockets are candidates too (not followed, never opened
  // blocking): the reader refuses them with an error a person can act on, instead of skipping them silently.
  // A folder is one only at a drop's name (artifacts/<EPIC>/plan.json, a flat artifacts/plan.json; not
  // an epic's folder artifacts/<EPIC>): it may hold that name (prepare.ts decides it unread).
  const picked = [...drops, ...requests]
    .map((e) => ({ e, c: classifyPath(e.path) }))
    .filter(({ e, c }) => c.kind !== "ignored" && (!e.dirent.isDirectory() || heldByFolder(c)))
    .map(({ e, c }) => ({ e, kind: c.kind }));
  const stats = await Promise.all(picked.map(({ e }) => lstat(join(root, e.path)).catch(() => undefined)));
  return picked
    .map((x, i) => ({ ...x, mtimeMs: stats[i]?.mtimeMs ?? 0, size: stats[i]?.size ?? 0 }))
    .sort((a, b) => a.mtimeMs - b.mtimeMs || a.e.path.localeCompare(b.e.path))
    .map(({ e, kind, mtimeMs, size }) => ({ rel: e.path, sig: `${mtimeMs}:${size}`, mtimeMs, stray: kind === "stray" }));
}

/** A folder at an artifact's drop name (not an epic's folder, whose flat name is an epic id). Pure. */
export const heldByFolder = (c: Classified): boolean => c.kind === "artifact" && (c.folder !== undefined || !EPIC_ID.test(c.name));
