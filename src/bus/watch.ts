/**
 * The watcher: chokidar on artifacts/, messages/inbox/ and the request folder, without
 * awaitWriteFinish (it costs 2 s a file; the settle rule does that job only for files that need it).
 * It reports relative paths; what they are is decided by classifyPath. Errors and overflows ask for a
 * reconcile scan, which closes any gap the watcher left.
 */
import { mkdirSync } from "node:fs";
import { relative, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import { isIgnoredName } from "../config/names.js";
import type { Layout } from "../store/layout.js";

export interface WatchHandlers {
  onPath(rel: string): void;
  onRescanNeeded(reason: string): void;
}

export async function watchBus(layout: Layout, h: WatchHandlers, opts: { poll?: boolean } = {}): Promise<FSWatcher> {
  for (const d of [layout.artifacts, layout.inbox, layout.requests]) mkdirSync(d, { recursive: true });
  const toRel = (p: string): string => relative(layout.root, p).split(sep).join("/");
  const w = watch([layout.artifacts, layout.inbox, layout.requests], {
    ignoreInitial: true,
    persistent: true,
    depth: 2,
    followSymlinks: false,
    usePolling: opts.poll ?? false,
    interval: 200,
    ignored: (p: string) => {
      const name = p.slice(p.lastIndexOf(sep) + 1);
      return isIgnoredName(name) && !p.endsWith(`${sep}.consensus`) && !p.includes(`${sep}.consensus${sep}requests`);
    },
  });
  w.on("add", (p) => h.onPath(toRel(p)));
  w.on("change", (p) => h.onPath(toRel(p)));
  // A folder moved in whole: chokidar reports its files as adds; the scan makes sure of it.
  w.on("addDir", (p) => {
    if (p !== layout.artifacts && p !== layout.inbox) h.onRescanNeeded(`folder appeared: ${toRel(p)}`);
  });
  w.on("error", (err) => h.onRescanNeeded(`watcher error: ${(err as Error).message}`));
  await new Promise<void>((resolve) => w.once("ready", () => resolve()));
  return w;
}
