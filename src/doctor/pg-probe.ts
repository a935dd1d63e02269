/** The facts doctor checks on a database store (pg-checks.ts): read-only queries, nothing written. */
import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../config/pipeline.js";
import { ChainVerifier } from "../log/chain.js";
import { connect, pgTarget, redact } from "../store/pg/connect.js";
import { PgStore } from "../store/pg/pg-store.js";
import type { CheckResult } from "../report/check.js";
import type { PgFacts } from "./pg-checks.js";

const MIGRATIONS = fileURLToPath(new URL("../../migrations/pg/", import.meta.url));

export async function probePg(url: string, node: CheckResult): Promise<PgFacts> {
  const t = pgTarget(url);
  const f: PgFacts = { store: `${redact(t.url)} (schema ${t.schema})`, now: Date.now(), node, reach: {} };
  const sql = connect(t, { max: 1 });
  try {
    try {
      const [r] = await sql`SELECT current_setting('server_version') AS v, (extract(epoch from clock_timestamp()) * 1000)::float8 AS now`;
      f.reach = { serverVersion: String(r!.v), dbNowMs: Number(r!.now) };
      f.now = Date.now();
    } catch (e) {
      f.reach = { error: (e as Error).message };
      return f;
    }
    const files = (await readdir(MIGRATIONS)).filter((x) => /^\d+_.*\.sql$/.test(x)).length;
    try {
      const [m] = await sql`SELECT max(id)::int AS n FROM migrations`;
      f.schema = { applied: Number(m!.n ?? 0), files };
    } catch (e) {
      f.schema = { applied: 0, files, error: (e as Error).message };
      return f;
    }
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
  const store = await PgStore.open(url, { readOnly: true, max: 1 });
  try {
    const rules = await store.rules();
    f.rules = rules ? { version: rules.version, issues: parseConfig(rules.text).issues.filter((i) => i.severity === "error").map((i) => i.message) } : {};
    f.writers = await store.writers();
    const [i] = await store.sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE deferred)::int AS d, (extract(epoch from now() - min(created_at)) * 1000)::float8 AS age FROM inputs WHERE done_at IS NULL`;
    f.inputs = { pending: Number(i!.n), deferred: Number(i!.d), ...(i!.age !== null ? { oldestAgeMs: Number(i!.age) } : {}) };
    const [o] = await store.sql`SELECT count(*)::int AS n FROM entries e WHERE NOT e.effects_done AND NOT EXISTS (SELECT 1 FROM writers w WHERE w.id = e.writer AND w.heartbeat_at > now() - make_interval(secs => w.stale_ms / 1000.0))`;
    f.orphanEffects = Number(o!.n);
    const v = new ChainVerifier();
    for await (const l of store.readEntries()) v.push(l.raw);
    f.chain = v.result();
  } finally {
    await store.close();
  }
  return f;
}
