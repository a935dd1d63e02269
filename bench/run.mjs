#!/usr/bin/env node
// npm run bench [-- --quick] [-- --only latency,scale]: runs every benchmark as its own process (so
// one's memory and open watchers never colour the next), then prints one table: median, p99, each
// drop latency as a multiple of the floor measured in the same run, and as a multiple of the peer a
// user would otherwise write (peer.mjs: chokidar awaitWriteFinish + validate + append). Each
// benchmark writes bench/results/<name>.json; the run fails if one fails or does not write its JSON.
// --gate (bench:quick, so CI): also fails when a median's ratio to its floor grew more than 2× over
// the ratio recorded in bench/gate.json (gate.mjs); --record rewrites that file from this run.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { QUICK, arg, fmt, repo, resultsDir, tempDir, writeResult } from "./lib.mjs";
import { GROWTH, checkGate, gateRatios, recordGate } from "./gate.mjs";

const SUITE = [
  { name: "floor", script: "floor.mjs", result: "floor" },
  { name: "latency", script: "latency.mjs", result: "latency" },
  { name: "latency-profile", script: "latency.mjs", args: ["--profile"], result: "latency-profile" },
  { name: "phases", script: "phases.mjs", result: "phases" },
  { name: "throughput", script: "throughput.mjs", result: "throughput" },
  // the same burst against a daemon that has already decided as many drops (a daemon in service)
  { name: "throughput-warm", script: "throughput.mjs", args: ["--warm", QUICK ? "200" : "2000", "--tag", "warm", "--no-peer"], result: "throughput-warm" },
  { name: "scale", script: "scale.mjs", result: "scale" },
  { name: "recovery", script: "recovery.mjs", result: "recovery" },
  { name: "mcp", script: "mcp.mjs", result: "mcp" },
  { name: "pg", script: "pg.mjs", result: "pg" },
  { name: "startup", script: "startup.mjs", result: "startup" },
];
// --table: only print the table of the results already in bench/results/.
const TABLE_ONLY = process.argv.includes("--table");
const only = TABLE_ONLY ? [] : arg("only")?.split(",");
const started = Date.now();
const failures = [];
const timings = {};
// every benchmark's folders are removed once all have run (lib.mjs cleanup: a deletion slows the
// file creations of whatever runs next on ext4 without a journal)
const trash = tempDir("consensus-bench-trash-");
process.env.BENCH_TRASH = trash;
for (const b of SUITE) {
  if (only && !only.includes(b.name)) continue;
  const resultPath = join(resultsDir, `${b.result}.json`);
  const before = existsSync(resultPath) ? statSync(resultPath).mtimeMs : 0;
  console.log(`\n=== ${b.name}${QUICK ? " (quick)" : ""} ===`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(repo, "bench", b.script), ...(b.args ?? []), ...(QUICK ? ["--quick"] : [])], { stdio: "inherit", env: { ...process.env, ...(QUICK ? { BENCH_QUICK: "1" } : {}) } });
  timings[b.name] = Date.now() - t0;
  const wrote = existsSync(resultPath) && statSync(resultPath).mtimeMs > before;
  if (r.status !== 0 || !wrote) failures.push(`${b.name}: ${r.status !== 0 ? `exited ${r.status ?? r.signal}` : ""}${!wrote ? " wrote no result JSON" : ""}`);
  else {
    const doc = JSON.parse(readFileSync(resultPath, "utf8"));
    for (const k of ["name", "date", "machine", "params", "metrics"]) if (!(k in doc)) failures.push(`${b.name}: result JSON has no ${k}`);
  }
}
rmSync(trash, { recursive: true, force: true });

const load = (n) => {
  try {
    return JSON.parse(readFileSync(join(resultsDir, `${n}.json`), "utf8"));
  } catch {
    return undefined;
  }
};
const floor = load("floor")?.metrics;
const rows = [];
const ratio = (v, f) => (f && Number.isFinite(v) ? `${v / f >= 10 ? (v / f).toFixed(1) : (v / f).toPrecision(2)}×` : "");
/** A latency row: median and p99, and their multiples of the drop floor (none when nothing was sampled, n = 0). */
/** peer: the peer's result for the same job (its median, or its rate for a throughput row), for the ×peer column. */
/** against: the floor to set it against (the hot floor of one drop unless given). */
const lat = (bench, what, s, vsFloor = true, peer, against = floor?.drop_floor) => s?.n !== 0 && s && rows.push([bench, what, fmt(s.median_ms), fmt(s.p99_ms), vsFloor ? ratio(s.median_ms, against?.median_ms) : "", vsFloor ? ratio(s.p99_ms, against?.p99_ms) : "", peer ? ratio(s.median_ms, peer.median_ms) : ""]);
const val = (bench, what, v, vsPeer = "") => v !== undefined && rows.push([bench, what, v, "", "", "", vsPeer]);
const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;

if (floor) {
  lat("floor", "rename seen by fs.watch", floor.rename_seen, false);
  lat("floor", "300 B append + fsync", floor.append_fsync, false);
  lat("floor", "300 B append + fdatasync", floor.append_fdatasync, false);
  lat("floor", "atomic write (tmp+fsync+rename)", floor.atomic_write, false);
  lat("floor", "= floor of one drop (sum)", floor.drop_floor);
  // ×floor of this row: the idle floor against the hot one
  lat("floor", "  the same after 50 ms idle (sum)", floor.drop_floor_idle);
}
const L = load("latency")?.metrics;
if (L) {
  lat("latency", "drop → decision (back to back)", L.back_to_back?.total, true, L.peer);
  lat("latency", "drop → decision (idle daemon)", L.idle?.total, true, L.peer);
  lat("latency", "  idle ÷ the idle floor", floor?.drop_floor_idle && L.idle?.total, true, undefined, floor?.drop_floor_idle);
  lat("latency", "  idle: → checkpoint+state.json", L.idle?.to_state_json);
  lat("side by side", "peer: chokidar AWF+validate+append", L.peer);
  lat("side by side", "chokidar awaitWriteFinish → add", L.chokidar_await_write_finish);
  lat("side by side", "chokidar (plain) → add", L.chokidar_plain);
  val("side by side", "chokidar AWF ÷ consensus (median)", L.side_by_side ? `${L.side_by_side.ratio_median}×` : undefined);
  val("side by side", "chokidar AWF ÷ consensus (p99)", L.side_by_side ? `${L.side_by_side.ratio_p99}×` : undefined);
}
const P = load("phases")?.metrics;
if (P) {
  lat("phases", "prepare (read, hash, parse, validate)", P.prepare, false);
  lat("phases", "Engine.process (decide→fsync→notice)", P.process, false);
  lat("phases", "  store.putBlob (durable)", P["store.putBlob"], false);
  lat("phases", "  store.append (write + fdatasync)", P["store.append"], false);
  lat("phases", "  store.publish + deliver", P["store.publish"] && P["store.deliver"] ? { median_ms: P["store.publish"].median_ms + P["store.deliver"].median_ms, p99_ms: P["store.publish"].p99_ms + P["store.deliver"].p99_ms } : undefined, false);
  lat("phases", "then checkpoint + state.json", P.checkpoint, false);
}
const T = load("throughput");
if (T) {
  const m = T.metrics;
  val("throughput", `${T.params.drops} drops at once: accepted/s`, `${m.accepted_per_s}/s`, m.peer ? `${(m.accepted_per_s / m.peer.accepted_per_s).toFixed(1)}× rate` : "");
  if (m.peer) val("throughput", "  peer (chokidar AWF+validate+append)", `${m.peer.accepted_per_s}/s`);
  if (floor) val("throughput", "  time per drop ÷ floor of one drop", ratio(1000 / m.accepted_per_s, floor.drop_floor.median_ms));
  val("throughput", "  accepted/s incl. notices", `${m.accepted_per_s_with_notices}/s`);
  val("throughput", "  all durable after", fmt(m.all_durable_ms));
  lat("throughput", "  time to each decision", m.time_to_decision);
}
const W = load("throughput-warm");
if (W) {
  const m = W.metrics;
  val("throughput", `  the same after ${m.warm_up_drops} warm-up drops: accepted/s`, `${m.accepted_per_s}/s`);
  val("throughput", "  daemon CPU per drop: just started / warm", `${T ? `${T.metrics.daemon_cpu_ms_per_drop} ms / ` : ""}${m.daemon_cpu_ms_per_drop} ms`);
}
const S = load("scale");
if (S) {
  const m = S.metrics;
  val("scale", `${m.epics} epics: daemon RSS`, `${mib(m.daemon_rss_bytes)} (after drops ${mib(m.daemon_rss_after_drops_bytes)})`);
  val("scale", "  daemon ready / idle", `${fmt(m.daemon_ready_ms)} / ${fmt(m.daemon_idle_after_ms)}`);
  lat("scale", "  status --json", m.status_json, false);
  lat("scale", "  one more drop → decision", m.one_more_drop?.total);
  lat("scale", "  message into big inbox → entry", m.message_into_big_inbox);
}
const R = load("recovery");
if (R) {
  const m = R.metrics;
  val("recovery", `${m.log_lines} lines, ${m.epics} epics`, `${mib(m.log_bytes)} log, ${mib(m.checkpoint_bytes)} checkpoint.json + ${mib(m.checkpoint_keys_bytes ?? 0)} checkpoint.keys`);
  for (const k of ["warm", "cold"]) if (m[k]) val("recovery", `  ${k}: ready / caught up`, m[k].ok ? `${fmt(m[k].ready_ms)} / ${fmt(m[k].caught_up_ms)} (peak ${mib(m[k].peak_rss_bytes)})` : `FAILED: ${String(m[k].error).split("\n")[0].slice(0, 80)}`);
  if (m.once) val("recovery", "  watch --once", m.once.ok ? fmt(m.once.ms) : "FAILED");
}
const M = load("mcp")?.metrics;
if (M) {
  lat("mcp", "file drop → decision visible", M.file_drop);
  lat("mcp", "submit_artifact (stdio) → verdict", M.mcp_stdio);
  lat("mcp", "submit_artifact (http) → verdict", M.mcp_http);
  lat("mcp", "submit_artifact, no daemon → verdict", M.mcp_stdio_no_daemon);
}
const G = load("pg");
if (G) {
  const m = G.metrics;
  for (const [n, r] of Object.entries(m.runs ?? {})) {
    lat("pg", `${n} daemon(s): input row → decision`, r.latency);
    val("pg", `  ${n} daemon(s): ${G.params.epics} rows at once: accepted/s`, `${r.throughput.accepted_per_s}/s`);
  }
  if (m.db_share) val("pg", "  in-process: time waiting on the database", `${Math.round(m.db_share.db_wait_share * 100)}%`);
  if (m.anchor?.jobs_per_s) val("pg", `  anchor: graphile-worker no-op jobs/s`, `${m.anchor.jobs_per_s}/s`);
}
const U = load("startup")?.metrics;
if (U) {
  for (const [k, what] of [["floor_node", "node -e 0 (the floor)"], ["version", "consensus --version"], ["status", "consensus status (5 epics)"], ["watch_once", "consensus watch --once"]]) {
    if (U[k]) val("startup", `${what}: wall / cpu (median)`, `${fmt(U[k].wall.median_ms)} / ${fmt(U[k].cpu.median_ms)}`);
  }
}
const HEAD = ["benchmark", "metric", "median", "p99", "×floor", "×floor p99", "×peer"];
const widths = HEAD.map((_, i) => Math.max(...[HEAD, ...rows].map((r) => String(r[i]).length)));
const line = (r) => r.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");
console.log(`\n${line(HEAD)}`);
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
if (!TABLE_ONLY) console.log(`\nsuite took ${((Date.now() - started) / 1000).toFixed(0)} s${QUICK ? " (quick)" : ""}; per benchmark: ${Object.entries(timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(0)} s`).join(", ")}`);
// The regression gate (gate.mjs): --gate compares the ratios with bench/gate.json, --record rewrites it.
// only results this run wrote (an older JSON left in bench/results/ must not pass for this run's)
const ran = new Set(Object.keys(timings).map((n) => SUITE.find((b) => b.name === n)?.result));
const ratios = gateRatios((n) => (ran.has(n) ? load(n) : undefined));
let gate;
if (process.argv.includes("--record")) {
  if (failures.length) failures.push("gate: not recorded (the run failed)");
  else console.log(`\ngate: recorded ${Object.keys(ratios).length} ratios in ${recordGate(ratios, arg("note") ?? "", process.argv.includes("--fresh"))}`);
} else if (process.argv.includes("--gate")) {
  gate = checkGate(ratios);
  console.log(`\ngate (fails when a ratio grows more than ${GROWTH}× over bench/gate.json):`);
  for (const r of gate.rows) console.log(`  ${r.ok ? "ok  " : "FAIL"}  ${r.ratio.padEnd(34)} recorded ${String(r.recorded).padStart(8)}  now ${String(r.now).padStart(8)}  (${r.growth}×)`);
  failures.push(...gate.failures.map((f) => `gate: ${f}`));
}
if (!TABLE_ONLY) writeResult("summary", { quick: QUICK, only: only ?? "all" }, { rows, timings_ms: timings, ratios, ...(gate ? { gate } : {}), failures });
if (failures.length) {
  console.error(`\nFAILED:\n  ${failures.join("\n  ")}`);
  process.exitCode = 1;
}
