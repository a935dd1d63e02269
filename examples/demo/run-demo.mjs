#!/usr/bin/env node
// npm run demo: the health-check epic of seed 004, played by four scripted agents against the real
// daemon in a temporary folder. The daemon launches the agents itself (agents: in consensus.yaml, one
// command per role; each reads its notice, drops its files and exits). Iteration 1: DevOps vetoes (no
// health check) and the epic goes back to implementation; iteration 2 is promoted. Prints the decision
// timeline, launches and exits included, as it happens. No second terminal, no person.
import { spawn, execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, statSync, openSync, readSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatLine } from "../../dist/cli/commands/log.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const cli = join(repo, "bin", "consensus.js");
const root = join(mkdtempSync(join(tmpdir(), "consensus-demo-")), "consensus");
const env = { ...process.env, CONSENSUS_ROOT: root };
const run = (...args) => execFileSync(process.execPath, [cli, ...args], { env, encoding: "utf8" });

console.log(`consensus demo — bus at ${root}

Four agents cooperate through that folder: planner, developer, quality and devops. Here each one is a
small script (examples/agents/<role>.mjs) that reads the notice in its inbox, drops its file and exits;
the daemon launches it when its stage starts, validates what it drops and logs every decision. At
deployment, devops finds no health check and vetoes: a blocking veto sends the epic back to the stage
the config names (implementation) as iteration 2, and nothing is promoted while the veto is open. The
developer adds the check, devops drops its files, which closes its veto, and the epic is promoted.
`);
run("init");
// One command per role: the runner starts it when the role's stage is entered (and on every rework).
const agents = ["planner", "developer", "quality", "devops"]
  .map((role) => `  ${role}:\n    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(join(repo, "examples", "agents", `${role}.mjs`))}]\n    timeout: 60s\n    retries: 1\n    backoff_ms: 200\n`)
  .join("");
appendFileSync(join(root, "consensus.yaml"), `\nagents:\n${agents}\nrunner:\n  max_concurrent: 4\n`);
// An edit of consensus.yaml changes nothing until a person puts it in force (agents can write that file).
run("config", "apply", "--yes");
run("start", "EP-001", "--title", "Add a /health endpoint");

console.log(`${"SEQ".padStart(6)}  ${"WHO".padEnd(12)}  WHAT`);
const daemon = spawn(process.execPath, [cli, "watch", "--log-level", "warn"], { env, stdio: ["ignore", "inherit", "inherit"] });

const log = join(root, "current", "decision_log.jsonl");
let offset = 0;
let carry = "";
let outcome;
const deadline = Date.now() + 60_000;
while (!outcome && Date.now() < deadline) {
  if (existsSync(log) && statSync(log).size > offset) {
    const size = statSync(log).size;
    const fd = openSync(log, "r");
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    closeSync(fd);
    offset = size;
    const lines = (carry + buf.toString("utf8")).split("\n");
    carry = lines.pop();
    for (const line of lines) {
      const out = formatLine(line, {});
      // the timestamp off; the sequence number stays right-aligned under SEQ
      if (out) console.log(out.replace(/^\S+ {2}/, ""));
      const e = JSON.parse(line);
      if (e.decision === "promoted" || e.decision === "escalated") outcome = e.decision;
    }
  }
  await new Promise((r) => setTimeout(r, 50));
}

daemon.kill("SIGTERM");
await new Promise((r) => daemon.once("exit", r));
console.log("");
let code = 1;
try {
  console.log(run("status", "EP-001"));
} catch (e) {
  console.log(e.stdout);
  code = e.status === 0 ? 0 : 1;
}
if (outcome === "promoted") {
  console.log(`EP-001 promoted. Look around: ${root}\n  consensus log --root ${root}\n  consensus log verify --root ${root}`);
  console.log(run("log", "verify").trim());
  code = 0;
} else {
  console.log(outcome ? `demo ended with the epic ${outcome}` : "demo timed out before the epic was promoted");
}
process.exit(code);
