#!/usr/bin/env node
// Benchmark 5 — recovery: a root with 10,000 epics and a 1,000,000-line decision log (10,000
// epic_started entries plus 99 accepted `info` messages per epic, all committed by the real engine
// with its hash chain). With the daemon down, plan.json files are dropped for some epics; then:
//   warm     `consensus watch` with the checkpoint in place: spawn → ready (watcher armed) and
//            spawn → every file dropped while down has its durable decision and notice
//   once     `consensus watch --once` over a fresh set of drops: spawn → exit
//   cold     the checkpoint deleted, so the whole log is replayed: spawn → ready and → caught up
// Plus `consensus status --json`, `consensus log verify` and `consensus gate` over the same root.
import { existsSync, rmSync, statSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { DirWatch, LogTail, QUICK, cpuMs, cli, cleanup, deadline, epicId, fmt, makeRoot, memOf, noticeName, now, numArg, planFor, printStats, runCli, stageDrop, startDaemon, stats, stopDaemon, writeResult } from "./lib.mjs";

const EPICS = numArg("epics", QUICK ? 200 : 10_000);
const LINES = numArg("lines", QUICK ? 4_000 : 1_000_000);
const DROPS = numArg("drops", QUICK ? 10 : 100);
const FILLER = Math.max(0, Math.round((LINES - EPICS) / EPICS));

console.log(`recovery: ${EPICS} epics, target ${LINES} log lines (${FILLER} filler messages per epic), ${DROPS} drops while down per phase`);
const t0 = now();
const built = await makeRoot({ epics: EPICS, fillerPerEpic: FILLER, progress: (m) => process.stdout.write(`\r  ${m}      `) });
process.stdout.write("\n");
const logPath = join(built.root, "current", "decision_log.jsonl");
const cpPath = join(built.root, ".consensus", "checkpoint.json");
const keysPath = join(built.root, ".consensus", "checkpoint.keys");
const metrics = {
  epics: EPICS,
  log_lines: built.lines,
  log_bytes: statSync(logPath).size,
  checkpoint_bytes: statSync(cpPath).size,
  checkpoint_keys_bytes: existsSync(keysPath) ? statSync(keysPath).size : 0,
  build_ms: Math.round(now() - t0),
};
console.log(`  reached ${built.lines} lines (${(metrics.log_bytes / 2 ** 20).toFixed(0)} MiB log, ${(metrics.checkpoint_bytes / 2 ** 20).toFixed(1)} MiB checkpoint.json + ${(metrics.checkpoint_keys_bytes / 2 ** 20).toFixed(1)} MiB checkpoint.keys) in ${fmt(metrics.build_ms)}`);

let next = 0;
const dropWhileDown = () => {
  const ids = Array.from({ length: DROPS }, () => epicId(next++));
  for (const id of ids) stageDrop(built.root, id, "plan.json", planFor(id))();
  return ids;
};

/** Spawns the daemon and times ready and caught-up (all `ids` decided and their notices written). */
async function restart(label, ids) {
  const tail = new LogTail(built.root);
  const inbox = new DirWatch(join(built.root, "messages", "inbox", "developer"));
  const want = new Set(ids);
  const got = new Map();
  let done;
  const all = new Promise((r) => (done = r));
  tail.on((e, t) => {
    if (e.decision === "stage_advanced" && want.has(e.epic_id) && !got.has(e.epic_id)) {
      got.set(e.epic_id, { t, seq: e.seq });
      if (got.size === want.size) done(t);
    }
  });
  const net = setInterval(() => tail.sync(), 100);
  const d = startDaemon(built.root);
  const out = { ok: false };
  try {
    const guard = deadline(30 * 60_000, `${label}: catching up`);
    const died = d.exited.then((x) => Promise.reject(new Error(`daemon exited (${x.code ?? x.sig}) during ${label}\n${d.stderr().slice(-3000)}`)));
    died.catch(() => {});
    out.ready_ms = Math.round(await Promise.race([d.ready, guard, died]));
    // CPU the daemon spent to get ready (all its threads): less load-bound than the wall time
    out.ready_cpu_ms = Math.round(cpuMs(d.pid));
    out.errors_logged = d.errors.length;
    const tAll = await Promise.race([all, guard, died]);
    let tN = tAll;
    for (const [epic, { seq }] of got) tN = Math.max(tN, await Promise.race([inbox.when(noticeName(seq, epic)), guard, died]));
    guard.cancel();
    out.caught_up_ms = Math.round(tN - d.t0);
    const m = memOf(d.pid);
    out.rss_bytes = m.rss;
    out.peak_rss_bytes = m.hwm;
    out.ok = true;
  } catch (e) {
    out.error = String(e.message).slice(0, 4000);
    console.error(`  ${label} failed: ${out.error.slice(0, 600)}`);
  } finally {
    clearInterval(net);
    tail.close();
    inbox.close();
    const x = await stopDaemon(d);
    out.exit_code = x.code;
  }
  if (out.ok) console.log(`  ${label.padEnd(6)} ready after ${fmt(out.ready_ms)} (${fmt(out.ready_cpu_ms)} of CPU, ${out.errors_logged} errors logged), caught up with ${ids.length} drops after ${fmt(out.caught_up_ms)}; peak RSS ${(out.peak_rss_bytes / 2 ** 20).toFixed(0)} MiB`);
  return out;
}

metrics.warm = await restart("warm", dropWhileDown());

// watch --once: handle what is pending and exit.
{
  const ids = dropWhileDown();
  const tail = new LogTail(built.root);
  let decided = 0;
  tail.on((e) => {
    if (e.decision === "stage_advanced" && ids.includes(e.epic_id)) decided++;
  });
  const ts = now();
  const child = spawn(process.execPath, [cli, "--root", built.root, "watch", "--once", "--log-level", "warn"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (b) => (err += b));
  const code = await new Promise((r) => child.once("exit", r));
  const ms = now() - ts;
  tail.sync();
  tail.close();
  metrics.once = { ok: code === 0 && decided === ids.length, exit_code: code, ms: Math.round(ms), decided, ...(code !== 0 ? { error: err.slice(-3000) } : {}) };
  console.log(`  once   watch --once handled ${decided}/${ids.length} drops and exited (${code}) after ${fmt(ms)}`);
}

// status and log verify over the big root.
{
  const s = [];
  for (let i = 0; i < (QUICK ? 1 : 3); i++) {
    const ts = now();
    const r = runCli(built.root, "status", "--json");
    s.push(now() - ts);
    if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
  }
  metrics.status_json = stats(s);
  printStats("status --json over the big log", metrics.status_json);
  const tv = now();
  const v = runCli(built.root, "log", "verify");
  metrics.log_verify = { ms: Math.round(now() - tv), exit_code: v.code, out: v.stdout.trim().slice(0, 300) };
  console.log(`  log verify: exit ${v.code} after ${fmt(metrics.log_verify.ms)}: ${metrics.log_verify.out.split("\n")[0]}`);
  // the merge gate reads the log three times (verify, the store's state, the epic from the log's own lines)
  const tg = now();
  const gv = runCli(built.root, "gate", epicId(0), "--format", "json");
  const verdict = JSON.parse(gv.stdout);
  const read = verdict.checks.filter((c) => ["store", "log", "state"].includes(c.id) && c.status === "pass").length;
  if (gv.code !== 1 || read !== 3) throw new Error(`gate: expected closed (in progress) with store, log and state read: ${gv.stdout.slice(0, 500)}`);
  metrics.gate = { ms: Math.round(now() - tg), exit_code: gv.code };
  console.log(`  gate ${epicId(0)}: exit ${gv.code} (in progress; store, log and state checked) after ${fmt(metrics.gate.ms)}`);
}

// Cold: no checkpoint, the whole log is replayed.
rmSync(cpPath, { force: true });
if (existsSync(cpPath)) throw new Error("checkpoint still there");
metrics.cold = await restart("cold", dropWhileDown());

console.log(`  → ${writeResult("recovery", { epics: EPICS, target_lines: LINES, filler_per_epic: FILLER, drops_while_down: DROPS, daemon_log_level: "info" }, metrics)}`);
cleanup(built.dir);
if (!metrics.warm.ok || !metrics.once.ok || !metrics.cold.ok) process.exitCode = 1;
