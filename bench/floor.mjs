#!/usr/bin/env node
// Benchmark 1 — the floor: what the file system itself costs on this machine, measured in the same
// run as the others, so every product latency can be read as a multiple of it.
//   rename_seen      a file renamed into a watched folder → fs.watch reports it
//   append_fdatasync a 300-byte append to a log file, then fdatasync (what the decision log does)
//   append_fsync     the same with fsync
//   atomic_write     write a temp file, fsync it, rename it into place
//   atomic_write_dir the same plus fsync of the folder (the product's durable write)
//   drop_floor_idle  the three of the floor of one drop, each sample after a pause of IDLE_MS (latency's
//                    idle mode drops a file only once the daemon has been quiet that long): what the disk,
//                    the watcher and the threads cost when they wake up, the floor for an idle daemon
import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, renameSync, watch, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { QUICK, cleanup, now, numArg, printStats, settleDisk, stats, tempDir, writeResult } from "./lib.mjs";

const N = numArg("samples", QUICK ? 200 : 2000);
// the pause before each idle sample: latency.mjs's idle mode waits until the daemon is quiet for 50 ms
const IDLE_MS = 50;
const N_IDLE = numArg("idle-samples", QUICK ? 60 : 300);
const dir = tempDir("consensus-floor-");
// measured as the daemon is: with what earlier runs left in the page cache written out first
settleDisk(dir);
const line = Buffer.from(`${JSON.stringify({ seq: 1, timestamp: new Date().toISOString(), agent: "orchestrator", decision: "artifact_accepted", epic_id: "EP-000001", details: { file: "artifacts/EP-000001/plan.json", sha256: "0".repeat(64) } }).padEnd(299, " ")}\n`);
if (line.length !== 300) throw new Error(`line is ${line.length} bytes`);

/**
 * A folder `sub` of the floor's folder under fs.watch: `seen(name)` is a promise of the time (now()) an
 * event first named `name` after the call; `close()` stops the watch.
 */
function watchedFolder(sub) {
  const watched = join(dir, sub);
  mkdirSync(watched);
  let waiting;
  const w = watch(watched, (_ev, name) => {
    if (waiting && name === waiting.name) {
      const t = now();
      const r = waiting.resolve;
      waiting = undefined;
      r(t);
    }
  });
  return { watched, seen: (name) => new Promise((resolve) => (waiting = { name, resolve })), close: () => w.close() };
}

async function renameSeen() {
  const samples = [];
  const { watched, seen: whenSeen, close } = watchedFolder("watched");
  for (let i = 0; i < N + 20; i++) {
    const name = `f${i}.json`;
    const tmp = join(watched, `.${name}.tmp`);
    writeFileSync(tmp, line);
    // Let the temp file's own events pass first.
    await new Promise((r) => setTimeout(r, 1));
    const seen = whenSeen(name);
    const t0 = now();
    renameSync(tmp, join(watched, name));
    const t1 = await seen;
    if (i >= 20) samples.push(t1 - t0);
  }
  close();
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

/**
 * The floor of one drop after a pause: per sample, IDLE_MS of sleep, then the three operations of
 * the floor of one drop in series (a rename seen by fs.watch, a 300-byte append + fsync, an atomic
 * write), each timed. Returns the stats of each, as the hot floor reports them.
 */
async function idleDrops() {
  const { watched, seen: whenSeen, close } = watchedFolder("watched-idle");
  const fd = openSync(join(dir, "log-idle.jsonl"), "a");
  const body = Buffer.alloc(300, 0x61);
  const seen = [];
  const appended = [];
  const written = [];
  for (let i = 0; i < N_IDLE + 5; i++) {
    const name = `f${i}.json`;
    const tmp = join(watched, `.${name}.tmp`);
    writeFileSync(tmp, line);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const event = whenSeen(name);
    const t0 = now();
    renameSync(tmp, join(watched, name));
    const t1 = await event;
    writeSync(fd, line);
    fsyncSync(fd);
    const t2 = now();
    const stateTmp = join(dir, `.state-idle.json.${i}.tmp`);
    const sfd = openSync(stateTmp, "w");
    writeSync(sfd, body);
    fsyncSync(sfd);
    closeSync(sfd);
    renameSync(stateTmp, join(dir, "state-idle.json"));
    const t3 = now();
    if (i >= 5) seen.push(t1 - t0), appended.push(t2 - t1), written.push(t3 - t2);
  }
  close();
  closeSync(fd);
  return { rename_seen: stats(seen), append_fsync: stats(appended), atomic_write: stats(written) };
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
// the same three after a pause of IDLE_MS each: the floor an idle daemon's drop is set against
const idle = await idleDrops();
const idleSum = (k) => Math.round((idle.rename_seen[k] + idle.append_fsync[k] + idle.atomic_write[k]) * 1000) / 1000;
metrics.drop_floor_idle = { median_ms: idleSum("median_ms"), p99_ms: idleSum("p99_ms"), n: N_IDLE, pause_ms: IDLE_MS, parts: idle, note: `the three of drop_floor in series after a pause of ${IDLE_MS} ms each sample (sum of medians / sum of p99s)` };
printStats(`floor of one drop after ${IDLE_MS} ms idle (sum)`, metrics.drop_floor_idle);
console.log(`  → ${writeResult("floor", { samples: N, dir_fs: "same file system as the other benchmarks (BENCH_TMP or the OS temp dir)" }, metrics)}`);
cleanup(dir);
