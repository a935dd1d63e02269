#!/usr/bin/env node
// Benchmark 3 — throughput: one plan.json per epic for thousands of epics, all renamed into the bus
// at once (their dot-temps written beforehand), against the running daemon. Reported: accepted
// drops per second until every decision is in the log and durable (the notices, written after each
// batch's fsync, are the proof of durability and are timed too), the spread of per-drop times, and
// how many appends (fsync'd batches) the daemon needed.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { summariseProfile, printProfile } from "./profile.mjs";
import { peerThroughput } from "./peer.mjs";
import { DirWatch, LogTail, QUICK, arg, cpuMs, threadCpuMs, perDropByThread, sysMs, procTimesMs, daemonPauses, filesFloor, flag, waitQuiet, cleanup, deadline, epicId, fmt, makeRoot, memOf, now, numArg, planFor, printStats, stageDrop, startDaemon, stats, stopDaemon, writeResult, settleDisk } from "./lib.mjs";

const EPICS = numArg("epics", QUICK ? 200 : 2000);
// --tag X writes throughput-X.json instead (for a series of sizes).
const TAG = arg("tag");
// --warm N: a first burst of N drops (other epics) is decided before the measured one, so the daemon
// measured is one that has run a while (its hot code compiled by V8's optimising compiler on the
// background threads, its caches filled), as a daemon in service is; without it, a daemon just started.
const WARM = numArg("warm", 0);

console.log(`throughput: ${EPICS} epics, one plan.json each, dropped at once`);
const built = await makeRoot({ epics: EPICS + WARM });
console.log(`  root made in ${fmt(built.build_ms)}`);
const daemon = startDaemon(built.root);
await daemon.ready;
await waitQuiet(daemon.pid);

const ids = Array.from({ length: EPICS }, (_, i) => epicId(WARM + i));
const drops = ids.map((id) => stageDrop(built.root, id, "plan.json", planFor(id)));
if (WARM) {
  const warmTail = new LogTail(built.root);
  let warmed = 0;
  let wake = () => {};
  warmTail.on((e) => e.decision === "stage_advanced" && e.details?.to === "implementation" && (warmed++, wake()));
  const guard = deadline(30 * 60_000, `${WARM} warm-up decisions`);
  for (let i = 0; i < WARM; i++) stageDrop(built.root, epicId(i), "plan.json", planFor(epicId(i)))();
  const net = setInterval(() => warmTail.sync(), 50);
  while (warmed < WARM) await Promise.race([new Promise((r) => (wake = r)), guard]);
  clearInterval(net);
  guard.cancel();
  warmTail.close();
  console.log(`  warm-up: ${WARM} drops decided before the measured burst`);
}
await waitQuiet(daemon.pid);
settleDisk(built.root);

const tail = new LogTail(built.root);
const inbox = new DirWatch(join(built.root, "messages", "inbox", "developer"));
const seen = new Map();
const stamps = new Set();
let rejected = 0;
let allIn;
const allInP = new Promise((r) => (allIn = r));
tail.on((e, t) => {
  if (e.agent === "orchestrator" && e.timestamp) stamps.add(e.timestamp);
  if (e.decision === "artifact_rejected" || e.decision === "input_failed") rejected++;
  if (e.decision === "stage_advanced" && e.details?.to === "implementation" && !seen.has(e.epic_id)) {
    seen.set(e.epic_id, { t, seq: e.seq });
    if (seen.size === EPICS) allIn(t);
  }
});
const cpu0 = cpuMs(daemon.pid);
const self0 = process.cpuUsage();
const threads0 = threadCpuMs(daemon.pid);
const sys0 = sysMs(daemon.pid);
// The profile window (CLOCK_MONOTONIC µs, V8's profile clock): the burst only, start-up left out.
const hr = () => Number(process.hrtime.bigint() / 1000n);
const window = { from: hr(), to: Infinity };
const t0 = now();
for (const d of drops) d();
const tRenamed = now();
const guard = deadline(30 * 60_000, "all decisions");
const net = setInterval(() => tail.sync(), 50);
const tAll = await Promise.race([allInP, guard, daemon.exited.then(() => Promise.reject(new Error(`daemon exited\n${daemon.stderr()}`)))]);
clearInterval(net);
// Every notice (written after its batch's fsync) must be there too.
let tNotices = tAll;
for (const [epic, { seq }] of seen) tNotices = Math.max(tNotices, await Promise.race([inbox.when(`notice-${String(seq).padStart(8, "0")}-${epic}-stage_entered.yaml`), guard]));
guard.cancel();
window.to = hr();
const cpu = cpuMs(daemon.pid) - cpu0;
const selfCpu = process.cpuUsage(self0);
const threads = threadCpuMs(daemon.pid, threads0);
const sys = sysMs(daemon.pid) - sys0;
const mem = memOf(daemon.pid);
// With BENCH_DAEMON_ARGS="--metrics-port 0": the daemon's GC pauses and event-loop delay (whole run).
const pauses = await daemonPauses(daemon);
tail.close();
inbox.close();
const exit = await stopDaemon(daemon);
if (exit.code !== 0) throw new Error(`daemon exited ${exit.code}\n${daemon.stderr()}`);
const notices = readdirSync(join(built.root, "messages", "inbox", "developer")).filter((n) => n.startsWith("notice-")).length;

const perDrop = stats([...seen.values()].map((s) => s.t - t0));
const metrics = {
  accepted: seen.size,
  rejected,
  rename_phase_ms: Math.round(tRenamed - t0),
  all_durable_ms: Math.round(tAll - t0),
  all_notices_ms: Math.round(tNotices - t0),
  accepted_per_s: Math.round((EPICS / (tAll - t0)) * 1000 * 10) / 10,
  accepted_per_s_with_notices: Math.round((EPICS / (tNotices - t0)) * 1000 * 10) / 10,
  time_to_decision: perDrop,
  appends: stamps.size,
  mean_entries_per_append: Math.round(((seen.size * 2) / stamps.size) * 10) / 10,
  daemon_cpu_ms: Math.round(cpu),
  daemon_cpu_ms_per_drop: Math.round((cpu / EPICS) * 100) / 100,
  daemon_sys_ms_per_drop: Math.round((sys / EPICS) * 100) / 100,
  // the event loop's thread, and every other (V8's compiler and GC helpers, libuv's pool, workers)
  daemon_main_thread_cpu_ms_per_drop: Math.round((threads.main / EPICS) * 100) / 100,
  daemon_other_threads_cpu_ms_per_drop: Math.round((threads.others / EPICS) * 100) / 100,
  // the same CPU by thread, named by TID − PID (0 the main thread; every thread is named "node", so
  // the order of creation tells them apart: V8's platform threads first, then the pool and workers)
  daemon_cpu_ms_per_drop_by_thread: perDropByThread(threads, EPICS),
  // this process's own CPU in the window (tailing the log, watching the inbox): it shares the cores
  bench_cpu_ms_per_drop: Math.round(((selfCpu.user + selfCpu.system) / 1000 / EPICS) * 1000) / 1000,
  warm_up_drops: WARM,
  daemon_rss_bytes: mem.rss,
  daemon_peak_rss_bytes: mem.hwm,
  notices_written: notices,
  ...(pauses ? { daemon_pauses: pauses } : {}),
};
// the files the protocol makes per drop, alone, on the same file system (lib.mjs filesFloor)
metrics.files_floor = filesFloor(EPICS, Buffer.byteLength(planFor(ids[0])));
metrics.cpu_vs_files_floor = Math.round((metrics.daemon_cpu_ms_per_drop / metrics.files_floor.cpu_ms_per_drop) * 100) / 100;
console.log(`  ${EPICS} drops renamed in ${fmt(metrics.rename_phase_ms)}; all ${seen.size} decisions durable after ${fmt(metrics.all_durable_ms)} (${rejected} rejected)`);
console.log(`  throughput: ${metrics.accepted_per_s} accepted/s (${metrics.accepted_per_s_with_notices}/s counting the notices)`);
printStats("time from the mass rename to each decision", perDrop);
console.log(`  ${metrics.appends} appends (≈${metrics.mean_entries_per_append} entries each); daemon CPU ${metrics.daemon_cpu_ms_per_drop} ms/drop (${metrics.daemon_sys_ms_per_drop} of it in the kernel); RSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB`);
console.log(`  of which the main thread ${metrics.daemon_main_thread_cpu_ms_per_drop} ms/drop, the other threads (V8's compiler and GC helpers, libuv's pool, workers) ${metrics.daemon_other_threads_cpu_ms_per_drop}`);
console.log(`  the benchmark's own CPU (tailing the log, watching the inbox) ${metrics.bench_cpu_ms_per_drop} ms/drop, on the same cores`);
console.log(`  by thread (TID − PID), ms/drop: ${Object.entries(metrics.daemon_cpu_ms_per_drop_by_thread).map(([k, v]) => `${k}: ${v}`).join(", ")}`);
console.log(`  files floor (2 folders + 2 files per drop, alone, same file system): ${metrics.files_floor.cpu_ms_per_drop} ms CPU/drop (${metrics.files_floor.sys_ms_per_drop} kernel); the daemon ${metrics.cpu_vs_files_floor}× that`);
if (pauses) console.log(`  daemon GC: ${Object.entries(pauses.gc).map(([k, g]) => `${k} ${g.count} (${g.total_ms} ms)`).join(", ")}; event-loop delay p99 ${pauses.eventloop_delay_ms.p99} ms`);
// The peer (peer.mjs) given the same burst: chokidar awaitWriteFinish + validate + fdatasync'd append per file.
if (!process.env.BENCH_CPU_PROF_DIR && !flag("no-peer")) {
  metrics.peer = await peerThroughput(EPICS);
  metrics.vs_peer = { ratio: Math.round((metrics.accepted_per_s / metrics.peer.accepted_per_s) * 100) / 100, note: "consensus accepted/s divided by the peer's (above 1 is faster than the peer)" };
  console.log(`  peer (chokidar AWF + validate + append): ${metrics.peer.accepted_per_s}/s; consensus is ${metrics.vs_peer.ratio}× the peer's rate`);
}
// BENCH_CPU_PROF_DIR=dir (lib.mjs startDaemon): the burst's profile, summarised.
const profDir = process.env.BENCH_CPU_PROF_DIR;
const prof = profDir && readdirSync(profDir).filter((f) => f.endsWith(".cpuprofile") && f.includes(`.${daemon.pid}.`))[0];
if (prof) {
  metrics.profile = summariseProfile(join(profDir, prof), 40, window);
  printProfile(metrics.profile);
}
console.log(`  → ${writeResult(TAG ? `throughput-${TAG}` : "throughput", { epics: EPICS, drops: EPICS, daemon_log_level: "info" }, metrics)}`);
cleanup(built.dir);

