/**
 * Changing state from a command on a PostgreSQL store: the command (or the message file a person's
 * approve/veto makes) becomes an input row. If a daemon is alive on the store, it decides the row and
 * we wait for its verdict; if none is, the command decides its own row in-process with the same
 * engine, fenced against any daemon that starts meanwhile (a row is claimed by one process only).
 */
import { Engine } from "../engine/engine.js";
import { quietLogger } from "../engine/quiet-logger.js";
import { decideRows } from "../daemon/decide-rows.js";
import { ConsensusError, issue } from "../errors/issue.js";
import type { CommandInput } from "../machine/decide.js";
import { layoutOf } from "../store/fs/layout.js";
import { PgInputs, type RowResult } from "../store/pg/inputs.js";
import { PgStore } from "../store/pg/pg-store.js";
import { rulesInForce } from "../store/pg/rules.js";
import type { CommandResult } from "./writer.js";

export type RowToAdd = { command: CommandInput } | { file: { path: string; bytes: Uint8Array; mtimeMs: number } };

export async function submitRow(url: string, root: string, row: RowToAdd, who: string, timeoutMs = 30_000): Promise<CommandResult> {
  const store = await PgStore.open(url, { migrations: "check" });
  try {
    const inputs = new PgInputs(store);
    const id = "command" in row ? await inputs.addCommand(row.command, who) : await inputs.addFile(row.file.path, row.file.bytes, row.file.mtimeMs, who);
    if (id === undefined) return { ok: true, entries: [], via: "daemon" };
    const daemons = (await store.writers()).filter((w) => w.kind === "daemon" && w.alive);
    if (!daemons.length) {
      const r = await decideHere(store, inputs, id, root, who);
      if (r) return withVia(r, "direct");
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await inputs.result(id);
      if (r?.done) return withVia(r.result ?? { ok: true, entries: [] }, "daemon");
      if (Date.now() > deadline) throw new ConsensusError(issue("LOCK_HELD", { message: `no daemon on ${store.description} decided the command within ${timeoutMs / 1000}s`, fix: "Check the daemons' logs (`consensus doctor --store URL` lists them); the command stays queued and is applied when one catches up." }));
      await new Promise((res) => setTimeout(res, 25));
    }
  } finally {
    await store.close();
  }
}

function withVia(r: RowResult, via: "daemon" | "direct"): CommandResult {
  return r.ok ? { ok: true, entries: r.entries, via } : { ok: false, issues: r.issues, via };
}

/** Deferrals a command tries to write before leaving its row to the daemons that keep committing. */
const DEFER_ATTEMPTS = 5;

/** Decides the row here (no daemon alive), as a rows daemon would (decideRows); undefined if a daemon claimed it first (or keeps moving the view its deferral is decided on). */
async function decideHere(store: PgStore, inputs: PgInputs, id: number, root: string, who: string): Promise<RowResult | undefined> {
  const lease = await store.lease("command", `decide input ${id}`);
  try {
    const { pipeline } = await rulesInForce(store, layoutOf(root).config, who);
    const engine = await Engine.open(pipeline, store, quietLogger);
    const [row] = await inputs.claim(store.writerId!, 1, [id]);
    if (!row) return undefined;
    // a deferral decided on a view another writer's commit made stale is not written: decided again
    for (let attempt = 1; attempt <= DEFER_ATTEMPTS; attempt++) {
      if (attempt > 1) await engine.catchUp();
      // a person's own file is taken as it is: no settle wait
      const d = await decideRows(engine, inputs, [row], undefined, Date.now() + pipeline.settleMs);
      if (engine.dirty) await engine.checkpoint();
      if (d.done.length) return d.done[0]!.result;
      if (d.deferred.length) return { ok: true, entries: [] };
      // left claimed to settle (its settle time is past by then: never expected): the daemons' to decide
      if (!d.again) return undefined;
    }
    // other writers keep committing: the row is theirs to decide once this command's lease is released
    return undefined;
  } finally {
    await lease.release();
  }
}
