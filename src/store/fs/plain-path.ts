/**
 * path.relative and path.join without their work where it changes nothing (issue 17): the store's
 * paths are absolute and in normal form already (built once by path.join), and the names joined to them
 * are plain (a role, an epic, a file name), yet path.join scans and copies the whole path again for
 * every join and path.relative resolves both sides. These were the largest allocators of a drop (path
 * .join alone 17.5 KiB of ~210 KiB; bench/alloc-sites.mjs). Each function here gives exactly what
 * path's own would (a property test holds them to it) or falls back to it.
 */
import { isAbsolute, join, sep } from "node:path";

/** A path with nothing path.normalize would change: no empty, "." or ".." component, no trailing separator. */
const NOT_NORMAL = /\/\/|(?:^|\/)\.\.?(?:\/|$)|\/$/;

/**
 * `path`'s part below `root` ("messages/inbox/developer") when both are absolute paths already in
 * normal form and `path` is strictly below `root` (the store builds its paths so); undefined for any
 * other pair, where path.relative is the answer. The same result as path.relative, without its two
 * path.resolve and the strings they make: it runs for every folder and file of every effect write, and
 * path.join/resolve were the largest allocators of a drop (17.5 KiB of ~210: issue 17).
 */
export function plainBelow(root: string, path: string): string | undefined {
  if (sep !== "/" || !isAbsolute(root) || path.length <= root.length + 1 || path.charCodeAt(root.length) !== 47 /* "/" */ || !path.startsWith(root)) return undefined;
  return NOT_NORMAL.test(path) ? undefined : path.slice(root.length + 1);
}

/** Whether `path` is absolute and in normal form (path.normalize would leave it as it is, trailing separator aside: it has none). */
export const isNormalAbsolute = (path: string): boolean => sep === "/" && isAbsolute(path) && !NOT_NORMAL.test(path);

/** `base` (an absolute path in normal form) and `rel` (components in normal form) joined: path.join's answer for such a pair. */
export const joinPlain = (base: string, rel: string): string => (base === sep ? base + rel : base + sep + rel);

/**
 * path.join(base, rel), taking the short way when `base` is absolute and in normal form and `rel` is a
 * plain relative path (no empty, "." or ".." component, no leading or trailing separator): then the two
 * joined by a separator is path.join's answer.
 */
export function joinFast(base: string, rel: string): string {
  if (rel.length > 0 && rel.charCodeAt(0) !== 47 && isNormalAbsolute(base) && !NOT_NORMAL.test(rel)) return joinPlain(base, rel);
  return join(base, rel);
}
