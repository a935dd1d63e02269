#!/usr/bin/env node
// Where the time of one big batch goes (the throughput case), in-process: N plan.json drops
// prepared as the daemon does (prepareAll: a few at a time), then Engine.process of all of them at once with the store's methods wrapped to record
// the wall-clock span of each kind of call (first start to last end), then the checkpoint.
// Flags: --epics N (2000), --batch N (512).
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { QUICK, cleanup, epicId, fmt, inProcess, makeRoot, now, numArg, planFor, repo, stageDrop, writeResult } from "./lib.mjs";

const EPICS = numArg("epics", QUICK ? 200 : 2000);
const BATCH = numArg("batch", QUICK ? 100 : 512);
const built = await makeRoot({ epics: EPICS });
const spans = {};
const { pipeline, store, Engine, silentLogger, prepare, prepareAll } = await inProcess(built.root, (m, t, e) => {
  const sp = (spans[m] ??= { first: Infinity, last: 0, calls: 0, sum: 0 });
  sp.first = Math.min(sp.first, t);
  sp.last = Math.max(sp.last, e);
  sp.calls++;
  sp.sum += e - t;
});
const lease = await store.lease("command", "bench batch-phases");
const metrics = {};
try {
  const engine = await Engine.open(pipeline, store, silentLogger());
  for (const k of Object.keys(spans)) delete spans[k];
  const realRoot = realpathSync(built.root);
  const rels = [];
  for (let i = 0; i < BATCH; i++) {
    stageDrop(built.root, epicId(i), "plan.json", planFor(epicId(i)))();
    rels.push(`artifacts/${epicId(i)}/plan.json`);
  }
  // CPU of the whole process (every thread: the libuv pool's fs calls and the GC's too), per phase.
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const c0 = cpu();
  const t0 = now();
  const prepared = await prepareAll(rels, (rel) => prepare(rel, { root: built.root, realRoot, pipeline, world: engine.world, now: Date.now() }));
  const items = prepared.map((p) => {
    if (p instanceof Error || p.kind !== "ready") throw new Error(`prepare: ${p instanceof Error ? p.message : JSON.stringify(p)}`);
    return p.item;
  });
  const t1 = now();
  const c1 = cpu();
  const out = await engine.process(items);
  const t2 = now();
  const c2 = cpu();
  if (out.some((o) => o.status !== "committed")) throw new Error("not all committed");
  await engine.checkpoint();
  const t3 = now();
  const c3 = cpu();
  const per = (x) => Math.round((x / BATCH) * 1000) / 1000;
  metrics.cpu_ms_per_drop = { prepare: per(c1 - c0), process: per(c2 - c1), checkpoint: per(c3 - c2), total: per(c3 - c0) };
  metrics.prepare_ms = t1 - t0;
  metrics.process_ms = t2 - t1;
  metrics.checkpoint_ms = t3 - t2;
  for (const [k, s] of Object.entries(spans)) metrics[`span_${k}_ms`] = s.last - s.first;
  for (const [k, s] of Object.entries(spans)) metrics[`calls_${k}`] = s.calls;
  console.log(`batch of ${BATCH} over ${EPICS} epics: prepare (prepareAll) ${fmt(t1 - t0)}, Engine.process ${fmt(t2 - t1)}, checkpoint ${fmt(t3 - t2)}`);
  console.log(`  CPU per drop (all threads): prepare ${metrics.cpu_ms_per_drop.prepare} ms, process ${metrics.cpu_ms_per_drop.process} ms, checkpoint ${metrics.cpu_ms_per_drop.checkpoint} ms, total ${metrics.cpu_ms_per_drop.total} ms`);
  for (const [k, s] of Object.entries(spans)) console.log(`  ${k.padEnd(10)} ${String(s.calls).padStart(5)} calls, span ${fmt(s.last - s.first)}, sum ${fmt(s.sum)}`);
} finally {
  await store.close();
  await lease.release();
}
console.log(`  → ${writeResult("batch-phases", { epics: EPICS, batch: BATCH }, metrics)}`);
cleanup(built.dir);
