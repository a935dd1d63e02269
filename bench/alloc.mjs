#!/usr/bin/env node
// What one drop allocates on the daemon's heap (issue 17.3: a minor GC of 2-6 ms every ~25 drops was
// the idle p99), in-process over a root of --epics epics: the young generation's growth across
// prepare, Engine.process (commit and effects) and the checkpoint, drop after drop, with a young
// generation too big to be collected during the run. Run as `node --min-semi-space-size=256 --max-semi-space-size=256 bench/alloc.mjs`.
import { realpathSync } from "node:fs";
import { getHeapSpaceStatistics } from "node:v8";
import { cleanup, epicId, inProcess, makeRoot, numArg, planFor, stageDrop } from "./lib.mjs";

const EPICS = numArg("epics", 1120);
const DROPS = numArg("drops", 40);
const built = await makeRoot({ epics: EPICS + DROPS });
const { pipeline, store, Engine, silentLogger, prepare } = await inProcess(built.root);
const lease = await store.lease("command", "bench alloc");
const young = () => getHeapSpaceStatistics().filter((s) => s.space_name === "new_space" || s.space_name === "new_large_object_space").reduce((a, s) => a + s.space_used_size, 0);
const engine = await Engine.open(pipeline, store, silentLogger());
const realRoot = realpathSync(built.root);
const kb = { prepare: [], process: [], checkpoint: [] };
let skipped = 0;
for (let i = 0; i < DROPS; i++) {
  const id = epicId(EPICS + i);
  stageDrop(built.root, id, "plan.json", planFor(id))();
  const a0 = young();
  const p = await prepare(`artifacts/${id}/plan.json`, { root: built.root, realRoot, pipeline, world: engine.world, now: Date.now() });
  if (p.kind !== "ready") throw new Error(JSON.stringify(p));
  const a1 = young();
  await engine.process([p.item]);
  const a2 = young();
  await engine.checkpoint();
  const a3 = young();
  // a drop during which a GC ran (its young generation shrank) is left out
  if (a1 < a0 || a2 < a1 || a3 < a2) {
    skipped++;
    continue;
  }
  kb.prepare.push((a1 - a0) / 1024);
  kb.process.push((a2 - a1) / 1024);
  kb.checkpoint.push((a3 - a2) / 1024);
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1].toFixed(0);
console.log(`alloc: ${DROPS} drops over ${EPICS} epics, young generation KiB per drop (median): prepare ${med(kb.prepare)}, process ${med(kb.process)}, checkpoint ${med(kb.checkpoint)} (${skipped} drops left out: a GC ran)`);
await lease.release();
await store.close();
cleanup(built.dir);
