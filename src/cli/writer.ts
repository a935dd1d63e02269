/**
 * Changing state from a command, whether or not the daemon runs, without ever racing it: if a daemon
 * holds the root, the command is handed to it as a request file and we wait for its answer; if not,
 * the command takes the writer lease itself and runs the same engine in-process. Two writers never
 * append to the log at once.
 */
import { randomUUID } from "node:crypto";
import { existsSync, realpathSync } from "node:fs";
import { mkdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { writeAtomic } from "../store/fs/atomic-write.js";
import { readConfig } from "../config/read-config.js";
import { ConsensusError, issue, type Issue } from "../errors/issue.js";
import { daemonRunning, processNow } from "../transports/process-now.js";
import { Engine } from "../engine/engine.js";
import { silentLogger } from "../daemon/logger.js";
import type { CommandInput } from "../machine/decide.js";
import { FsStore } from "../store/fs/fs-store.js";
import { layoutOf } from "../store/fs/layout.js";
import { whoAmI, type GlobalOptions } from "./context.js";
import { storeOf } from "./store-of.js";

export type CommandResult = { ok: true; entries: Array<{ seq: number; decision: string; epic_id?: string }>; via: "daemon" | "direct" } | { ok: false; issues: Issue[] };

/** A person's command on the store the command line names (a folder: applyCommand; a database: an input row). */
export async function applyCommandOn(g: GlobalOptions, cmd: CommandInput): Promise<CommandResult> {
  const t = storeOf(g);
  if (t.kind === "folder") return applyCommand(t.root, cmd);
  const { submitRow } = await import("./pg-writer.js");
  return submitRow(t.url, t.root, { command: cmd }, whoAmI());
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
    const [o] = await engine.process([{ input: { ...cmd, transport: "cli" }, key: `request:${id}` }]);
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
  return (await processNow(root, rel)).via === "direct" ? "processed" : "daemon";
}
