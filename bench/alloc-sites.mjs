#!/usr/bin/env node
// Where a drop's garbage comes from (issue 17: minor GCs are ~10 % of the daemon's thread in a burst):
// prepare + Engine.process of --drops drops, in-process, over a root of --epics epics (a checkpoint
// every 20 drops, as an idle daemon makes one), under V8's sampling heap profiler keeping the objects
// the GC already collected (so it counts what was allocated, not what is alive). Printed per drop:
// the allocation sites by self size, then Node's own allocators (path.join, fs Stats, iterators …)
// by the product function that called them. One drop alone, so its effects are written on this thread.
//   node bench/alloc-sites.mjs [--drops 300] [--epics 1120] [--top 40] [--inclusive]
// --inclusive: also each product function with all it allocated below it (its callees included).
import { realpathSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { cleanup, epicId, flag, inProcess, makeRoot, numArg, planFor, stageDrop } from "./lib.mjs";

const EPICS = numArg("epics", 1120);
const DROPS = numArg("drops", 300);
const TOP = numArg("top", 40);
const WARM = 50;
const built = await makeRoot({ epics: EPICS + DROPS + WARM });
const { pipeline, store, Engine, silentLogger, prepare } = await inProcess(built.root);
const lease = await store.lease("command", "bench alloc-sites");
const engine = await Engine.open(pipeline, store, silentLogger());
const realRoot = realpathSync(built.root);
const drop = async (i) => {
  const id = epicId(EPICS + i);
  stageDrop(built.root, id, "plan.json", planFor(id))();
  const p = await prepare(`artifacts/${id}/plan.json`, { root: built.root, realRoot, pipeline, world: engine.world, now: Date.now() });
  if (p.kind !== "ready") throw new Error(JSON.stringify(p));
  await engine.process([p.item]);
  if (i % 20 === 0) await engine.checkpoint();
};
for (let i = 0; i < WARM; i++) await drop(DROPS + i);
const session = new Session();
session.connect();
await session.post("HeapProfiler.startSampling", { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
for (let i = 0; i < DROPS; i++) await drop(i);
const { profile } = await session.post("HeapProfiler.stopSampling");
session.disconnect();

const OURS = /(store|engine|machine|transports|schemas|log|trust|daemon)\//;
const keyOf = ({ callFrame: f }) => `${f.functionName || "(anonymous)"} ${f.url.replace(/.*\/(dist|node_modules)\//, "")}:${f.lineNumber + 1}`;
const self = new Map();
const byCaller = new Map();
let total = 0;
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
const walk = (node, path) => {
  const k = keyOf(node);
  const here = [...path, k];
  if (node.selfSize) {
    total += node.selfSize;
    add(self, k, node.selfSize);
    // a builtin or Node's own function: charged to the nearest product function below it
    if (!OURS.test(k)) add(byCaller, `${k.split(" ")[0]} ← ${here.findLast((x) => OURS.test(x)) ?? "(not the product's)"}`, node.selfSize);
  }
  for (const c of node.children) walk(c, here);
};
walk(profile.head, []);
const kib = (b) => `${(b / DROPS / 1024).toFixed(2).padStart(7)} KiB`;
console.log(`alloc-sites: ${DROPS} drops over ${EPICS} epics: ${(total / DROPS / 1024).toFixed(1)} KiB allocated per drop (sampled)`);
console.log("  by site (self):");
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${kib(v)}  ${k}`);
console.log("  Node's and V8's allocators, by the product function that called them:");
for (const [k, v] of [...byCaller].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${kib(v)}  ${k}`);
if (flag("inclusive")) {
  const incl = new Map();
  const walk2 = (node, seen) => {
    const k = keyOf(node);
    let sum = node.selfSize;
    const mine = OURS.test(k) && !seen.has(k);
    const s2 = mine ? new Set([...seen, k]) : seen;
    for (const c of node.children) sum += walk2(c, s2);
    if (mine) add(incl, k, sum);
    return sum;
  };
  walk2(profile.head, new Set());
  console.log("  the product's functions, inclusive (all allocated below each):");
  for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 60)) console.log(`  ${kib(v)}  ${k}`);
}
await lease.release();
await store.close();
cleanup(built.dir);
