/**
 * Reaching a PostgreSQL store: the URL (`postgres://user@host:port/db?schema=NAME`, schema default
 * "consensus"), the client, and the schema migrations in migrations/pg/ applied before first use.
 *
 * Client: `postgres` (porsager). Its LISTEN connection re-listens by itself after a dropped connection
 * or a server restart and calls back on every (re)listen, which is where a daemon re-syncs; `pg` does
 * neither. Migrations: postgres-migrations, which serialises concurrent starts on an advisory lock and
 * refuses a migration whose file changed after it was applied (node-pg-migrate does not notice).
 */
import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { ConsensusError, issue } from "../../errors/issue.js";

export type Sql = postgres.Sql<Record<string, never>>;

export interface PgTarget {
  /** The connection URL without our own `schema` parameter. */
  url: string;
  schema: string;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/** True for the URLs a PostgreSQL store is opened from. */
export const isPgUrl = (s: string): boolean => /^postgres(ql)?:\/\//i.test(s);

/** Splits our `?schema=` off the URL; throws STORE_URL_INVALID for a schema name we would have to quote. */
export function pgTarget(raw: string): PgTarget {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConsensusError(issue("STORE_URL_INVALID", { message: `not a URL: ${redact(raw)}`, found: redact(raw) }));
  }
  const schema = u.searchParams.get("schema") ?? "consensus";
  u.searchParams.delete("schema");
  if (!SCHEMA.test(schema)) throw new ConsensusError(issue("STORE_URL_INVALID", { message: `schema ${JSON.stringify(schema)} is not a plain lower-case name`, found: schema, expected: "^[a-z_][a-z0-9_]{0,62}$" }));
  return { url: u.toString(), schema };
}

/** The URL with any password replaced, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
  }
}

export interface ConnectOptions {
  /** Connections in the pool (the daemon's appends use one at a time; reads and heartbeats the others). */
  max?: number;
  /** Called when a connection is lost or an error arrives outside a query. */
  onError?: (err: Error) => void;
}

/** A client whose every connection works in the target's schema. Connects lazily (first query). */
export function connect(t: PgTarget, o: ConnectOptions = {}): Sql {
  return postgres(t.url, {
    max: o.max ?? 4,
    // a restarted server closes every connection; queries after it reconnect by themselves
    connect_timeout: 10,
    idle_timeout: 0,
    onnotice: () => {},
    connection: { search_path: t.schema, application_name: "consensus" },
    types: {},
  }) as unknown as Sql;
}

const MIGRATIONS = fileURLToPath(new URL("../../../migrations/pg/", import.meta.url));

/**
 * For commands: whether the schema is at this version's migrations (a cheap read, no lock); if not
 * (a new database, or an upgrade), migrate() brings it there. Daemons always run migrate(), which
 * also refuses an edited migration.
 */
export async function migrateIfBehind(t: PgTarget, sql: Sql): Promise<void> {
  const files = (await readdir(MIGRATIONS)).filter((f) => /^\d+_.*\.sql$/.test(f)).length;
  let applied = -1;
  try {
    const [r] = await sql`SELECT max(id)::int AS n FROM migrations`;
    applied = Number(r?.n ?? -1);
  } catch {
    applied = -1;
  }
  if (applied < files) await migrate(t);
}

/**
 * Creates the schema if needed and applies the migrations not yet applied, under postgres-migrations'
 * advisory lock (two daemons starting at once: one applies, the other waits and finds them applied).
 * Returns the names applied now. Throws STORE_UNREACHABLE, STORE_MIGRATION_EDITED or STORE_MIGRATION_FAILED.
 */
export async function migrate(t: PgTarget): Promise<string[]> {
  const [{ default: pg }, { migrate: run }] = await Promise.all([import("pg"), import("postgres-migrations")]);
  const client = new pg.Client({ connectionString: t.url, options: `-c search_path=${t.schema}`, application_name: "consensus-migrate" });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (e) {
    throw unreachable(t, e);
  }
  try {
    await ensureSchema(client, t.schema);
    const done = await run({ client }, MIGRATIONS);
    return done.map((m) => m.fileName);
  } catch (e) {
    const msg = (e as Error).message;
    if (/Hashes don't match/.test(msg)) {
      const file = /migrations '([^']+)'/.exec(msg)?.[1];
      throw new ConsensusError(issue("STORE_MIGRATION_EDITED", { message: `migration ${file ?? "?"} differs from the one applied to ${redact(t.url)} (schema ${t.schema})`, ...(file ? { file: `migrations/pg/${file}` } : {}) }));
    }
    if (e instanceof ConsensusError) throw e;
    throw new ConsensusError(issue("STORE_MIGRATION_FAILED", { message: `migrating ${redact(t.url)} (schema ${t.schema}): ${msg}` }));
  } finally {
    await client.end().catch(() => {});
  }
}

/** CREATE SCHEMA IF NOT EXISTS can still collide with a concurrent one (unique violation): then it exists. */
async function ensureSchema(client: { query(q: string): Promise<unknown> }, schema: string): Promise<void> {
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== "23505" && code !== "42P06") throw e;
  }
}

export function unreachable(t: PgTarget, e: unknown): ConsensusError {
  return new ConsensusError(issue("STORE_UNREACHABLE", { message: `cannot reach ${redact(t.url)}: ${(e as Error).message}`, found: redact(t.url) }));
}

/**
 * postgres 3.4.9 can throw from a setImmediate after a connection closed mid-write ("Cannot read
 * properties of null (reading 'write')" in nextWrite; porsager/postgres#1154, #1208): uncatchable by
 * the query's caller, and it leaves that connection unable to write again. Recognised so the store
 * can replace its client instead of the process dying.
 */
export function isDriverWriteFault(e: unknown): boolean {
  return e instanceof TypeError && /reading 'write'|evaluating 'socket\.write'/.test(e.message) && /postgres[\\/]src[\\/]connection\.js/.test(e.stack ?? "");
}

/**
 * postgres 3.4.9 looks up the server's array types on every new connection (fetchArrayTypes) from a
 * promise nothing holds: when that connection is lost during the lookup (a server restarting, a reset
 * or terminated backend), the rejection is unhandled, and Node would end the process on it. The query
 * that opened the connection is failed with the same error, so its caller sees the loss and retries
 * (Backoff); the rejection itself says nothing more and is recognised here (by the driver's query text,
 * which the driver puts on the error) so it can be let go.
 */
export function isDriverTypeLookupFault(e: unknown): boolean {
  const q = (e as { query?: unknown } | undefined)?.query;
  return e instanceof Error && typeof q === "string" && /\bb\.typarray\b/.test(q) && /pg_catalog\.pg_type/.test(q);
}

const TRANSIENT = new Set(["CONNECTION_CLOSED", "CONNECTION_DESTROYED", "CONNECTION_ENDED", "CONNECT_TIMEOUT", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "57P01", "57P02", "57P03", "53300", "40001", "40P01"]);

/**
 * An error that says nothing about the request, only that the server could not be reached or
 * answered "not now" (a restart, a terminated backend, a deadlock victim): the same request may be
 * made again. Anything else is a bug or bad data.
 */
export function isTransient(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return false;
  return TRANSIENT.has(code) || code.startsWith("08");
}

/**
 * One turn of a loop against the store at a time: a transient error (isTransient) fails the turn,
 * is logged and waited out, doubling from 100 ms up to 5 s; the caller re-syncs and tries again.
 * Any other error is thrown.
 */
export class Backoff {
  private ms = 0;

  constructor(private readonly log: { warn(o: object, msg: string): void }) {}

  /** True when the turn ran; false after a transient failure (already waited out). */
  async turn(turn: () => Promise<void>): Promise<boolean> {
    try {
      await turn();
      this.ms = 0;
      return true;
    } catch (e) {
      if (!isTransient(e)) throw e;
      this.ms = Math.min(5000, this.ms ? this.ms * 2 : 100);
      this.log.warn({ err: e, retry_in_ms: this.ms }, "the store is unreachable; retrying");
      await new Promise((r) => setTimeout(r, this.ms));
      return false;
    }
  }

  /**
   * Runs `step` until it completes, waiting out transient failures as turn() does; `again` runs
   * before each new attempt (to undo what a failed one left). A step must be safe to run again.
   */
  async retry<T>(step: () => Promise<T>, again?: () => Promise<void>): Promise<T> {
    let failed = false;
    for (;;) {
      let out: { value: T } | undefined;
      const done = await this.turn(async () => {
        if (failed) await again?.();
        out = { value: await step() };
      });
      if (done) return out!.value;
      failed = true;
    }
  }
}
