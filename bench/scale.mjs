#!/usr/bin/env node
// Benchmark 4 — scale: 10,000 epics in flight (all at stage plan, made through the real engine).
// Measured with the daemon running over them: its start-up (spawn → watcher armed, and → idle), its
// resident memory (VmRSS from /proc/<pid>/status, and the peak VmHWM), the wall time of
// `consensus status --json` (a separate process, as a person or CI runs it), and the latency of one
// more drop (a fresh plan.json for one of the epics), each on an otherwise idle daemon.
import { readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LogTail, QUICK, deadline, waitQuiet, cleanup, epicId, fmt, makeRoot, memOf, now, numArg, printStats, runCli, startDaemon, stats, stopDaemon, writeResult } from "./lib.mjs";
import { measureDrops } from "./latency.mjs";

const EPICS = numArg("epics", QUICK ? 300 : 10_000);
const STATUS_RUNS = numArg("status-runs", QUICK ? 2 : 5);
const DROPS = numArg("drops", QUICK ? 5 : 30);
const MESSAGES = numArg("messages", QUICK ? 3 : 10);

console.log(`scale: ${EPICS} epics in flight`);
const built = await makeRoot({ epics: EPICS, progress: (m) => process.stdout.write(`\r  ${m}   `) });
process.stdout.write("\n");
console.log(`  root made in ${fmt(built.build_ms)} (${built.lines} log lines)`);
const metrics = { epics: EPICS, build_ms: Math.round(built.build_ms) };

const daemon = startDaemon(built.root);
metrics.daemon_ready_ms = Math.round(await daemon.ready);
await waitQuiet(daemon.pid);
metrics.daemon_idle_after_ms = Math.round(now() - daemon.t0);
const m0 = memOf(daemon.pid);
metrics.daemon_rss_bytes = m0.rss;
metrics.daemon_peak_rss_bytes = m0.hwm;
console.log(`  daemon ready in ${fmt(metrics.daemon_ready_ms)}, idle after ${fmt(metrics.daemon_idle_after_ms)}; RSS ${(m0.rss / 2 ** 20).toFixed(0)} MiB (peak ${(m0.hwm / 2 ** 20).toFixed(0)} MiB)`);

const st = [];
let listed = 0;
for (let i = 0; i < STATUS_RUNS; i++) {
  const t0 = now();
  const r = runCli(built.root, "status", "--json");
  st.push(now() - t0);
  if (r.code !== 0) throw new Error(`status --json exited ${r.code}: ${r.stderr}`);
  listed = JSON.parse(r.stdout).length;
}
if (listed !== EPICS) throw new Error(`status --json listed ${listed} epics, not ${EPICS}`);
metrics.status_json = stats(st);
printStats(`consensus status --json (${listed} epics)`, metrics.status_json);
const single = [];
for (let i = 0; i < STATUS_RUNS; i++) {
  const t0 = now();
  runCli(built.root, "status", epicId(EPICS - 1), "--json");
  single.push(now() - t0);
}
metrics.status_one_epic_json = stats(single);
printStats(`consensus status EPIC --json`, metrics.status_one_epic_json);

await waitQuiet(daemon.pid);
const ids = Array.from({ length: DROPS }, (_, i) => epicId(Math.floor((i * EPICS) / DROPS)));
const r = await measureDrops(built.root, daemon, ids, { waitIdle: true, timeoutMs: 300_000 });
metrics.one_more_drop = r;
printStats(`one more drop → durable decision + notice`, r.total);
if (r.to_state_json.n) printStats(`  then: checkpoint + state.json done`, r.to_state_json);
console.log(`    daemon CPU per drop ${r.daemon_cpu_ms_per_drop} ms`);
// A message into the planner's inbox, which holds one notice per epic (10,000 files at full size):
// the watcher re-reads a folder whenever it changes, so this shows what a big folder costs.
{
  const inboxDir = join(built.root, "messages", "inbox", "planner");
  const files = readdirSync(inboxDir).length;
  const tail = new LogTail(built.root);
  const at = new Map();
  let waiter;
  tail.on((e, t) => {
    if (e.decision === "message_accepted" || e.decision === "message_rejected") {
      at.set(e.details?.file, { t, decision: e.decision });
      if (waiter && waiter.file === e.details?.file) waiter.resolve();
    }
  });
  const samples = [];
  for (let i = 0; i < MESSAGES; i++) {
    const epic = epicId(EPICS - 1 - i);
    const name = `bench-msg-${i}.json`;
    const rel = `messages/inbox/planner/${name}`;
    const tmp = join(inboxDir, `.${name}.tmp`);
    writeFileSync(tmp, JSON.stringify({ id: `bench-scale-${i}`, from: "developer", to: "planner", timestamp: "2026-11-22T10:00:00Z", epic_id: epic, iteration: 1, type: "info", subject: "question", content: { q: "bench" } }));
    await waitQuiet(daemon.pid, 200);
    const seen = new Promise((resolve) => (waiter = { file: rel, resolve }));
    const guard = deadline(120_000, `message ${rel}`);
    const ts = now();
    renameSync(tmp, join(inboxDir, name));
    await Promise.race([seen, guard]);
    guard.cancel();
    samples.push(at.get(rel).t - ts);
    if (at.get(rel).decision !== "message_accepted") throw new Error(`message ${rel} was rejected`);
  }
  tail.close();
  metrics.message_into_big_inbox = { inbox_files: files, ...stats(samples), note: "rename into messages/inbox/planner/ → message_accepted entry visible in the log (no notice follows a message)" };
  printStats(`message into a ${files}-file inbox → entry`, metrics.message_into_big_inbox);
  await waitQuiet(daemon.pid);
}
const m1 = memOf(daemon.pid);
metrics.daemon_rss_after_drops_bytes = m1.rss;
metrics.daemon_peak_rss_after_drops_bytes = m1.hwm;
const exit = await stopDaemon(daemon);
if (exit.code !== 0) throw new Error(`daemon exited ${exit.code}\n${daemon.stderr()}`);
if (daemon.errors.length) console.error(`  daemon logged errors:\n${daemon.errors.slice(0, 5).join("\n")}`);
console.log(`  → ${writeResult("scale", { epics: EPICS, status_runs: STATUS_RUNS, drops: DROPS, messages: MESSAGES, daemon_log_level: "info" }, metrics)}`);
cleanup(built.dir);
