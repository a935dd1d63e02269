/**
 * An input placed on the bus while no daemon holds the root is processed at once, in this process: take
 * the writer lease, open the engine, prepare the file as the daemon would, decide, commit. Two writers
 * never append at once: with a daemon running (or another command holding the lease for a moment) the
 * file is left for it. Used by the CLI's commands and by the MCP server.
 */
import { existsSync, realpathSync } from "node:fs";
import { appliedDraft, rulesForWriter } from "../store/fs/rules.js";
import { ConsensusError } from "../errors/issue.js";
import { Engine, type Outcome } from "../engine/engine.js";
import { quietLogger } from "../engine/quiet-logger.js";
import { FsStore, readHolder } from "../store/fs/fs-store.js";
import { layoutOf } from "../store/fs/layout.js";
import { prepare } from "./files/prepare.js";
import { releaseClaims } from "./placement.js";

/** daemon: a daemon holds the root and will decide; busy: a command holds the lease right now (try again); direct: decided here (outcome undefined: nothing to decide). */
export type ProcessNow = { via: "daemon" } | { via: "busy" } | { via: "direct"; outcome?: Outcome };

export async function daemonRunning(root: string): Promise<boolean> {
  const L = layoutOf(root);
  if (!existsSync(`${L.lock}.lock`)) return false;
  const h = await readHolder(L.holder);
  return h?.kind === "daemon";
}

/** Processes the file at `rel` (relative to the root) now, unless a daemon (or another command) holds the root. */
export async function processNow(root: string, rel: string): Promise<ProcessNow> {
  if (await daemonRunning(root)) return { via: "daemon" };
  const L = layoutOf(root);
  const store = new FsStore(L);
  let lease;
  try {
    lease = await store.lease("command", `process ${rel}`);
  } catch (e) {
    if (e instanceof ConsensusError && e.issues[0]?.code === "LOCK_HELD") return (await daemonRunning(root)) ? { via: "daemon" } : { via: "busy" };
    throw e;
  }
  try {
    // the rules in force; the first writer on a fresh root applies consensus.yaml once, logged
    const { pipeline, firstApply } = await rulesForWriter(L, new Date());
    const engine = await Engine.open(pipeline, store, quietLogger, { root: realpathSync(root) });
    if (firstApply) await engine.commitDrafts([appliedDraft(firstApply, { first_start: true, via: "process" })]);
    // now + settle: the file was written whole (placed atomically, or by a command), so it is settled.
    const p = await prepare(rel, { root, realRoot: realpathSync(root), pipeline, world: engine.world, now: Date.now() + pipeline.settleMs });
    const outcome = p.kind === "ready" ? (await engine.process([p.item]))[0] : undefined;
    if (p.kind === "ready" && outcome) await releaseClaims(root, [{ input: p.item.input, outcome }]);
    if (engine.dirty) await engine.checkpoint();
    return outcome ? { via: "direct", outcome } : { via: "direct" };
  } finally {
    await store.close();
    await lease.release();
  }
}
