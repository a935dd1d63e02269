/**
 * A batch of claimed input rows → the engine's decisions, and each row's outcome recorded in the
 * inputs table: decided (done, with its result), deferred (not for now: an artifact for a later
 * stage), or left claimed to wait out its settle time, or to be decided again when the view its
 * deferral was decided on is no longer the store's (PgInputs.defer). Shared by the rows daemon's loop
 * and a command that decides its own row with no daemon alive (pg-writer.ts).
 */
import { join } from "node:path";
import type { Engine, Outcome } from "../engine/engine.js";
import type { Issue } from "../errors/issue.js";
import type { InputRow, PgInputs, RowResult } from "../store/pg/inputs.js";
import { prepareRow } from "../transports/rows/prepare-row.js";
import type { DaemonObserver } from "./observer.js";

export interface RowsDecided {
  /** Rows left claimed to settle: after how many ms each may be claimed again. */
  waits: number[];
  /** Rows left claimed because their deferral was decided on a stale view: claim and decide them again after catching up. */
  again: boolean;
  /** Rows decided and marked done, with what each came to (a command waits for its own). */
  done: Array<{ id: number; result: RowResult }>;
  /** Rows whose deferral was written (left until their stage comes). */
  deferred: number[];
}

export async function decideRows(engine: Engine, inputs: PgInputs, rows: InputRow[], obs?: Pick<DaemonObserver, "taken" | "decided">, now = Date.now()): Promise<RowsDecided> {
  obs?.taken(rows.map(rowName));
  const ready: Array<{ row: InputRow; p: Extract<ReturnType<typeof prepareRow>, { kind: "ready" }> }> = [];
  const done: Array<{ id: number; result: RowResult }> = [];
  const waits: number[] = [];
  let again = false;
  let deferred: number[] = [];
  for (const row of rows) {
    const p = prepareRow(row, { pipeline: engine.pipeline, world: engine.world, now });
    if (p.kind === "skip") done.push({ id: row.id, result: { ok: false, issues: [] } });
    else if (p.kind === "wait") waits.push(p.ms);
    else ready.push({ row, p });
  }
  if (ready.length) {
    const outcomes = await engine.process(ready.map((r) => r.p.item));
    obs?.decided(ready.map((r, i) => ({ rel: rowName(r.row), kind: r.p.item.input.type, outcome: outcomes[i]! })));
    let basis = Number.MAX_SAFE_INTEGER;
    ready.forEach((r, i) => {
      const o = outcomes[i]!;
      if (o.status === "deferred") {
        deferred.push(r.row.id);
        basis = Math.min(basis, o.seq);
      } else done.push({ id: r.row.id, result: resultOf(o) });
    });
    again = !(await inputs.defer(deferred, basis));
    if (again) deferred = [];
  }
  await inputs.finish(done);
  return { waits, again, done, deferred };
}

export const rowName = (r: InputRow): string => r.path ?? join(".consensus", "requests", r.key);

export function resultOf(o: Exclude<Outcome, { status: "deferred" }>): RowResult {
  if (o.status === "refused") return { ok: false, issues: o.decision.issues };
  if (o.status === "duplicate") return { ok: true, entries: [], duplicate: true };
  // a rejection's reasons ride along: a person's approve or veto prints them (commands/message.ts)
  return { ok: true, entries: o.entries.map((e) => ({ seq: e.seq, decision: e.decision, ...(e.epic_id ? { epic_id: e.epic_id } : {}), ...errorsOf(e.details) })) };
}

function errorsOf(details: unknown): { errors?: Issue[] } {
  const errors = (details as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) && errors.length ? { errors: errors as Issue[] } : {};
}
