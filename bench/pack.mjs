#!/usr/bin/env node
// Micro-benchmark for issue 17.1: the commit of artifacts, the way the store does it now against the pack.
//   blobs  FsStore.putBlob for each artifact (temp file, fdatasync, rename; the blob folder's fsync,
//          shared) and only then the log line's write + fdatasync: three flushes in series
//   pack   Pack.append of the artifacts, then the pack's fdatasync and the log's write + fdatasync at
//          the same time (src/store/fs/pack.ts): one flush on the critical path
//   floor  the log line's write + fdatasync alone
// Each sample is one commit of `--batch` artifacts (a plan.json each, distinct bytes); latency per
// commit and CPU per artifact (all threads of this process), the floor measured in the same run.
import { closeSync, fdatasync, mkdirSync, openSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { QUICK, cleanup, epicId, histogram, now, numArg, planFor, printHistogram, printStats, repo, stats, tempDir, writeResult } from "./lib.mjs";

const SAMPLES = numArg("samples", QUICK ? 100 : 500);
const BATCH = numArg("batch", 1);
const { FsStore } = await import(join(repo, "dist/store/fs/fs-store.js"));
const { layoutOf } = await import(join(repo, "dist/store/fs/layout.js"));
const { Pack } = await import(join(repo, "dist/store/fs/pack.js"));
const datasync = promisify(fdatasync);
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

let n = 0;
const artifacts = () =>
  Array.from({ length: BATCH }, () => {
    const bytes = Buffer.from(planFor(epicId(n++)));
    return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
  });
const line = (k) => Buffer.from(`${JSON.stringify({ seq: k, decision: "artifact_accepted", details: { sha256: "0".repeat(64) } }).padEnd(299)}\n`);

/** The three ways, interleaved sample by sample (a rotating order), so a busy spell of the disk hits each alike. */
async function runAll(ways) {
  const ctxs = [];
  for (const w of ways) {
    const dir = tempDir(`consensus-pack-${w.name}-`);
    const ctx = await w.setup(dir);
    const log = openSync(join(dir, "log.jsonl"), "a");
    let k = 0;
    const appendLog = async () => {
      writeSync(log, line(k++));
      await datasync(log);
    };
    ctxs.push({ w, dir, ctx, log, appendLog, samples: [], cpu: 0 });
  }
  for (let i = 0; i < 20 + SAMPLES; i++) {
    for (let j = 0; j < ctxs.length; j++) {
      const c = ctxs[(i + j) % ctxs.length];
      const a = artifacts();
      const c0 = cpu();
      const t0 = now();
      await c.w.commit(c.ctx, a, c.appendLog);
      const t1 = now();
      if (i >= 20) (c.samples.push(t1 - t0), (c.cpu += cpu() - c0));
    }
  }
  const out = {};
  for (const c of ctxs) {
    closeSync(c.log);
    await c.ctx.close?.();
    cleanup(c.dir);
    const s = stats(c.samples);
    const cpuPer = Math.round((c.cpu / (SAMPLES * BATCH)) * 1000) / 1000;
    printStats(`${c.w.name}: commit of ${BATCH} (CPU ${cpuPer} ms/artifact)`, s);
    out[c.w.name] = { ...s, histogram: histogram(c.samples), cpu_ms_per_artifact: cpuPer };
  }
  return out;
}

console.log(`pack: ${SAMPLES} commits of ${BATCH} artifact(s) each, per way, interleaved`);
const metrics = await runAll([
  { name: "floor", commit: async (_c, _a, appendLog) => appendLog(), setup: async () => ({}) },
  {
    name: "blobs",
    commit: async (store, a, appendLog) => {
      await Promise.all(a.map((x) => store.putBlob(x.sha256, x.bytes)));
      await appendLog();
    },
    setup: async (dir) => {
      const L = layoutOf(join(dir, "root"));
      mkdirSync(L.dot, { recursive: true });
      return new FsStore(L);
    },
  },
  {
    name: "pack",
    commit: async (pack, a, appendLog) => {
      await pack.append(a);
      await Promise.all([pack.flush(), appendLog()]);
    },
    setup: async (dir) => Pack.open(join(dir, "pack")),
  },
]);
for (const k of ["blobs", "pack"]) printHistogram(`${k}: commit latency`, metrics[k].histogram);
const r = (x) => Math.round(x * 100) / 100;
metrics.ratios = {
  blobs_over_floor_median: r(metrics.blobs.median_ms / metrics.floor.median_ms),
  pack_over_floor_median: r(metrics.pack.median_ms / metrics.floor.median_ms),
  blobs_over_floor_p99: r(metrics.blobs.p99_ms / metrics.floor.p99_ms),
  pack_over_floor_p99: r(metrics.pack.p99_ms / metrics.floor.p99_ms),
  pack_cpu_over_blobs: r(metrics.pack.cpu_ms_per_artifact / metrics.blobs.cpu_ms_per_artifact),
};
console.log(`  × floor, median: blobs ${metrics.ratios.blobs_over_floor_median}×, pack ${metrics.ratios.pack_over_floor_median}×; p99: blobs ${metrics.ratios.blobs_over_floor_p99}×, pack ${metrics.ratios.pack_over_floor_p99}×; CPU pack/blobs ${metrics.ratios.pack_cpu_over_blobs}`);
console.log(`  → ${writeResult(BATCH === 1 ? "pack" : `pack-batch${BATCH}`, { samples: SAMPLES, batch: BATCH }, metrics)}`);
