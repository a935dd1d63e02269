/**
 * The inputs table: what reaches a PostgreSQL deployment as rows — files a bridge mirrored from a
 * host's folder, person commands from the CLI — waiting for a daemon. A daemon claims a batch with
 * FOR UPDATE SKIP LOCKED (two daemons never take the same row; a dead daemon's claims are taken
 * over once its heartbeat is stale), decides it, and records the outcome. The processed mark in the
 * log, not the row, is what makes an input count once: a row decided but not yet marked done (the
 * daemon died in between) is claimed again and found a duplicate.
 */
import { createHash, randomUUID } from "node:crypto";
import type { CommandInput } from "../../machine/decide.js";
import type { Issue } from "../../errors/issue.js";
import type { Sql } from "./connect.js";
import { CHANNEL_INPUTS } from "./pg-store.js";

export interface InputRow {
  id: number;
  key: string;
  kind: "file" | "command";
  path?: string;
  bytes?: Uint8Array;
  mtimeMs?: number;
  /** What kept the sender from reading the file (its bytes are then absent). */
  problem?: Issue;
  command?: CommandInput;
  source: string;
}

/** What a person's command (or a bridged file) came to: the CLI prints it. */
export type RowResult =
  | { ok: true; entries: Array<{ seq: number; decision: string; epic_id?: string; errors?: Issue[] }>; duplicate?: boolean }
  | { ok: false; issues: Issue[] };

export class PgInputs {
  /** `db.sql` is read at each call: a store replaces its client after a driver fault (pg-store.ts). */
  constructor(private readonly db: { readonly sql: Sql }) {}

  private get sql(): Sql {
    return this.db.sql;
  }

  /**
   * A file as a bridge read it whole: once per path and content (a second add is a no-op). A file it
   * could not read whole comes with the problem instead of bytes. Returns the row id, or undefined if it was there.
   */
  async addFile(path: string, bytes: Uint8Array | undefined, mtimeMs: number, source: string, problem?: Issue): Promise<number | undefined> {
    const sha = bytes ? createHash("sha256").update(bytes).digest("hex") : `problem:${problem?.code ?? "unknown"}:${problem?.found ?? ""}`;
    const [r] = await this.sql`
      WITH i AS (
        INSERT INTO inputs (key, kind, path, bytes, mtime, problem, source) VALUES (${`${path}@${sha}`}, 'file', ${path}, ${bytes ? Buffer.from(bytes) : null}, ${new Date(mtimeMs)}, ${problem ? this.sql.json(problem as never) : null}, ${source})
        ON CONFLICT (key) DO NOTHING RETURNING id
      )
      SELECT id::float8 AS id, pg_notify(${CHANNEL_INPUTS}, id::text) FROM i`;
    return r ? Number(r.id) : undefined;
  }

  /** Whether a file with this path and content was mirrored already. */
  async hasFile(path: string, sha256: string): Promise<boolean> {
    return (await this.sql`SELECT 1 FROM inputs WHERE key = ${`${path}@${sha256}`}`).length > 0;
  }

  /** A person's command; its key is a new request id. Returns the row id. */
  async addCommand(command: CommandInput, source: string): Promise<number> {
    const [r] = await this.sql`
      WITH i AS (INSERT INTO inputs (key, kind, command, source) VALUES (${`request:${randomUUID()}`}, 'command', ${this.sql.json(command as never)}, ${source}) RETURNING id)
      SELECT id::float8 AS id, pg_notify(${CHANNEL_INPUTS}, id::text) FROM i`;
    return Number(r!.id);
  }

  /**
   * Claims up to max pending rows, oldest first: unclaimed ones, this writer's own, and those of
   * writers whose heartbeat is stale. `only`: just these ids (a command deciding its own row).
   */
  async claim(writer: string, max: number, only?: number[]): Promise<InputRow[]> {
    const rows = await this.sql`
      UPDATE inputs SET claimed_by = ${writer}, claimed_at = now()
      WHERE id IN (
        SELECT i.id FROM inputs i
        WHERE i.done_at IS NULL AND NOT i.deferred ${only ? this.sql`AND i.id = ANY(${only})` : this.sql``}
          AND (i.claimed_by IS NULL OR i.claimed_by = ${writer}
               OR NOT EXISTS (SELECT 1 FROM writers w WHERE w.id = i.claimed_by AND w.heartbeat_at > now() - make_interval(secs => w.stale_ms / 1000.0)))
        ORDER BY i.id LIMIT ${max}
        FOR UPDATE SKIP LOCKED
      )
      RETURNING id::float8 AS id, key, kind, path, bytes, mtime, problem, command, source`;
    return rows
      .map((r) => ({
        id: Number(r.id),
        key: String(r.key),
        kind: r.kind as InputRow["kind"],
        ...(r.path ? { path: String(r.path) } : {}),
        ...(r.bytes ? { bytes: r.bytes as Uint8Array } : {}),
        ...(r.mtime ? { mtimeMs: (r.mtime as Date).getTime() } : {}),
        ...(r.problem ? { problem: r.problem as Issue } : {}),
        ...(r.command ? { command: r.command as CommandInput } : {}),
        source: String(r.source),
      }))
      .sort((a, b) => a.id - b.id);
  }

  /** Decided: done, with what it came to (commands' results are what the CLI waits for). */
  async finish(done: Array<{ id: number; result: RowResult }>): Promise<void> {
    if (!done.length) return;
    await this.sql`
      UPDATE inputs SET done_at = now(), claimed_by = NULL, result = x.result
      FROM jsonb_to_recordset(${this.sql.json(done as never)}) AS x(id int8, result jsonb)
      WHERE inputs.id = x.id`;
  }

  /**
   * Not for now (an artifact for a later stage): left until undefer() names its path. Decided on the
   * view at seq `basis`, it is written only if no entry was committed since: an epic's entry into a
   * stage releases its deferred drops by a rescan run after that commit, so a deferral written after
   * the rescan, on a view from before the commit, would wait for the periodic reconcile with its epic
   * standing still. The head row is held FOR SHARE meanwhile (append takes it FOR UPDATE): no commit
   * comes in between. Returns false when the view was stale: the rows stay claimed, to decide again.
   */
  async defer(ids: number[], basis: number): Promise<boolean> {
    if (!ids.length) return true;
    return this.sql.begin(async (tx) => {
      const [h] = await tx`SELECT seq::float8 AS seq FROM head FOR SHARE`;
      if (Number(h!.seq) !== basis) return false;
      await tx`UPDATE inputs SET deferred = true, claimed_by = NULL WHERE id = ANY(${ids})`;
      return true;
    });
  }

  /** An epic entered a stage: its deferred drops for it may now be decided. No paths: all of them (the periodic reconcile). */
  async undefer(paths?: string[]): Promise<number> {
    const r = paths
      ? await this.sql`UPDATE inputs SET deferred = false WHERE deferred AND done_at IS NULL AND path = ANY(${paths})`
      : await this.sql`UPDATE inputs SET deferred = false WHERE deferred AND done_at IS NULL`;
    return r.count;
  }

  /** The row's outcome once decided; undefined while pending. */
  async result(id: number): Promise<{ done: boolean; result?: RowResult; key: string } | undefined> {
    const [r] = await this.sql`SELECT key, done_at, result FROM inputs WHERE id = ${id}`;
    if (!r) return undefined;
    return { done: r.done_at !== null, key: String(r.key), ...(r.result ? { result: r.result as RowResult } : {}) };
  }

  /** Rows not yet decided (doctor, metrics). */
  async pending(): Promise<number> {
    const [r] = await this.sql`SELECT count(*)::int AS n FROM inputs WHERE done_at IS NULL`;
    return Number(r!.n);
  }
}
