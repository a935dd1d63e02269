// Shared helpers of the benchmark suite: percentiles, the result writer, a root with N epics made
// through the real engine, the real daemon as a child process, and a tail of the decision log that
// is driven by fs.watch (never by sleeps).
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, realpathSync, renameSync, rmSync, watch, writeFileSync, writeSync } from "node:fs";
import { cpus, freemem, loadavg, platform, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

export const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
export const cli = join(repo, "bin", "consensus.js");
export const resultsDir = join(repo, "bench", "results");
export const now = () => performance.now();

// ---------------------------------------------------------------------------------------------
// Options

export const QUICK = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";
/** `--name value` or `--name=value` from argv, else the default. */
export function arg(name, dflt) {
  const a = process.argv;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === `--${name}`) return a[i + 1];
    if (a[i].startsWith(`--${name}=`)) return a[i].slice(name.length + 3);
  }
  return dflt;
}
export const numArg = (name, dflt) => Number(arg(name, dflt));
export const flag = (name) => process.argv.includes(`--${name}`);

// ---------------------------------------------------------------------------------------------
// Statistics

/** Percentile with linear interpolation between closest ranks (p in 0..100). */
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  if (sorted.length === 1) return sorted[0];
  const r = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(r);
  const hi = Math.ceil(r);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (r - lo);
}

/** Summary of a list of millisecond samples. */
export function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  const r = (x) => Math.round(x * 1000) / 1000;
  return { n: s.length, median_ms: r(percentile(s, 50)), p99_ms: r(percentile(s, 99)), mean_ms: r(sum / (s.length || 1)), min_ms: r(s[0] ?? NaN), max_ms: r(s[s.length - 1] ?? NaN) };
}

/**
 * A latency histogram: counts of samples per power-of-two bucket in ms, as
 * [{ le_ms, count }] where le_ms is the bucket's upper edge (Infinity for the last); empty buckets at
 * both ends are left out. Percentiles hide the shape of a tail; this shows it (issue 17).
 */
export function histogram(samples) {
  const edges = [];
  for (let e = 0.0625; e <= 4096; e *= 2) edges.push(e);
  const counts = new Array(edges.length + 1).fill(0);
  for (const x of samples) {
    let i = 0;
    while (i < edges.length && x > edges[i]) i++;
    counts[i]++;
  }
  const rows = counts.map((count, i) => ({ le_ms: edges[i] ?? null, count }));
  const first = rows.findIndex((r) => r.count > 0);
  const last = rows.length - 1 - [...rows].reverse().findIndex((r) => r.count > 0);
  return first === -1 ? [] : rows.slice(first, last + 1);
}

/** Prints a histogram as bars (le_ms null = the overflow bucket). */
export function printHistogram(label, h) {
  const total = h.reduce((a, r) => a + r.count, 0);
  const max = Math.max(1, ...h.map((r) => r.count));
  console.log(`  ${label} (n=${total}):`);
  for (const r of h) console.log(`    ≤ ${(r.le_ms === null ? "∞" : fmt(r.le_ms)).padStart(10)}  ${String(r.count).padStart(6)}  ${"#".repeat(Math.ceil((r.count / max) * 50))}`);
}

export const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(3)} ms`);

// ---------------------------------------------------------------------------------------------
// Results

export function machine() {
  const c = cpus();
  return { cpus: c.length, model: c[0]?.model ?? "unknown", mem: totalmem(), mem_free_at_start: freemem(), loadavg_at_write: loadavg().map((x) => Math.round(x * 100) / 100), node: process.version, platform: `${platform()} ${process.arch}` };
}

/** Writes bench/results/<name>.json and returns its path. */
export function writeResult(name, params, metrics) {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}.json`);
  const doc = { name, date: new Date().toISOString(), quick: QUICK, machine: machine(), params, metrics };
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
  return path;
}

/** One line per metric, for the console. */
export function printStats(label, s) {
  console.log(`  ${label.padEnd(44)} median ${fmt(s.median_ms).padStart(10)}   p99 ${fmt(s.p99_ms).padStart(10)}   (n=${s.n})`);
}

// ---------------------------------------------------------------------------------------------
// Roots

export function tempDir(prefix = "consensus-bench-") {
  return mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), prefix));
}

export function runCli(root, ...args) {
  const r = spawnSync(process.execPath, [cli, "--root", root, ...args], { encoding: "utf8", env: { ...process.env, CONSENSUS_USER: "bench" }, maxBuffer: 1 << 30 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export const epicId = (i) => `EP-${String(i).padStart(6, "0")}`;

const fixturePlan = JSON.parse(readFileSync(join(repo, "test", "fixtures", "valid", "plan.json"), "utf8"));
/** A valid plan.json for the epic (the fixture with epic_id and iteration patched). */
export function planFor(epic, iteration = 1) {
  return `${JSON.stringify({ ...fixturePlan, epic_id: epic, iteration }, null, 2)}\n`;
}

/** Writes the dot-temp of a per-epic drop now; returns the function that renames it into place. */
export function stageDrop(root, epic, name, content) {
  const dir = join(root, "artifacts", epic);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${name}.tmp`);
  const target = join(dir, name);
  writeFileSync(tmp, content);
  return () => renameSync(tmp, target);
}

/**
 * A root with `epics` epics at stage plan, made through the real product: `consensus init`, then the
 * same engine `consensus start` uses when no daemon runs (writer lease, Engine.process, checkpoint),
 * 1,000 starts per commit instead of one process per epic. `fillerPerEpic` adds that many accepted
 * `info` messages per epic (one log line each, no file effects) to grow the log for the recovery run.
 */
export async function makeRoot(opts) {
  const { epics, fillerPerEpic = 0, batch = 1000, progress = () => {} } = opts;
  const dir = opts.dir ?? tempDir();
  const root = join(dir, "consensus");
  const init = runCli(root, "init");
  if (init.code !== 0) throw new Error(`consensus init failed: ${init.stderr}`);
  const { L, pipeline, store, Engine, silentLogger } = await inProcess(root);
  const { interpretMessage } = await import(join(repo, "dist/schemas/interpret.js"));
  const { createHash } = await import("node:crypto");
  const lease = await store.lease("command", "bench make-root");
  const t0 = now();
  let lines = 0;
  try {
    // the daemon key, made as the daemon's first start makes it: notices are sealed as a running
    // daemon seals them (else a later start finds every notice of a replay the wrong size and rewrites it)
    const { ensureKeyring } = await import(join(repo, "dist/trust/key-file.js"));
    const { keyring } = await ensureKeyring(L.dot);
    // and with the root's real path, as the daemon opens it: notices then carry the same paths (a
    // notice in another form is rewritten by a cold replay, a cost no daemon-made root has)
    const engine = await Engine.open(pipeline, store, silentLogger(), { keys: () => keyring, root: realpathSync(root) });
    const commit = async (items) => {
      const out = await engine.process(items);
      for (const o of out) {
        if (o.status === "committed") lines += o.entries.length;
        else throw new Error(`make-root: an input was ${o.status}: ${JSON.stringify(o).slice(0, 300)}`);
      }
    };
    for (let i = 0; i < epics; i += batch) {
      const items = [];
      for (let j = i; j < Math.min(epics, i + batch); j++) {
        const id = epicId(j);
        items.push({ input: { type: "start", epic_id: id, title: `Bench epic ${j}`, by: "bench" }, key: `request:bench-start-${id}` });
        // What `consensus start` does besides the log: the epic's folders.
        mkdirSync(join(L.artifacts, id), { recursive: true });
        mkdirSync(join(L.epics, id), { recursive: true });
        writeFileSync(join(L.epics, id, "epic.md"), `# ${id}: Bench epic ${j}\n`);
      }
      await commit(items);
      progress(`started ${Math.min(epics, i + batch)}/${epics} epics`);
    }
    if (fillerPerEpic > 0) {
      // One real message, interpreted by the product once; its siblings differ only in id and epic.
      const sample = { id: "x", from: "developer", to: "planner", timestamp: "2026-11-21T10:00:00Z", epic_id: epicId(0), iteration: 1, type: "info", subject: "progress", content: { note: "bench filler: a status note from the developer" } };
      const tmpl = interpretMessage("m.json", new TextEncoder().encode(JSON.stringify(sample)), "planner");
      if (!tmpl.doc || tmpl.issues.some((i) => i.severity === "error")) throw new Error(`filler message does not validate: ${JSON.stringify(tmpl.issues)}`);
      const total = epics * fillerPerEpic;
      let items = [];
      let done = 0;
      for (let r = 0; r < fillerPerEpic; r++) {
        for (let j = 0; j < epics; j++) {
          const id = epicId(j);
          const mid = `bench-${id}-${r}`;
          const file = `messages/inbox/planner/${mid}.json`;
          const sha256 = createHash("sha256").update(mid).digest("hex");
          items.push({ input: { type: "message", file, inbox: "planner", sha256, issues: [], doc: { ...tmpl.doc, id: mid, epic_id: id } }, key: `${file}@${sha256}` });
          if (items.length === batch) {
            await commit(items);
            done += items.length;
            items = [];
            if (done % 50_000 === 0) progress(`filler ${done}/${total} (${lines} lines, ${((now() - t0) / 1000).toFixed(0)} s)`);
          }
        }
      }
      if (items.length) await commit(items);
    }
    await engine.checkpoint();
  } finally {
    await store.close();
    await lease.release();
  }
  return { dir, root, epics, lines, build_ms: now() - t0 };
}

// ---------------------------------------------------------------------------------------------
// The daemon

/**
 * Spawns `consensus watch` (log level info, the default users run with). `ready` resolves when it
 * logs "watcher armed"; `exited` when it exits. `nodeArgs` go before the script (e.g. --cpu-prof).
 */
export function startDaemon(root, { args = [], nodeArgs = [], level = "info" } = {}) {
  // BENCH_CPU_PROF_DIR=dir profiles every daemon of a run (summarise with bench/profile.mjs).
  if (process.env.BENCH_CPU_PROF_DIR && !nodeArgs.length) nodeArgs = ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_CPU_PROF_DIR, "--cpu-prof-interval", "500"];
  const t0 = now();
  // BENCH_DAEMON_ARGS="--metrics-port 0" runs every daemon of a run with those flags (to compare).
  const extra = (process.env.BENCH_DAEMON_ARGS ?? "").split(" ").filter(Boolean);
  // BENCH_DAEMON_NODE_ARGS="--trace-gc" runs every daemon under those node flags; their stdout is
  // appended to BENCH_DAEMON_STDOUT=FILE when that is set.
  const nodeExtra = (process.env.BENCH_DAEMON_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const out = process.env.BENCH_DAEMON_STDOUT ? openSync(process.env.BENCH_DAEMON_STDOUT, "a") : "ignore";
  const child = spawn(process.execPath, [...nodeArgs, ...nodeExtra, cli, "--root", root, "watch", "--log-level", level, ...args, ...extra], { stdio: ["ignore", out, "pipe"], env: { ...process.env } });
  if (typeof out === "number") closeSync(out);
  let err = "";
  let carry = "";
  let readyAt;
  let resolveReady;
  let rejectReady;
  const ready = new Promise((res, rej) => ((resolveReady = res), (rejectReady = rej)));
  const errors = [];
  let mcpUrl;
  let metricsUrl;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s) => {
    const lines = (carry + s).split("\n");
    carry = lines.pop();
    for (const l of lines) {
      if (readyAt === undefined && l.includes('"watcher armed"')) {
        readyAt = now();
        resolveReady(readyAt - t0);
      }
      if (/"level":(50|60)/.test(l)) errors.push(l);
      if (l.includes('"mcp listening"')) mcpUrl = /"url":"([^"]+)"/.exec(l)?.[1];
      if (l.includes('"metrics listening"')) metricsUrl = /"url":"([^"]+)"/.exec(l)?.[1];
      if (err.length < 200_000 && !l.includes('"level":30')) err += `${l}\n`;
    }
  });
  const exited = new Promise((res) => child.once("exit", (code, sig) => res({ code, sig, at: now() })));
  exited.then(({ code }) => rejectReady(new Error(`daemon exited (${code}) before it was ready\n${err.slice(-4000)}`)));
  ready.catch(() => {});
  // mcpUrl: the MCP endpoint a daemon started with --mcp-port logged (info level, so not in stderr()).
  return { child, pid: child.pid, t0, ready, exited, errors, stderr: () => err, mcpUrl: () => mcpUrl, metricsUrl: () => metricsUrl };
}

/**
 * The daemon's own view of its pauses, from its Prometheus metrics (started with --metrics-port 0):
 * GC pauses by kind (count, total and mean ms) and the event loop's delay (p50, p99, max ms).
 */
export async function daemonPauses(d) {
  const url = d.metricsUrl?.();
  if (!url) return undefined;
  const text = await (await fetch(`${url.replace(/\/$/, "")}/metrics`)).text();
  const num = (re) => Number(re.exec(text)?.[1] ?? NaN);
  const gc = {};
  for (const kind of ["minor", "major", "incremental", "weakcb"]) {
    const count = num(new RegExp(`^nodejs_gc_duration_seconds_count\\{kind="${kind}"\\} (\\S+)`, "m"));
    const sum = num(new RegExp(`^nodejs_gc_duration_seconds_sum\\{kind="${kind}"\\} (\\S+)`, "m"));
    if (count > 0) gc[kind] = { count, total_ms: Math.round(sum * 1e5) / 100, mean_ms: Math.round((sum / count) * 1e5) / 100 };
  }
  const lag = (k) => Math.round(num(new RegExp(`^nodejs_eventloop_lag_${k}_seconds (\\S+)`, "m")) * 1e5) / 100;
  return { gc, eventloop_delay_ms: { p50: lag("p50"), p99: lag("p99"), max: lag("max") } };
}

export async function stopDaemon(d, signal = "SIGTERM") {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return d.exited;
  d.child.kill(signal);
  return d.exited;
}

/**
 * utime and stime, in ms, from a /proc stat file (`/proc/PID/stat`, or a thread's
 * `/proc/PID/task/TID/stat`; Linux, USER_HZ = 100); NaN for both when it cannot be read (it ended).
 * The command name before ") " may hold spaces: fields are counted after its last ")".
 */
export function procTimesMs(statFile) {
  try {
    const s = readFileSync(statFile, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { user: (Number(f[11]) * 1000) / 100, sys: (Number(f[12]) * 1000) / 100 };
  } catch {
    return { user: NaN, sys: NaN };
  }
}

/** The kernel's largest PID (TIDs wrap there). */
const PID_MAX = (() => {
  try {
    return Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")) || 4194304;
  } catch {
    return 4194304;
  }
})();

/**
 * CPU (user + kernel, ms) of a process's threads, from /proc/PID/task/TID/stat (USER_HZ = 100): its
 * main thread, all the others, and each (byTid, sysByTid); with `since` (an earlier result), what was
 * spent since. Every thread of the daemon is named "node": they are told apart by TID − PID (creation
 * order: V8's platform threads, the pool, then the workers).
 */
export function threadCpuMs(pid, since) {
  const out = { main: 0, others: 0, byTid: new Map(), sysByTid: new Map(), spent: new Map() };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const t = procTimesMs(`/proc/${pid}/task/${tid}/stat`);
    if (Number.isNaN(t.user)) continue; // the thread ended
    out.byTid.set(tid, t.user + t.sys);
    out.sysByTid.set(tid, t.sys);
    const spent = t.user + t.sys - (since?.byTid.get(tid) ?? 0);
    out[tid === String(pid) ? "main" : "others"] += spent;
    // TIDs wrap at pid_max: counted from the PID modulo it, so creation order survives a wrap (no "-32397")
    out.spent.set(`${(Number(tid) - pid + PID_MAX) % PID_MAX}`, { ms: spent, sys: t.sys - (since?.sysByTid.get(tid) ?? 0) });
  }
  return out;
}

/** threadCpuMs's spending per drop, for the threads that spent at least 5 µs a drop: { "TID − PID": "ms (sys ms)" }. */
export function perDropByThread(threads, drops) {
  const r = (x) => Math.round((x / drops) * 1000) / 1000;
  return Object.fromEntries([...threads.spent].filter(([, v]) => v.ms >= drops * 0.005).map(([k, v]) => [k, `${r(v.ms)} (${r(v.sys)} sys)`]));
}

/** utime + stime of a process, in ms. */
export function cpuMs(pid) {
  const t = procTimesMs(`/proc/${pid}/stat`);
  return t.user + t.sys;
}

/** The kernel's share (stime) of a process's CPU, in ms. */
export function sysMs(pid) {
  return procTimesMs(`/proc/${pid}/stat`).sys;
}

/**
 * Waits until the process has used no CPU for `quietMs` (set-up only, never inside a measurement).
 * A profiled daemon (BENCH_CPU_PROF_DIR: V8's sampler wakes every 500 µs) is never fully idle: then
 * "quiet" is under 20 % of a core over the window (before, such a run waited out maxMs, 10 minutes).
 */
export async function waitQuiet(pid, quietMs = 300, maxMs = 600_000) {
  const until = Date.now() + maxMs;
  const slack = process.env.BENCH_CPU_PROF_DIR ? 0.2 * quietMs : 0;
  let last = cpuMs(pid);
  let since = Date.now();
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    const c = cpuMs(pid);
    if (c - last > slack) (last = c), (since = Date.now());
    else if (Date.now() - since >= quietMs) return;
  }
}

/** VmRSS and VmHWM of a process, in bytes (Linux /proc). */
export function memOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN) * 1024;
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

// ---------------------------------------------------------------------------------------------
// Watching the bus from outside

/**
 * Tails current/decision_log.jsonl: fs.watch on current/ wakes it, and it reads only the new bytes.
 * `on(fn)` gets each parsed entry with the time it was read. `sync()` reads what is there now.
 */
export class LogTail {
  constructor(root, { fromEnd = true } = {}) {
    this.path = join(root, "current", "decision_log.jsonl");
    this.offset = fromEnd && existsSync(this.path) ? fstatSize(this.path) : 0;
    this.carry = "";
    this.listeners = new Set();
    this.lines = 0;
    this.watcher = watch(join(root, "current"), (_ev, name) => {
      if (name === "decision_log.jsonl") this.sync();
    });
  }
  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  sync() {
    const t = now();
    let fd;
    try {
      fd = openSync(this.path, "r");
    } catch {
      return;
    }
    try {
      const size = fstatSync(fd).size;
      if (size <= this.offset) return;
      const buf = Buffer.allocUnsafe(size - this.offset);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, this.offset + got);
        if (n === 0) break;
        got += n;
      }
      this.offset += got;
      const parts = (this.carry + buf.toString("utf8", 0, got)).split("\n");
      this.carry = parts.pop();
      for (const line of parts) {
        this.lines++;
        let e;
        try {
          e = JSON.parse(line);
        } catch {
          continue;
        }
        for (const fn of this.listeners) fn(e, t);
      }
    } finally {
      closeSync(fd);
    }
  }
  close() {
    this.watcher.close();
  }
}

function fstatSize(p) {
  const fd = openSync(p, "r");
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** Watches a folder for names appearing (fs.watch); `has(name)` also checks the disk. */
export class DirWatch {
  constructor(dir) {
    mkdirSync(dir, { recursive: true });
    this.dir = dir;
    this.seen = new Map();
    this.waiters = new Map();
    this.watcher = watch(dir, (_ev, name) => {
      if (!name || name.startsWith(".")) return;
      const t = now();
      if (!this.seen.has(name) && existsSync(join(dir, name))) {
        this.seen.set(name, t);
        const w = this.waiters.get(name);
        if (w) (this.waiters.delete(name), w(t));
      }
    });
  }
  /** Resolves with the time the name was first seen (now, if it is already there). */
  when(name) {
    if (this.seen.has(name)) return Promise.resolve(this.seen.get(name));
    if (existsSync(join(this.dir, name))) {
      const t = now();
      this.seen.set(name, t);
      return Promise.resolve(t);
    }
    return new Promise((res) => this.waiters.set(name, res));
  }
  close() {
    this.watcher.close();
  }
}

export const pad8 = (n) => String(n).padStart(8, "0");
/** The name of the notice the daemon writes when the entry with `seq` moves an epic into a stage. */
export const noticeName = (seq, epic) => `notice-${pad8(seq)}-${epic}-stage_entered.yaml`;

/** Rejects after ms with a message (a guard, never part of a measurement). */
export function deadline(ms, what) {
  let t;
  const p = new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  p.cancel = () => clearTimeout(t);
  p.catch(() => {});
  return p;
}

/**
 * The files floor of a throughput run (issue 17.2): the CPU (user and kernel, ms per drop, this
 * process) of the files and folders the protocol makes per drop of a new epic, alone, on the same
 * file system, measured in the same run: two folders (archive/<EPIC>/<N>), an archive copy and a
 * notice, each written to a temporary and renamed (as the daemon does; not synced: the daemon syncs
 * them at its checkpoint). `bytes`: the artifact's size. What the daemon's CPU per drop is read against.
 */
export function filesFloor(drops, bytes) {
  const dir = tempDir("consensus-files-floor-");
  const artifact = Buffer.alloc(bytes, 0x61);
  const notice = Buffer.alloc(700, 0x61);
  const inbox = join(dir, "inbox");
  mkdirSync(inbox);
  const write = (path, data) => {
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, "wx");
    writeSync(fd, data);
    closeSync(fd);
    renameSync(tmp, path);
  };
  const c0 = process.cpuUsage();
  for (let i = 0; i < drops; i++) {
    const it = join(dir, epicId(i), "1");
    mkdirSync(join(dir, epicId(i)));
    mkdirSync(it);
    write(join(it, "plan.json"), artifact);
    write(join(inbox, noticeName(i, epicId(i))), notice);
  }
  const c = process.cpuUsage(c0);
  cleanup(dir);
  const r = (us) => Math.round((us / 1000 / drops) * 1000) / 1000;
  return { cpu_ms_per_drop: r(c.user + c.system), sys_ms_per_drop: r(c.system) };
}

/**
 * Removes a benchmark's folder, or keeps it (BENCH_KEEP=1), or moves it into BENCH_TRASH (run.mjs
 * sets it and empties it once the whole suite is done). Why the trash: on ext4 without a journal
 * (this machine's root file system) the inode allocator skips every inode deleted in the last one to
 * six minutes, so files created right after a big deletion cost several times the kernel time (perf:
 * `recently_deleted` in `__ext4_new_inode`): one benchmark's clean-up slowed the next one's drops.
 */
export function cleanup(dir) {
  if (process.env.BENCH_KEEP) return console.log(`  (kept ${dir})`);
  if (process.env.BENCH_TRASH) {
    try {
      return renameSync(dir, join(process.env.BENCH_TRASH, `${Date.now()}-${Math.random().toString(36).slice(2)}`));
    } catch {
      /* another file system: removed now */
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Writes out everything the set-up left in the page cache for the file system holding `path`
 * (`sync -f`: syncfs(2)), so the kernel's writeback of a root made seconds before (1,000s of folders
 * and files, written back 30 s after they were made, dirty_expire_centisecs) does not land inside the
 * measured window: an fdatasync queued behind that writeback took 4–70 ms (issue 17.3). The floor
 * (floor.mjs) is measured with nothing else dirty; the daemon is then measured the same way. What the
 * daemon and the drops write while measured stays in the picture.
 */
export function settleDisk(path) {
  const r = spawnSync("sync", ["-f", path], { encoding: "utf8" });
  if (r.status !== 0) console.warn(`  (sync -f ${path} failed: ${r.error?.message ?? r.stderr.trim()}; the set-up's writeback may fall inside the measurement)`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The daemon's modules in this process over a built root (no watcher). With `record`, the store's
 * methods are wrapped: record(method, startMs, endMs) is called after each call (the phase benchmarks).
 */
export async function inProcess(root, record) {
  const { layoutOf } = await import(join(repo, "dist/store/fs/layout.js"));
  const { FsStore } = await import(join(repo, "dist/store/fs/fs-store.js"));
  const { Engine } = await import(join(repo, "dist/engine/engine.js"));
  const { readConfigFile: readConfig } = await import(join(repo, "dist/store/fs/config-file.js"));
  const { silentLogger } = await import(join(repo, "dist/daemon/logger.js"));
  const { prepare } = await import(join(repo, "dist/transports/files/prepare.js"));
  const { prepareAll } = await import(join(repo, "dist/transports/files/prepare-all.js"));
  const L = layoutOf(root);
  const pipeline = await readConfig(L.config);
  const store = new FsStore(L);
  for (const m of record ? ["putBlob", "append", "publish", "published", "deliver", "checkpoint"] : []) {
    const orig = store[m].bind(store);
    store[m] = async (...a) => {
      const t = now();
      try {
        return await orig(...a);
      } finally {
        record(m, t, now());
      }
    };
  }
  return { L, pipeline, store, Engine, silentLogger, prepare, prepareAll };
}
