#!/usr/bin/env node
// Benchmark 1 — the floor: what the file system itself costs on this machine, measured in the same
// run as the others, so every product latency can be read as a multiple of it.
//   rename_seen      a file renamed into a watched folder → fs.watch reports it
//   append_fdatasync a 300-byte append to a log file, then fdatasync (what the decision log does)
//   append_fsync     the same with fsync
//   atomic_write     write a temp file, fsync it, rename it into place
//   atomic_write_dir the same plus fsync of the folder (the product's durable write)
import { closeSync, fdatasyncSync, fsyncSync, openSync, renameSync, watch, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { QUICK, cleanup, now, numArg, printStats, settleDisk, stats, tempDir, writeResult } from "./lib.mjs";

const N = numArg("samples", QUICK ? 200 : 2000);
const dir = tempDir("consensus-floor-");
// measured as the daemon is: with what earlier runs left in the page cache written out first
settleDisk(dir);
const line = Buffer.from(`${JSON.stringify({ seq: 1, timestamp: new Date().toISOString(), agent: "orchestrator", decision: "artifact_accepted", epic_id: "EP-000001", details: { file: "artifacts/EP-000001/plan.json", sha256: "0".repeat(64) } }).padEnd(299, " ")}\n`);
if (line.length !== 300) throw new Error(`line is ${line.length} bytes`);

async function renameSeen() {
  const samples = [];
  const watched = join(dir, "watched");
  (await import("node:fs")).mkdirSync(watched);
  let waiting;
  const w = watch(watched, (_ev, name) => {
    if (waiting && name === waiting.name) {
      const t = now();
      const r = waiting.resolve;
      waiting = undefined;
      r(t);
    }
  });
  for (let i = 0; i < N + 20; i++) {
    const name = `f${i}.json`;
    const tmp = join(watched, `.${name}.tmp`);
    writeFileSync(tmp, line);
    // Let the temp file's own events pass first.
    await new Promise((r) => setTimeout(r, 1));
    const seen = new Promise((resolve) => (waiting = { name, resolve }));
    const t0 = now();
    renameSync(tmp, join(watched, name));
    const t1 = await seen;
    if (i >= 20) samples.push(t1 - t0);
  }
  w.close();
  return stats(samples);
}

function append(sync) {
  const samples = [];
  const fd = openSync(join(dir, `log-${sync.name}.jsonl`), "a");
  for (let i = 0; i < N + 20; i++) {
    const t0 = now();
    writeSync(fd, line);
    sync(fd);
    if (i >= 20) samples.push(now() - t0);
  }
  closeSync(fd);
  return stats(samples);
}

function atomicWrite(syncDir) {
  const samples = [];
  const target = join(dir, "state.json");
  const body = Buffer.alloc(300, 0x61);
  for (let i = 0; i < N + 20; i++) {
    const t0 = now();
    const tmp = join(dir, `.state.json.${i}.tmp`);
    const fd = openSync(tmp, "w");
    writeSync(fd, body);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
    if (syncDir) {
      const d = openSync(dir, "r");
      fsyncSync(d);
      closeSync(d);
    }
    if (i >= 20) samples.push(now() - t0);
  }
  return stats(samples);
}

console.log(`floor: ${N} samples each, in ${dir}`);
const metrics = {};
metrics.rename_seen = await renameSeen();
printStats("rename seen by fs.watch", metrics.rename_seen);
metrics.append_fdatasync = append(fdatasyncSync);
printStats("300-byte append + fdatasync", metrics.append_fdatasync);
metrics.append_fsync = append(fsyncSync);
printStats("300-byte append + fsync", metrics.append_fsync);
metrics.atomic_write = atomicWrite(false);
printStats("atomic write (temp + fsync + rename)", metrics.atomic_write);
metrics.atomic_write_dir = atomicWrite(true);
printStats("atomic write + folder fsync", metrics.atomic_write_dir);
// The least a drop-to-decision can cost: see the rename, make the decision durable with one
// fsync'd append, write the next role's notice atomically.
const composite = (k) => Math.round((metrics.rename_seen[k] + metrics.append_fsync[k] + metrics.atomic_write[k]) * 1000) / 1000;
metrics.drop_floor = { median_ms: composite("median_ms"), p99_ms: composite("p99_ms"), note: "rename_seen + append_fsync + atomic_write (sum of medians / sum of p99s)" };
printStats("floor of one drop (sum of the three)", { ...metrics.drop_floor, n: N });
console.log(`  → ${writeResult("floor", { samples: N, dir_fs: "same file system as the other benchmarks (BENCH_TMP or the OS temp dir)" }, metrics)}`);
cleanup(dir);
