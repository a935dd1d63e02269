/**
 * `consensus mcp` over stdio, the real daemon, the MCP SDK's client: a session's verdict wait reads
 * what the log gained, not the log again (BENCHMARKS.md, "MCP: submit_artifact to its verdict": each
 * wake read the whole log of record). Measured from outside, as the kernel counts it: the bytes the
 * MCP server process read (/proc/<pid>/io rchar) while it waited for one verdict, with a log of
 * record of several MB.
 */
import { appendFileSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, artifact } from "../support/bus.js";
import { Agent } from "../support/mcp.js";

let bus: Bus;
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  await bus?.stopDaemon();
  bus?.cleanup();
});

/** Bytes a process has read through read(2) and its kin, as the kernel counts them. */
const rchar = (pid: number): number => Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))![1]);

describe("an MCP session's verdict wait on a long log (stdio)", () => {
  it("reads the lines written since its last read, not the log of record again", async () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Long log").code).toBe(0);
    // a long log of record: agents' lines, recorded by the daemon as it records any (about 8 MB)
    const N = 16_000;
    const pad = "x".repeat(400);
    const lines: string[] = [];
    for (let i = 0; i < N; i++) lines.push(JSON.stringify({ timestamp: "2026-11-21T10:00:00Z", agent: "developer", decision: "progress", epic_id: "EP-001", iteration: 1, details: { n: i, pad } }));
    appendFileSync(join(bus.root, "current", "decision_log.jsonl"), `${lines.join("\n")}\n`);
    bus.startDaemon();
    await bus.waitFor(`${N} agent lines recorded`, (es) => es.filter((e) => e.decision === "agent_lines_recorded").reduce((n, e) => n + (e.details as { count: number }).count, 0) >= N, 90_000);
    const record = join(bus.root, ".consensus", "log.jsonl");
    const size = statSync(record).size;
    expect(size).toBeGreaterThan(6_000_000);

    const planner = await Agent.stdio(bus, "planner");
    agents.push(planner);
    const pid = (planner.transport as unknown as { pid: number | null }).pid!;
    expect(pid).toBeGreaterThan(0);
    // the session's first wait reads the log once (it has read nothing before)
    const first = await planner.call("send_message", { epic_id: "EP-001", type: "info", content: { note: "starting the plan" } });
    expect(first.isError, first.text).toBe(false);
    expect(first.data).toMatchObject({ verdict: "accepted" });
    // the state each call reads is the checkpoint and the log after it: let the daemon's checkpoint catch up
    const checkpoint = join(bus.root, ".consensus", "checkpoint.json");
    const seqOf = (): number => {
      try {
        return (JSON.parse(readFileSync(checkpoint, "utf8")) as { seq: number }).seq;
      } catch {
        return 0; // not written yet, or being replaced
      }
    };
    const lastSeq = (): number => (JSON.parse(readFileSync(record, "utf8").trimEnd().split("\n").at(-1)!) as { seq: number }).seq;
    await bus.waitFor("the checkpoint at the log's end", () => seqOf() === lastSeq(), 30_000);

    const before = rchar(pid);
    const r = await planner.call("submit_artifact", { epic_id: "EP-001", file: "plan.json", content: artifact("plan.json", "EP-001", 1) });
    const read = rchar(pid) - before;
    expect(r.isError, r.text).toBe(false);
    expect(r.data).toMatchObject({ verdict: "accepted", epic: { stage: "implementation" } });
    // the whole wait, snapshot and placing included, read far less than the log once
    expect(read).toBeLessThan(size / 4);
    // its waits (90 s for the lines recorded, 30 s for the checkpoint) fail named only inside the test's own timeout
  }, 180_000);
});
