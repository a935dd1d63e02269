#!/usr/bin/env node
// The system calls one drop costs the daemon (issue 17.2): strace (-f -c) attached to the real daemon
// while --epics plan.json drops (one per epic, their dot-temps written beforehand) are renamed in at
// once and decided, notices included. Printed: calls per drop by kind, beside the total. Counts, not
// times: strace slows every call, but the count of each kind is the same on a loaded machine as on a
// quiet one, so two builds compare on any machine. Needs strace (Debian: apt install strace) and the
// right to ptrace the child (root, or kernel.yama.ptrace_scope 0). Not in the suite.
//
//   node bench/syscalls.mjs [--epics 300] [--trace FILE]   (--trace: also the whole trace of one more drop)
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LogTail, cleanup, deadline, epicId, makeRoot, numArg, arg, planFor, stageDrop, startDaemon, stopDaemon, tempDir, waitQuiet } from "./lib.mjs";

if (spawnSync("strace", ["-V"]).error) {
  console.error("bench/syscalls.mjs needs strace (Debian: apt install strace)");
  process.exit(2);
}
const EPICS = numArg("epics", 300);
const TRACE = arg("trace");
const built = await makeRoot({ epics: EPICS + 1 });
const daemon = startDaemon(built.root);
await daemon.ready;
const drops = Array.from({ length: EPICS + 1 }, (_, i) => stageDrop(built.root, epicId(i), "plan.json", planFor(epicId(i))));
await waitQuiet(daemon.pid);
const out = join(tempDir("consensus-syscalls-"), "count.txt");

/** strace attached to the daemon while run() runs; resolves once strace has written its file. */
async function traced(args, run) {
  const st = spawn("strace", ["-f", ...args, "-p", String(daemon.pid)], { stdio: ["ignore", "ignore", "pipe"] });
  // strace says "Process N attached" once it is: the first line on stderr
  await new Promise((res, rej) => (st.stderr.once("data", res), st.once("error", rej)));
  await run();
  await waitQuiet(daemon.pid);
  st.kill("SIGINT");
  await new Promise((r) => st.once("exit", r));
}

const tail = new LogTail(built.root);
let advanced = 0;
let wake = () => {};
tail.on((e) => e.decision === "stage_advanced" && (advanced++, wake()));
const net = setInterval(() => tail.sync(), 50);
const until = async (n) => {
  const guard = deadline(10 * 60_000, `${n} decisions`);
  while (advanced < n) await Promise.race([new Promise((r) => (wake = r)), guard]);
  guard.cancel();
};

await traced(["-c", "-o", out], async () => {
  for (const d of drops.slice(0, EPICS)) d();
  await until(EPICS);
});
const rows = [];
for (const line of readFileSync(out, "utf8").split("\n")) {
  const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+)?\s*(\w+)$/.exec(line);
  if (m) rows.push({ call: m[3], calls: Number(m[1]), errors: Number(m[2] ?? 0) });
}
// threads waking each other and the event loop's waits are not the drop's work
const waits = new Set(["futex", "epoll_pwait", "epoll_wait", "epoll_ctl", "total"]);
const work = rows.filter((r) => !waits.has(r.call)).sort((a, b) => b.calls - a.calls);
const total = work.reduce((a, r) => a + r.calls, 0);
console.log(`syscalls: ${EPICS} plan.json drops at once, notices included, checkpoint(s) included`);
console.log(`  ${(total / EPICS).toFixed(1)} system calls per drop (futex/epoll left out)`);
for (const r of work.filter((r) => r.calls / EPICS >= 0.05)) console.log(`  ${(r.calls / EPICS).toFixed(2).padStart(7)}  ${r.call}${r.errors ? `  (${(r.errors / EPICS).toFixed(2)} failed)` : ""}`);

if (TRACE) {
  await traced(["-tt", "-T", "-o", TRACE], async () => {
    drops[EPICS]();
    await until(EPICS + 1);
  });
  // its own calls, the checkpoint after it included (a drop alone, as in the latency benchmark)
  const calls = readFileSync(TRACE, "utf8").split("\n").filter((l) => /^\d+\s+[\d:.]+\s+\w+\(/.test(l) && !/^\d+\s+[\d:.]+\s+(futex|epoll_\w+)\(/.test(l));
  console.log(`  one more drop alone, traced: ${calls.length} system calls besides futex/epoll (${TRACE})`);
}
clearInterval(net);
tail.close();
await stopDaemon(daemon);
cleanup(built.dir);
cleanup(join(out, ".."));
