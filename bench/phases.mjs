#!/usr/bin/env node
// Where the time of one drop goes, phase by phase, without touching src/: the daemon's own modules
// (dist/) driven in-process over a root with many epics, the store's methods wrapped with timers.
// Per drop: prepare (lstat, realpath, read, SHA-256, parse, normalise, validate), then
// Engine.process — decide, putBlob (durable blob), append (one write + fdatasync), and the effects
// (publish to archive/, the read list, the YAML notice) — then the checkpoint the daemon writes
// when its queue is empty. The watcher's part is measured by latency.mjs (chokidar, rename → add).
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { QUICK, flag, cleanup, epicId, fmt, inProcess, makeRoot, now, numArg, planFor, printStats, repo, stageDrop, stats, writeResult } from "./lib.mjs";

const EPICS = numArg("epics", QUICK ? 200 : 10_000);
const SAMPLES = numArg("samples", QUICK ? 30 : 200);
// --no-checkpoint: skip the checkpoint between drops (to see what its writes cost the next drop's fsyncs).
const CHECKPOINT = !flag("no-checkpoint");

const built = await makeRoot({ epics: EPICS });
console.log(`phases: ${SAMPLES} drops, in-process engine, root with ${EPICS} epics (made in ${fmt(built.build_ms)})`);
const timers = {};
const { L, pipeline, store, Engine, silentLogger, prepare } = await inProcess(built.root, (m, t, e) => (timers[m] ??= []).push(e - t));
const lease = await store.lease("command", "bench phases");
const per = { prepare: [], process: [], decide_and_rest: [], checkpoint: [], total_to_notice: [] };
try {
  const engine = await Engine.open(pipeline, store, silentLogger());
  const realRoot = realpathSync(built.root);
  for (let i = 0; i < SAMPLES + 10; i++) {
    const id = epicId(i);
    stageDrop(built.root, id, "plan.json", planFor(id))();
    const before = Object.fromEntries(Object.entries(timers).map(([k, v]) => [k, v.length]));
    const t0 = now();
    const p = await prepare(`artifacts/${id}/plan.json`, { root: built.root, realRoot, pipeline, world: engine.world, now: Date.now() });
    const t1 = now();
    if (p.kind !== "ready") throw new Error(`prepare: ${JSON.stringify(p)}`);
    const [o] = await engine.process([p.item]);
    const t2 = now();
    if (o.status !== "committed" || !o.entries.some((e) => e.decision === "stage_advanced")) throw new Error(`not advanced: ${JSON.stringify(o).slice(0, 300)}`);
    if (CHECKPOINT) await engine.checkpoint();
    const t3 = now();
    if (i < 10) continue;
    per.prepare.push(t1 - t0);
    per.process.push(t2 - t1);
    if (CHECKPOINT) per.checkpoint.push(t3 - t2);
    per.total_to_notice.push(t2 - t0);
    const io = ["putBlob", "append", "publish", "published", "deliver"].reduce((s, k) => s + (timers[k]?.slice(before[k] ?? 0).reduce((a, b) => a + b, 0) ?? 0), 0);
    per.decide_and_rest.push(t2 - t1 - io);
  }
  if (!CHECKPOINT) await engine.checkpoint();
} finally {
  await store.close();
  await lease.release();
}
const metrics = {};
const skip = 10;
for (const [k, v] of Object.entries(per)) metrics[k] = stats(v);
for (const [k, v] of Object.entries(timers)) metrics[`store.${k}`] = stats(k === "checkpoint" ? v.slice(skip) : v.slice(skip));
printStats("prepare (read, hash, parse, validate)", metrics.prepare);
printStats("Engine.process (decide → durable → effects)", metrics.process);
for (const k of ["putBlob", "append", "publish", "published", "deliver"]) if (metrics[`store.${k}`]) printStats(`  store.${k}`, metrics[`store.${k}`]);
printStats("  decide, serialise, hash, YAML (the rest)", metrics.decide_and_rest);
printStats("= prepare + process (drop → notice, no watcher)", metrics.total_to_notice);
if (CHECKPOINT) printStats("then: checkpoint (checkpoint.json + state.json)", metrics.checkpoint);
console.log(`  → ${writeResult(CHECKPOINT ? "phases" : "phases-no-checkpoint", { epics: EPICS, samples: SAMPLES, checkpoint_between_drops: CHECKPOINT, note: "in-process, no watcher; store methods wrapped with timers" }, metrics)}`);
cleanup(built.dir);
