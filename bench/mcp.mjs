#!/usr/bin/env node
// Benchmark 7 — the round trip of an MCP submit_artifact to its verdict, next to the file drop's.
//
// One real daemon (`consensus watch --mcp-port 0`) over a root with many epics at stage plan; every
// sample uses a fresh epic and the same valid plan.json. Interleaved, so all three share conditions:
//   file drop     rename the dot-temp into artifacts/<EPIC>/plan.json → the stage_advanced entry is
//                 visible in the log (what an agent that drops a file and then reads the log waits for)
//   mcp stdio     submit_artifact through the SDK's Client to `consensus mcp --role planner` (one
//                 process, started once) → its answer: accepted, with where the epic went
//   mcp http      the same through the daemon's Streamable HTTP endpoint (X-Consensus-Role: planner)
// An MCP call does more than the drop: it reads the bus, validates, dry-runs decide(), places the
// file and its claim (two atomic writes), then waits for the daemon's verdict in the log. Then,
// with the daemon stopped, `mcp stdio, no daemon`: the server decides the input itself (writer lease,
// recovery, decide, fsync) the way the CLI's commands do.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LogTail, QUICK, cleanup, cli, deadline, epicId, makeRoot, now, numArg, planFor, printStats, stageDrop, startDaemon, stats, stopDaemon, writeResult } from "./lib.mjs";

const SAMPLES = numArg("samples", QUICK ? 10 : 100);
const DIRECT_SAMPLES = numArg("direct-samples", QUICK ? 5 : 30);
const WARMUP = QUICK ? 2 : 5;
const EXTRA_EPICS = numArg("extra-epics", QUICK ? 20 : 200);
const EPICS = (WARMUP + SAMPLES) * 3 + WARMUP + DIRECT_SAMPLES + EXTRA_EPICS;

async function connect(transport) {
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

async function submit(client, epic) {
  const t0 = now();
  const r = await client.callTool({ name: "submit_artifact", arguments: { epic_id: epic, file: "plan.json", content: planFor(epic) } }, undefined, { timeout: 120_000 });
  const ms = now() - t0;
  if (r.isError || r.structuredContent?.verdict !== "accepted") throw new Error(`submit_artifact for ${epic}: ${r.content?.[0]?.text}`);
  return ms;
}

async function main() {
  console.log(`mcp: ${EPICS} epics, ${SAMPLES} samples per way (file drop, mcp stdio, mcp http), ${DIRECT_SAMPLES} with no daemon`);
  const built = await makeRoot({ epics: EPICS });
  const root = built.root;
  const daemon = startDaemon(root, { args: ["--mcp-port", "0"] });
  await daemon.ready;
  const url = await (async () => {
    const g = deadline(60_000, "mcp listening");
    for (;;) {
      const u = daemon.mcpUrl();
      if (u) return (g.cancel(), u);
      await Promise.race([new Promise((r) => setTimeout(r, 20)), g]);
    }
  })();
  const env = { ...process.env, CONSENSUS_ROOT: root };
  const stdio = await connect(new StdioClientTransport({ command: process.execPath, args: [cli, "mcp", "--role", "planner"], env, stderr: "ignore" }));
  const http = await connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { "X-Consensus-Role": "planner" } } }));

  const tail = new LogTail(root);
  const advanced = new Map();
  let waiter;
  tail.on((e, t) => {
    if (e.decision === "stage_advanced" && e.details?.to === "implementation") {
      advanced.set(e.epic_id, t);
      if (waiter?.epic === e.epic_id) waiter.resolve();
    }
  });
  const drop = async (epic) => {
    const go = stageDrop(root, epic, "plan.json", planFor(epic));
    const seen = new Promise((resolve) => (waiter = { epic, resolve }));
    const net = setInterval(() => tail.sync(), 20);
    const guard = deadline(60_000, `decision for ${epic}`);
    const t0 = now();
    go();
    await Promise.race([seen, guard]);
    clearInterval(net);
    guard.cancel();
    return advanced.get(epic) - t0;
  };

  let next = 0;
  const fresh = () => epicId(next++);
  const ways = { file_drop: (e) => drop(e), mcp_stdio: (e) => submit(stdio, e), mcp_http: (e) => submit(http, e) };
  const samples = { file_drop: [], mcp_stdio: [], mcp_http: [] };
  for (let i = 0; i < WARMUP; i++) for (const w of Object.values(ways)) await w(fresh());
  for (let i = 0; i < SAMPLES; i++) for (const [k, w] of Object.entries(ways)) samples[k].push(await w(fresh()));
  tail.close();
  await Promise.all([stdio.close(), http.close()]);
  const exit = await stopDaemon(daemon);
  if (exit.code !== 0) throw new Error(`daemon exited ${exit.code}\n${daemon.stderr()}`);

  // No daemon: the MCP server decides each input itself.
  const alone = await connect(new StdioClientTransport({ command: process.execPath, args: [cli, "mcp", "--role", "planner"], env, stderr: "ignore" }));
  const direct = [];
  for (let i = 0; i < WARMUP; i++) await submit(alone, fresh());
  for (let i = 0; i < DIRECT_SAMPLES; i++) direct.push(await submit(alone, fresh()));
  await alone.close();
  cleanup(built.dir);

  const metrics = { file_drop: stats(samples.file_drop), mcp_stdio: stats(samples.mcp_stdio), mcp_http: stats(samples.mcp_http), mcp_stdio_no_daemon: stats(direct) };
  printStats("file drop → decision visible in the log", metrics.file_drop);
  printStats("mcp stdio submit_artifact → verdict", metrics.mcp_stdio);
  printStats("mcp http submit_artifact → verdict", metrics.mcp_http);
  printStats("mcp stdio, no daemon → verdict", metrics.mcp_stdio_no_daemon);
  metrics.side_by_side = {
    stdio_over_drop_median: Math.round((metrics.mcp_stdio.median_ms / metrics.file_drop.median_ms) * 10) / 10,
    http_over_drop_median: Math.round((metrics.mcp_http.median_ms / metrics.file_drop.median_ms) * 10) / 10,
  };
  console.log(`  side by side: mcp stdio ${metrics.side_by_side.stdio_over_drop_median}×, mcp http ${metrics.side_by_side.http_over_drop_median}× the file drop's median`);
  console.log(`  → ${writeResult("mcp", { epics: EPICS, samples_per_way: SAMPLES, warmup: WARMUP, direct_samples: DIRECT_SAMPLES, daemon_log_level: "info" }, metrics)}`);
}

await main();
