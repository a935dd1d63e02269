/**
 * `consensus validate` with the bus in view: what the daemon would say of a file beyond its shape —
 * unknown or closed epic, wrong iteration or stage, folder and epic_id disagreeing, a veto the role may
 * not raise — by asking decide() of the state as it is now (read-only, no lock), as if the file were
 * dropped where it lies (a dot-temp counts as its final name, written now). A file outside the root,
 * or one the daemon already decided, gets no more than its shape checked.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, relative, sep } from "node:path";
import { readRules } from "../store/fs/rules.js";
import { issue, type Issue } from "../errors/issue.js";
import { decide, inputMarks, type ArtifactInput, type MessageInput } from "../machine/decide.js";
import { BatchWorld } from "../machine/world.js";
import { interpretArtifact, interpretMessage } from "../schemas/interpret.js";
import { FsStore } from "../store/fs/fs-store.js";
import { layoutOf } from "../store/fs/layout.js";
import { classifyPath } from "../transports/files/classify.js";
import type { View } from "../log/replay.js";
import type { Pipeline } from "../config/pipeline.js";

export interface BusView {
  pipeline: Pipeline;
  view: View;
}

/** The rules in force and the state, if `root` is a bus (else undefined: validate checks shapes only). */
export async function readBus(root: string): Promise<BusView | undefined> {
  const L = layoutOf(root);
  if (!existsSync(L.config) || (!existsSync(L.record) && !existsSync(L.log))) return undefined;
  try {
    const pipeline = await readRules(L);
    const store = new FsStore(L, { readOnly: true });
    try {
      return { pipeline, view: (await store.recover()).view };
    } finally {
      await store.close();
    }
  } catch {
    return undefined;
  }
}

/** The problems decide() would find with `bytes` dropped at `abs`, beyond its shape (those come from checkFile). */
export function busIssues(bus: BusView, root: string, abs: string, bytes: Uint8Array, mtime: string, now: string): Issue[] {
  const inside = relative(root, abs);
  // a draft outside the root is checked for its shape only: where it will be dropped is not known
  if (inside.startsWith("..") || inside.startsWith(sep)) return [];
  const name = basename(abs).replace(/^\./, "").replace(/\.tmp$/, "");
  const temp = name !== basename(abs);
  const rel = [...dirname(inside).split(sep).filter((p) => p && p !== "."), name].join("/");
  const world = new BatchWorld(bus.pipeline, bus.view);
  const c = classifyPath(rel);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  let input: ArtifactInput | MessageInput;
  if (c.kind === "message") {
    const m = interpretMessage(name, bytes, c.inbox);
    input = { type: "message", file: rel, inbox: c.inbox, sha256, issues: m.issues, ...(m.doc ? { doc: m.doc } : {}) };
  } else if (c.kind === "artifact") {
    const a = interpretArtifact(name, bytes);
    // a temporary is about to be dropped: it counts as written now
    input = { type: "artifact", file: rel, name, ...(c.folder ? { folder: c.folder } : {}), sha256, issues: a.issues, mtime: temp ? now : mtime, ...(a.doc !== undefined ? { doc: a.doc } : {}) };
  } else return c.kind === "stray" ? [issue("STRAY_FILE", { message: `${rel}: ${c.reason}`, ...(c.suggest ? { expected: c.suggest, fix: `Did you mean ${c.suggest}? Nothing reads it where it is.` } : {}), found: rel })] : [];
  // a file the daemon has already decided is not decided again: nothing more to say of it
  const marks = inputMarks(world, input);
  if (!temp && (world.processed(marks.key) || marks.also?.some((k) => world.processed(k)))) return [];
  // ... nor one whose bytes were accepted under this name (a checkout in CI: new mtimes, same content)
  if (!temp && c.kind === "artifact" && acceptedBefore(layoutOf(root).archive, name, c.folder, sha256)) return [];
  const d = decide(world, input, now);
  if (d.kind !== "commit") return [];
  const rejected = d.drafts.find((x) => x.decision === "artifact_rejected" || x.decision === "message_rejected");
  const errors = (rejected?.details.errors ?? []) as Issue[];
  return errors.map((i) => ({ ...i, severity: "error" as const }));
}

/** Whether archive/<epic>/<iteration>/<name> holds these bytes (for the epic of the folder, or any epic). */
function acceptedBefore(archive: string, name: string, folder: string | undefined, sha256: string): boolean {
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  for (const epic of folder !== undefined ? [folder] : list(archive)) {
    for (const it of list(`${archive}/${epic}`)) {
      const p = `${archive}/${epic}/${it}/${name}`;
      if (!existsSync(p)) continue;
      try {
        if (createHash("sha256").update(readFileSync(p)).digest("hex") === sha256) return true;
      } catch {
        /* unreadable: not proof of anything */
      }
    }
  }
  return false;
}
