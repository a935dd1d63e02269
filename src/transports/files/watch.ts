/**
 * The watcher. Two ways, one interface:
 *
 * - native (default): one fs.watch (inotify) per folder — artifacts/, each artifacts/<EPIC>/, each
 *   inbox, the request folder. An event names the file, and the name says what happened, so an event
 *   costs no stat and no readdir. (Measured: chokidar re-reads a folder on each event — 12 ms per event
 *   with 1,000 files in it, quadratic in a flood — which is why it is not on this path.)
 * - polling (--poll, for network file systems where inotify sees nothing): chokidar, which is good at
 *   exactly that.
 *
 * Either way the watcher only reports relative paths; classifyPath decides what they are. An error, an
 * event without a name, or a folder that appears asks for a reconcile scan, which closes any gap.
 * The root and messages/ are watched too (two more watches, and one per messages/<role>/ folder an
 * agent made by mistake), so a file one folder off (consensus/plan.json, messages/developer/veto.yaml)
 * is reported as soon as it lands; deeper strays are found by the scan.
 */
import { watch as fsWatch, lstatSync, mkdirSync, readdirSync, statSync, type FSWatcher as NodeWatcher } from "node:fs";
import { basename, join, relative, sep } from "node:path";
import { watch as chokidarWatch } from "chokidar";
import { EPIC_ID, ROLE, isIgnoredName } from "../../config/names.js";
import type { Layout } from "../../store/fs/layout.js";
import { lstatQuiet } from "../../store/fs/safe-dirs.js";
import type { PathEvent } from "./arrivals.js";

export interface WatchHandlers {
  /** A path under the root was named by an event: `rename` (created, moved or linked in, removed), `change` (written or its attributes set), `found` (a poll saw it appear). */
  onPath(rel: string, ev: PathEvent): void;
  onRescanNeeded(reason: string): void;
}

export interface BusWatcher {
  /** Folders watched (inotify watches used), for doctor and metrics. */
  readonly folders: number;
  close(): Promise<void>;
}

export async function watchBus(layout: Layout, h: WatchHandlers, opts: { poll?: boolean } = {}): Promise<BusWatcher> {
  for (const d of [layout.artifacts, layout.inbox, layout.requests]) mkdirSync(d, { recursive: true });
  return opts.poll ? pollingWatch(layout, h) : nativeWatch(layout, h);
}

/** artifacts/ and inboxes hold folders to watch; the root and messages/ hold folders of the layout and strays; leaves hold files. */
type FolderKind = "artifacts" | "inbox" | "messages" | "top" | "leaf";

/** The root's own folders (the layout's, and the daemon's): never strays. */
const TOP_FOLDERS = new Set(["artifacts", "messages", "epics", "current", "archive", "logs"]);

/** The folders the native watcher holds one inotify watch each on, as they are now (doctor counts them). */
export function foldersToWatch(layout: Layout): Array<{ abs: string; kind: FolderKind }> {
  const subfolders = (abs: string): string[] => {
    try {
      return readdirSync(abs, { withFileTypes: true })
        .filter((d) => d.isDirectory() && !isIgnoredName(d.name))
        .map((d) => join(abs, d.name));
    } catch {
      return [];
    }
  };
  const messages = join(layout.root, "messages");
  return [
    { abs: layout.root, kind: "top" },
    { abs: layout.artifacts, kind: "artifacts" },
    ...subfolders(layout.artifacts).map((abs) => ({ abs, kind: "leaf" as const })),
    { abs: messages, kind: "messages" },
    ...subfolders(messages)
      .filter((abs) => abs !== layout.inbox && ROLE.test(abs.slice(messages.length + 1)))
      .map((abs) => ({ abs, kind: "leaf" as const })),
    { abs: layout.inbox, kind: "inbox" },
    ...subfolders(layout.inbox).map((abs) => ({ abs, kind: "leaf" as const })),
    { abs: layout.requests, kind: "leaf" },
  ];
}

function nativeWatch(layout: Layout, h: WatchHandlers): BusWatcher {
  // inotify watches an inode, not a name: remember which folder (inode) each watcher is on, so a
  // folder renamed away and another moved in under the same name is noticed.
  const watchers = new Map<string, NodeWatcher>();
  const inodes = new Map<string, number>();
  const rel = (abs: string): string => relative(layout.root, abs).split(sep).join("/");
  let closed = false;

  const unwatch = (abs: string): void => {
    watchers.get(abs)?.close();
    watchers.delete(abs);
    inodes.delete(abs);
  };

  const watchFolder = (abs: string, kind: FolderKind): void => {
    if (closed || watchers.has(abs)) return;
    let w: NodeWatcher;
    try {
      w = fsWatch(abs, { persistent: true });
    } catch (e) {
      // ENOSPC (inotify watch limit) or the folder vanished: the periodic scan still covers it.
      h.onRescanNeeded(`cannot watch ${rel(abs)}: ${(e as Error).message}`);
      return;
    }
    // an event names one entry of this folder: its path is the folder's, computed once, and the name
    // (path.relative per event was ~8 µs, a few events a drop; issue 17.2)
    const here = rel(abs);
    const relOf = (file: string): string => (here === "" ? file : `${here}/${file}`);
    const self = basename(abs);
    let selfIno = 0;
    w.on("change", (type, name) => {
      if (name === null || name === undefined) return h.onRescanNeeded(`event without a name in ${here}`);
      const ev: PathEvent = type === "change" ? "change" : "rename";
      const file = String(name);
      if (kind === "leaf") {
        // the folder itself removed, renamed away or swapped for a link: inotify names that event by the
        // folder's own name (artifacts/EP-1 → "EP-1"), which is no file in it (it was reported, and
        // rejected by name, as messages/inbox/devops/devops); a file that merely has the folder's name is
        // in a folder still there, the same one
        if (file === self) {
          const st = lstatQuiet(abs);
          if (!st?.isDirectory() || st.ino !== selfIno) {
            if (watchers.get(abs) === w) unwatch(abs);
            return h.onRescanNeeded(`folder went away: ${here}`);
          }
        }
        return h.onPath(relOf(file), ev);
      }
      if (kind === "artifacts" && !EPIC_ID.test(file)) return h.onPath(relOf(file), ev); // a flat drop: names with a dot are files
      const child = join(abs, file);
      // a name that may be a folder (an epic's, a role's inbox): appeared, or went away
      // lstat: a symbolic link is reported as a path (the reader refuses links out of the root), never
      // watched through.
      let isDir = false;
      let ino = 0;
      try {
        const st = lstatSync(child);
        if (st.isSymbolicLink()) {
          // a folder swapped for a link: its watch (on the folder that went) goes, nothing is watched through the link
          if (watchers.has(child)) unwatch(child);
          return h.onPath(relOf(file), ev);
        }
        isDir = st.isDirectory();
        ino = st.ino;
      } catch {
        isDir = false;
      }
      if (isDir && watchers.has(child) && inodes.get(child) !== ino) unwatch(child);
      if (kind === "top" || kind === "messages") {
        if (!isDir) {
          if (watchers.has(child)) unwatch(child);
          return h.onPath(relOf(file), ev);
        }
        if (isIgnoredName(file) || (kind === "top" && TOP_FOLDERS.has(file)) || child === layout.inbox) return;
        // a folder that is not part of the layout (messages/developer/, consensus/): what lands in it is a stray
        if (kind === "messages" && ROLE.test(file) && !watchers.has(child)) watchFolder(child, "leaf");
        return h.onRescanNeeded(`folder appeared: ${relOf(file)}`);
      }
      if (isDir) {
        if (!watchers.has(child) && !isIgnoredName(file)) {
          watchFolder(child, "leaf");
          h.onRescanNeeded(`folder appeared: ${relOf(file)}`);
        }
      } else if (watchers.has(child)) unwatch(child);
      else if (kind === "artifacts") h.onPath(relOf(file), ev);
    });
    w.on("error", (e) => {
      unwatch(abs);
      h.onRescanNeeded(`watcher error on ${rel(abs)}: ${e.message}`);
      setTimeout(() => watchFolder(abs, kind), 1000).unref();
    });
    watchers.set(abs, w);
    try {
      selfIno = statSync(abs).ino;
      inodes.set(abs, selfIno);
    } catch {
      /* gone already: the next event or scan sorts it out */
    }
  };

  for (const f of foldersToWatch(layout)) watchFolder(f.abs, f.kind);

  return {
    get folders() {
      return watchers.size;
    },
    close: async () => {
      closed = true;
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}

async function pollingWatch(layout: Layout, h: WatchHandlers): Promise<BusWatcher> {
  const toRel = (p: string): string => relative(layout.root, p).split(sep).join("/");
  const w = chokidarWatch([layout.artifacts, layout.inbox, layout.requests], {
    ignoreInitial: true,
    persistent: true,
    depth: 2,
    followSymlinks: false,
    usePolling: true,
    interval: 200,
    ignored: (p: string) => {
      const name = p.slice(p.lastIndexOf(sep) + 1);
      return isIgnoredName(name) && !p.endsWith(`${sep}.consensus`) && !p.includes(`${sep}.consensus${sep}requests`);
    },
  });
  // a poll cannot tell a rename from a write in place: a new file is `found` (settle.ts decides from its times)
  w.on("add", (p) => h.onPath(toRel(p), "found"));
  w.on("change", (p) => h.onPath(toRel(p), "change"));
  w.on("addDir", (p) => {
    if (p !== layout.artifacts && p !== layout.inbox) h.onRescanNeeded(`folder appeared: ${toRel(p)}`);
  });
  w.on("error", (err) => h.onRescanNeeded(`watcher error: ${(err as Error).message}`));
  await new Promise<void>((resolve) => w.once("ready", () => resolve()));
  return { folders: 0, close: () => w.close() };
}
