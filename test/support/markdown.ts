/** Reading Markdown in tests. */
import { resolve } from "node:path";

/** Every relative link target in `text` (not URLs, not in-page anchors), resolved from `dir`. */
export function relativeLinks(text: string, dir: string): string[] {
  return [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/i.test(t)).map((t) => resolve(dir, t));
}
