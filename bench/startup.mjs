#!/usr/bin/env node
// Benchmark — cold start of the commands a person and a supervisor run most: `consensus status`,
// `consensus watch --once` (the daemon's whole start-up and shutdown with nothing pending) and
// `--version`, against `node -e 0` (the floor: Node itself). Each run is a fresh process; wall time
// and the process's own CPU time (user + system, read at its exit) are reported. CPU time is what the
// code costs; wall time on a busy machine is mostly waiting for a core.
import { spawnSync } from "node:child_process";
import { QUICK, arg, cleanup, cli as ownCli, numArg, printStats, runCli, stats, tempDir, writeResult } from "./lib.mjs";
import { join } from "node:path";

const N = numArg("samples", QUICK ? 5 : 25);
// --cli PATH: another build's bin/consensus.js (a checkout of an earlier commit), to compare
const cli = arg("cli", ownCli);
const dir = tempDir("consensus-startup-");
const root = join(dir, "consensus");
runCli(root, "init");
for (let i = 1; i <= 5; i++) runCli(root, "start", `EP-${i}`, "--title", "startup");
runCli(root, "watch", "--once", "--log-level", "warn");

// prints the process's own CPU time at exit (process.cpuUsage counts from the process's start)
const probe = "data:text/javascript,process.on('exit',()=>process.stderr.write('\\ncpu-us '+(({user,system})=>user+system)(process.cpuUsage())+'\\n'))";
function sample(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--import", probe, ...args], { env: { ...process.env, CONSENSUS_ROOT: root }, encoding: "utf8" });
  const wall = performance.now() - t0;
  const cpu = Number(/cpu-us (\d+)/.exec(r.stderr)?.[1]) / 1000;
  if (!Number.isFinite(cpu)) throw new Error(`no CPU figure from ${args.join(" ")} (exit ${r.status}): ${r.stderr}`);
  return { wall, cpu };
}

const cases = {
  floor_node: ["-e", "0"],
  version: [cli, "--version"],
  status: [cli, "status"],
  watch_once: [cli, "watch", "--once", "--log-level", "warn"],
};
const metrics = {};
for (const [name, args] of Object.entries(cases)) {
  sample(args); // warm the page cache, not the process
  const runs = Array.from({ length: N }, () => sample(args));
  metrics[name] = { wall: stats(runs.map((r) => r.wall)), cpu: stats(runs.map((r) => r.cpu)) };
  printStats(`${name} wall`, metrics[name].wall);
  printStats(`${name} cpu (user+sys)`, metrics[name].cpu);
  console.log(`  ${`${name} min wall / min cpu`.padEnd(44)} ${metrics[name].wall.min_ms.toFixed(0)} ms / ${metrics[name].cpu.min_ms.toFixed(0)} ms`);
}
writeResult(arg("name", "startup"), { samples: N, epics: 5, cli }, metrics);
cleanup(dir);
