#!/usr/bin/env node
// Benchmark 2 — drop-to-decision latency, and 6 — the same drop through plain chokidar.
//
// The real daemon runs as a child over a root with many epics at stage plan. Each sample renames a
// valid plan.json (its dot-temp written beforehand) into artifacts/<EPIC>/plan.json and stops the
// clock when both the log holds that epic's stage_advanced entry and the developer's notice for it
// exists (the notice is written only after the entry's fsync, so the entry is durable by then).
// Every sample uses a fresh epic. Two modes:
//   back_to_back  the next drop follows the previous decision at once (an agent that hands off)
//   idle          the next drop waits until the daemon is quiet: no CPU tick and no file event in
//                 current/ or .consensus/ (its checkpoint and state.json) for 50 ms
// Side by side: a bare chokidar watcher with `awaitWriteFinish: true` (defaults: 2000 ms stability,
// 100 ms poll) on a temp folder, rename → 'add'; and, for scale, the same without awaitWriteFinish.
//
// --profile: run the daemon under `node --cpu-prof` and summarise where its CPU time went.
import { copyFileSync, mkdirSync, readdirSync, renameSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import { watch as chokidarWatch } from "chokidar";
import { DirWatch, LogTail, QUICK, cpuMs, threadCpuMs, perDropByThread, resultsDir, cleanup, deadline, epicId, flag, fmt, makeRoot, noticeName, now, numArg, planFor, printStats, stageDrop, startDaemon, stats, stopDaemon, tempDir, writeResult, histogram, printHistogram, daemonPauses, settleDisk } from "./lib.mjs";
import { summariseProfile, printProfile } from "./profile.mjs";
import { peerLatency } from "./peer.mjs";

const PROFILE = flag("profile");
const SAMPLES = numArg("samples", QUICK ? 40 : PROFILE ? 300 : 500);
// --warm N: drops decided one by one before the measured ones (a daemon in service has long been past
// V8 compiling its hot code on the background threads, which share the two cores with the drops)
const WARMUP = numArg("warm", QUICK ? 5 : 20);
const EXTRA_EPICS = numArg("extra-epics", QUICK ? 50 : 500);
const AWF_SAMPLES = numArg("chokidar-samples", QUICK ? 5 : 30);
const PLAIN_SAMPLES = numArg("chokidar-plain-samples", QUICK ? 50 : 300);
const MODES = PROFILE ? ["back_to_back"] : ["back_to_back", "idle"];
const EPICS = WARMUP + SAMPLES * MODES.length + EXTRA_EPICS;

export async function measureDrops(root, daemon, epics, { waitIdle = false, timeoutMs = 60_000 } = {}) {
  const tail = new LogTail(root);
  const inbox = new DirWatch(join(root, "messages", "inbox", "developer"));
  let lastState = -Infinity;
  let lastEvent = now();
  const sw = watch(join(root, "current"), (_e, name) => {
    lastEvent = now();
    if (name === "state.json") lastState = lastEvent;
  });
  const dw = watch(join(root, ".consensus"), () => (lastEvent = now()));
  /** The daemon has nothing in hand: no CPU tick and no event in current/ or .consensus/ for quietMs. */
  const quiet = async (quietMs = 50) => {
    let c = cpuMs(daemon.pid);
    let since = now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 5));
      const c2 = cpuMs(daemon.pid);
      if (c2 !== c) (c = c2), (since = now());
      const t = Math.max(since, lastEvent);
      if (now() - t >= quietMs) return;
    }
  };
  const advanced = new Map(); // epic -> { seq, t }
  let waiter;
  tail.on((e, t) => {
    if (e.decision === "stage_advanced" && e.details?.to === "implementation") {
      advanced.set(e.epic_id, { seq: e.seq, t });
      if (waiter && waiter.epic === e.epic_id) waiter.resolve();
    }
    if (e.decision === "artifact_rejected" || e.decision === "input_failed") {
      console.error(`  unexpected ${e.decision}: ${JSON.stringify(e.details).slice(0, 400)}`);
    }
  });
  const total = [];
  const withCheckpoint = [];
  const withoutCheckpoint = [];
  const toEntry = [];
  const toCheckpoint = [];
  const cpu0 = cpuMs(daemon.pid);
  const threads0 = threadCpuMs(daemon.pid);
  const tStart = now();
  let safety = 0;
  try {
    for (const epic of epics) {
      const drop = stageDrop(root, epic, "plan.json", planFor(epic));
      const entry = new Promise((resolve) => (waiter = { epic, resolve }));
      const guard = deadline(timeoutMs, `decision for ${epic}`);
      // Safety net only: fs.watch on current/ should always wake the tail first.
      const net = setInterval(() => {
        if (!advanced.has(epic)) {
          tail.sync();
          if (advanced.has(epic)) safety++;
        }
      }, 20);
      const t0 = now();
      drop();
      await Promise.race([entry, guard, daemon.exited.then(() => Promise.reject(new Error(`daemon exited\n${daemon.stderr()}`)))]);
      const a = advanced.get(epic);
      const tn = await Promise.race([inbox.when(noticeName(a.seq, epic)), guard]);
      clearInterval(net);
      guard.cancel();
      total.push(Math.max(a.t, tn) - t0);
      // Did the daemon's checkpoint (state.json is its last write) land inside this sample? The tail's cause, if so.
      (lastState > t0 ? withCheckpoint : withoutCheckpoint).push(Math.max(a.t, tn) - t0);
      toEntry.push(a.t - t0);
      if (waitIdle) {
        const g2 = deadline(timeoutMs, "daemon going quiet after a drop");
        await Promise.race([quiet(), g2]);
        g2.cancel();
        // The checkpoint and state.json, if the daemon wrote them before going quiet.
        if (lastState > a.t) toCheckpoint.push(lastState - t0);
      }
    }
  } finally {
    tail.close();
    inbox.close();
    sw.close();
    dw.close();
  }
  const wall = now() - tStart;
  const cpu = cpuMs(daemon.pid) - cpu0;
  const threads = threadCpuMs(daemon.pid, threads0);
  // Medians of each fifth of the run: the developer's inbox grows by one notice per sample.
  const fifths = [0, 1, 2, 3, 4].map((q) => stats(total.slice(Math.floor((q * total.length) / 5), Math.floor(((q + 1) * total.length) / 5))).median_ms);
  return { total: stats(total), histogram: histogram(total), checkpoint_in_sample: stats(withCheckpoint), no_checkpoint_in_sample: stats(withoutCheckpoint), median_by_fifth_ms: fifths, to_entry_visible: stats(toEntry), ...(waitIdle ? { to_state_json: stats(toCheckpoint), state_json_before_quiet: toCheckpoint.length } : {}), daemon_cpu_ms_per_drop: Math.round((cpu / epics.length) * 1000) / 1000, daemon_cpu_ms_per_drop_by_thread: perDropByThread(threads, epics.length), wall_ms: Math.round(wall), safety_net_wakeups: safety };
}

async function chokidarAwaitWriteFinish(n) {
  const dir = tempDir("consensus-chokidar-");
  const w = chokidarWatch(dir, { ignoreInitial: true, awaitWriteFinish: true });
  await new Promise((r) => w.once("ready", r));
  const started = new Map();
  const samples = [];
  let done;
  const all = new Promise((r) => (done = r));
  w.on("add", (p) => {
    const t = now();
    const name = p.slice(p.lastIndexOf("/") + 1);
    const t0 = started.get(name);
    if (t0 === undefined) return;
    samples.push(t - t0);
    if (samples.length === n) done();
  });
  const content = planFor("EP-000001");
  for (let i = 0; i < n; i++) {
    const name = `plan-${i}.json`;
    const tmp = join(dir, `.${name}.tmp`);
    writeFileSync(tmp, content);
    started.set(name, now());
    renameSync(tmp, join(dir, name));
    await new Promise((r) => setTimeout(r, 50)); // staggered: each file has its own stability timer
  }
  const guard = deadline(60_000, "chokidar awaitWriteFinish adds");
  await Promise.race([all, guard]);
  guard.cancel();
  await w.close();
  cleanup(dir);
  return stats(samples);
}

async function chokidarPlain(n) {
  const dir = tempDir("consensus-chokidar-");
  const w = chokidarWatch(dir, { ignoreInitial: true });
  await new Promise((r) => w.once("ready", r));
  const samples = [];
  let waiting;
  w.on("add", (p) => {
    const t = now();
    if (waiting && p.endsWith(`/${waiting.name}`)) {
      const r = waiting.resolve;
      waiting = undefined;
      r(t);
    }
  });
  const content = planFor("EP-000001");
  for (let i = 0; i < n + 10; i++) {
    const name = `plan-${i}.json`;
    const tmp = join(dir, `.${name}.tmp`);
    writeFileSync(tmp, content);
    await new Promise((r) => setTimeout(r, 2));
    const seen = new Promise((resolve) => (waiting = { name, resolve }));
    const t0 = now();
    renameSync(tmp, join(dir, name));
    const t1 = await seen;
    if (i >= 10) samples.push(t1 - t0);
  }
  await w.close();
  cleanup(dir);
  return stats(samples);
}

async function main() {
  console.log(`latency${PROFILE ? " (profiled)" : ""}: ${EPICS} epics, ${SAMPLES} samples per mode (${MODES.join(", ")})`);
  const built = await makeRoot({ epics: EPICS });
  console.log(`  root with ${EPICS} epics made in ${fmt(built.build_ms)}`);
  const profDir = PROFILE ? tempDir("consensus-prof-") : undefined;
  // --metrics-port 0: the daemon's GC pauses and event-loop delay are read from its metrics at the end
  const daemon = startDaemon(built.root, { args: PROFILE ? [] : ["--metrics-port", "0"], nodeArgs: PROFILE ? ["--cpu-prof", "--cpu-prof-dir", profDir, "--cpu-prof-interval", "200"] : [] });
  const readyMs = await daemon.ready;
  const metrics = { daemon_ready_ms: Math.round(readyMs) };
  let next = 0;
  const take = (k) => Array.from({ length: k }, () => epicId(next++));
  await measureDrops(built.root, daemon, take(WARMUP));
  settleDisk(built.root);
  const hr = () => Number(process.hrtime.bigint() / 1000n);
  const window = { from: hr(), to: Infinity };
  for (const mode of MODES) {
    const r = await measureDrops(built.root, daemon, take(SAMPLES), { waitIdle: mode === "idle" });
    metrics[mode] = r;
    printStats(`drop → decision durable + notice (${mode})`, r.total);
    printStats(`  of which: drop → entry visible`, r.to_entry_visible);
    printHistogram(`histogram of drop → decision (${mode})`, r.histogram);
    if (r.checkpoint_in_sample.n) printStats(`  samples a checkpoint ended in`, r.checkpoint_in_sample);
    printStats(`  samples without one`, r.no_checkpoint_in_sample);
    if (r.to_state_json?.n) printStats(`  then: drop → checkpoint + state.json done`, r.to_state_json);
    console.log(`    median by fifth of the run: ${r.median_by_fifth_ms.map((x) => fmt(x)).join(", ")}`);
    console.log(`    daemon CPU per drop ${r.daemon_cpu_ms_per_drop} ms; safety-net wakeups ${r.safety_net_wakeups}`);
    console.log(`    by thread (TID − PID, 0 the main thread, then V8's), ms/drop: ${Object.entries(r.daemon_cpu_ms_per_drop_by_thread).map(([k, v]) => `${k}: ${v}`).join(", ")}`);
  }
  window.to = hr();
  metrics.daemon_pauses = await daemonPauses(daemon).catch((e) => ({ error: String(e) }));
  if (metrics.daemon_pauses) console.log(`  daemon pauses: GC ${JSON.stringify(metrics.daemon_pauses.gc)}; event-loop delay ${JSON.stringify(metrics.daemon_pauses.eventloop_delay_ms)}`);
  const exit = await stopDaemon(daemon);
  if (exit.code !== 0) throw new Error(`daemon exited ${exit.code}\n${daemon.stderr()}`);
  if (daemon.errors.length) console.error(`  daemon logged errors:\n${daemon.errors.slice(0, 5).join("\n")}`);
  cleanup(built.dir);

  if (PROFILE) {
    const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error("no .cpuprofile written");
    const summary = summariseProfile(join(profDir, file), 25, window);
    printProfile(summary);
    metrics.profile = summary;
    // Keep the raw profile next to the results (open it in Chrome DevTools → Performance).
    mkdirSync(resultsDir, { recursive: true });
    copyFileSync(join(profDir, file), join(resultsDir, "latency-daemon.cpuprofile"));
    cleanup(profDir);
    console.log(`  profile: ${join(resultsDir, "latency-daemon.cpuprofile")}`);
    console.log(`  → ${writeResult("latency-profile", { epics: EPICS, samples: SAMPLES, warmup: WARMUP, profiler: "node --cpu-prof, 200 µs interval" }, metrics)}`);
    return;
  }

  metrics.chokidar_await_write_finish = await chokidarAwaitWriteFinish(AWF_SAMPLES);
  printStats("chokidar awaitWriteFinish:true, rename → add", metrics.chokidar_await_write_finish);
  // The peer a user would write: chokidar awaitWriteFinish + the same validation + an fdatasync'd append (peer.mjs).
  metrics.peer = await peerLatency(AWF_SAMPLES);
  printStats("peer: chokidar AWF + validate + append, → durable", metrics.peer);
  metrics.chokidar_plain = await chokidarPlain(PLAIN_SAMPLES);
  printStats("chokidar (no awaitWriteFinish), rename → add", metrics.chokidar_plain);
  const c = metrics.chokidar_await_write_finish;
  const b = metrics.back_to_back.total;
  metrics.side_by_side = {
    ratio_median: Math.round((c.median_ms / b.median_ms) * 10) / 10,
    ratio_p99: Math.round((c.p99_ms / b.p99_ms) * 10) / 10,
    note: "chokidar awaitWriteFinish rename→add (no validation, no log, no notice) divided by consensus drop→durable decision + notice (back_to_back)",
  };
  metrics.vs_peer = { ratio_median: Math.round((b.median_ms / metrics.peer.median_ms) * 1000) / 1000, ratio_p99: Math.round((b.p99_ms / metrics.peer.p99_ms) * 1000) / 1000, note: "consensus back_to_back drop→durable decision + notice divided by the peer's rename→durable line (peer.mjs); below 1 is faster than the peer" };
  console.log(`  vs the peer: consensus takes ${metrics.vs_peer.ratio_median}× the peer's median (p99 ${metrics.vs_peer.ratio_p99}×)`);
  console.log(`  side by side: chokidar awaitWriteFinish is ${metrics.side_by_side.ratio_median}× the daemon's median (p99 ${metrics.side_by_side.ratio_p99}×)`);
  console.log(`  → ${writeResult("latency", { epics: EPICS, samples_per_mode: SAMPLES, warmup: WARMUP, modes: MODES, daemon_log_level: "info", chokidar_await_write_finish_samples: AWF_SAMPLES, chokidar_stagger_ms: 50, chokidar_plain_samples: PLAIN_SAMPLES }, metrics)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
