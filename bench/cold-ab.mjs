#!/usr/bin/env node
// Cold replay, A/B: the same root (no checkpoint) started with `watch --once` by two builds of
// consensus, alternately, each on a fresh copy; wall and CPU (user + sys of the child) per start.
// Usage: node bench/cold-ab.mjs --a DIR --b DIR [--epics 2000] [--lines 200000] [--runs 3]
// (DIR: a checkout with dist/ built, e.g. a git worktree of an older commit.)
import { cpSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { arg, cleanup, fmt, makeRoot, numArg, stats, tempDir, writeResult } from "./lib.mjs";

const A = arg("a");
const B = arg("b");
const built = await makeRoot({ epics: numArg("epics", 2000), fillerPerEpic: Math.round((numArg("lines", 200_000) - numArg("epics", 2000)) / numArg("epics", 2000)) });
console.log(`root: ${built.lines} lines`);
const runs = { a: [], b: [] };
for (let i = 0; i < numArg("runs", 3); i++) {
  for (const [k, dir] of i % 2 ? [["b", B], ["a", A]] : [["a", A], ["b", B]]) {
    const copy = join(tempDir("consensus-cold-"), "consensus");
    cpSync(built.root, copy, { recursive: true });
    rmSync(join(copy, ".consensus", "checkpoint.json"));
    const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", process.execPath, join(dir, "bin", "consensus.js"), "--root", copy, "watch", "--once", "--log-level", "warn"], { encoding: "utf8", maxBuffer: 1 << 30 });
    const [e, u, s, kib] = r.stderr.trim().split("\n").pop().split(" ").map(Number);
    runs[k].push({ wall_ms: e * 1000, cpu_ms: (u + s) * 1000, peak_rss_mib: Math.round(kib / 1024), code: r.status, errors: (r.stderr.match(/"level":50/g) ?? []).length });
    console.log(`  ${k} run ${i}: exit ${r.status}, wall ${fmt(e * 1000)}, cpu ${fmt((u + s) * 1000)}, peak RSS ${Math.round(kib / 1024)} MiB, errors logged ${runs[k].at(-1).errors}`);
    try {
      rmSync(join(copy, ".."), { recursive: true, force: true, maxRetries: 5 });
    } catch {
      // a folder still being emptied: left in the temp dir
    }
  }
}
const sum = (k) => ({ wall: stats(runs[k].map((r) => r.wall_ms)), cpu: stats(runs[k].map((r) => r.cpu_ms)) });
const metrics = { a: { dir: A, ...sum("a") }, b: { dir: B, ...sum("b") }, lines: built.lines, runs };
console.log(`  a: wall median ${fmt(metrics.a.wall.median_ms)}, cpu median ${fmt(metrics.a.cpu.median_ms)}; b: wall median ${fmt(metrics.b.wall.median_ms)}, cpu median ${fmt(metrics.b.cpu.median_ms)}`);
console.log(`  → ${writeResult("cold-ab", { a: A, b: B, lines: built.lines }, metrics)}`);
cleanup(built.dir);
