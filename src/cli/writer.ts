/**
 * Changing state from a command, whether or not the daemon runs, without ever racing it: if a daemon
 * holds the root, the command is handed to it as a request file and we wait for its answer; if not,
 * the command takes the writer lease itself and runs the same engine in-process. Two writers never
 * append to the log at once.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { writeAtomic } from "../store/fs/atomic-write.js";
import { readConfig } from "../config/read-config.js";
import { ConsensusError, issue, type Issue } from "../errors/issue.js";
import { prepare } from "../transports/files/prepare.js";
import { Engine } from "../engine/engine.js";
import { silentLogger } from "../daemon/logger.js";
import type { CommandInput } from "../machine/decide.js";
import { FsStore, readHolder } from "../store/fs/fs-store.js";
import { layoutOf } from "../store/fs/layout.js";
import { realpathSync } from "node:fs";

export type CommandResult = { ok: true; entries: Array<{ seq: number; decision: string; epic_id?: string }>; via: "daemon" | "direct" } | { ok: false; issues: Issue[] };

async function daemonRunning(root: string): Promise<boolean> {
  const L = layoutOf(root);
  if (!existsSync(`${L.lock}.lock`)) return false;
  const h = await readHolder(L.holder);
  return h?.kind === "daemon";
}

export async function applyCommand(root: string, cmd: CommandInput, timeoutMs = 30_000): Promise<CommandResult> {
  const L = layoutOf(root);
  if (!existsSync(L.config)) throw new ConsensusError(issue("CONFIG_MISSING", { message: `no consensus.yaml in ${root}`, file: L.config }));
  const id = `${Date.now()}-${randomUUID()}`;
  if (!(await daemonRunning(root))) {
    try {
      return await direct(root, cmd, id);
    } catch (e) {
      if (!(e instanceof ConsensusError && e.issues[0]?.code === "LOCK_HELD" && (await daemonRunning(root)))) throw e;
    }
  }
  await mkdir(L.requests, { recursive: true });
  const req = join(L.requests, `${id}.json`);
  const res = join(L.requests, `${id}.result.json`);
  await writeAtomic(req, JSON.stringify(cmd));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = JSON.parse(await readFile(res, "utf8")) as { ok: boolean; issues?: Issue[]; entries?: [] };
      await Promise.all([unlink(req).catch(() => {}), unlink(res).catch(() => {})]);
      return r.ok ? { ok: true, entries: r.entries ?? [], via: "daemon" } : { ok: false, issues: r.issues ?? [] };
    } catch {
      /* not there yet */
    }
    if (Date.now() > deadline) {
      throw new ConsensusError(issue("LOCK_HELD", { message: `the daemon holding ${root} did not answer within ${timeoutMs / 1000}s`, file: req, fix: "Check the daemon's log; the request stays queued and is applied when the daemon catches up." }));
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function direct(root: string, cmd: CommandInput, id: string): Promise<CommandResult> {
  const L = layoutOf(root);
  const pipeline = await readConfig(L.config);
  const store = new FsStore(L);
  const lease = await store.lease("command", cmd.type);
  try {
    const engine = await Engine.open(pipeline, store, silentLogger(), { root: realpathSync(root) });
    const [o] = await engine.process([{ input: cmd, key: `request:${id}` }]);
    if (engine.dirty) await engine.checkpoint();
    if (o?.status === "refused") return { ok: false, issues: o.decision.issues };
    const entries = o?.status === "committed" ? o.entries.map((e) => ({ seq: e.seq, decision: e.decision, ...(e.epic_id ? { epic_id: e.epic_id } : {}) })) : [];
    return { ok: true, entries, via: "direct" };
  } finally {
    await store.close();
    await lease.release();
  }
}

/** After a command dropped a file: if no daemon runs, process that file now so the effect is immediate. */
export async function processNowIfNoDaemon(root: string, rel: string): Promise<"daemon" | "processed"> {
  if (await daemonRunning(root)) return "daemon";
  const L = layoutOf(root);
  const pipeline = await readConfig(L.config);
  const store = new FsStore(L);
  let lease;
  try {
    lease = await store.lease("command", `process ${rel}`);
  } catch (e) {
    if (e instanceof ConsensusError && e.issues[0]?.code === "LOCK_HELD") return "daemon";
    throw e;
  }
  try {
    const engine = await Engine.open(pipeline, store, silentLogger(), { root: realpathSync(root) });
    const p = await prepare(rel, { root, realRoot: realpathSync(root), pipeline, world: engine.world, now: Date.now() + pipeline.settleMs });
    if (p.kind === "ready") await engine.process([p.item]);
    if (engine.dirty) await engine.checkpoint();
    return "processed";
  } finally {
    await store.close();
    await lease.release();
  }
}
