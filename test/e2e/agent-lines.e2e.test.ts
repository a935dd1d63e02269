/**
 * Agents' own decision-log entries (issue 11 item 1): agents append to current/decision_log.jsonl at
 * any moment, also while the daemon copies its lines there (two O_APPEND writers). The daemon never
 * stops, no line of either writer is lost or interleaved, each entry is judged as soon as it lands,
 * and an entry pretty-printed over many lines is rejected once, to its author, with the fix.
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, DEFAULT_ARTIFACTS, dropAccepted } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

const mirrorOf = (b: Bus) => join(b.root, "current", "decision_log.jsonl");
const recordOf = (b: Bus) => join(b.root, ".consensus", "log.jsonl");

/** A separate process appending `n` seed-shaped one-line entries, each in one O_APPEND write, with short pauses. */
function appender(file: string, n: number, tag: string): Promise<number | null> {
  const code = `
    const { appendFileSync } = require("node:fs");
    const [file, n, tag] = process.argv.slice(1);
    let i = 0;
    const next = () => {
      if (i >= Number(n)) return;
      const line = JSON.stringify({ timestamp: "2026-11-21T10:00:00Z", agent: "developer", decision: "progress", epic_id: "EP-001", iteration: 1, details: { tag, n: i++ } });
      appendFileSync(file, line + "\\n");
      setTimeout(next, Math.floor(Math.random() * 4));
    };
    next();`;
  const p = spawn(process.execPath, ["-e", code, file, String(n), tag], { stdio: "ignore" });
  return new Promise((r) => p.once("exit", (c) => r(c)));
}

describe("agents append to the readable log while the daemon runs", () => {
  it("two writers: the daemon keeps deciding, every agent line is recorded once, no line is lost or interleaved", async () => {
    bus = Bus.init();
    const epics = ["EP-001", "EP-002", "EP-003"];
    for (const e of epics) expect(bus.cli("start", e, "--title", `Busy ${e}`).code).toBe(0);
    bus.startDaemon();
    await bus.until("the daemon holds the root", () => existsSync(join(bus.root, ".consensus/writer.json")));
    const N = 300;
    const done = appender(mirrorOf(bus), N, "a");
    // drops arrive while the agent appends: every epic goes through every stage
    await Promise.all(epics.map((e) => dropAccepted(bus, e, DEFAULT_ARTIFACTS)));
    expect(await done).toBe(0);
    await bus.waitFor(`${N} agent lines recorded`, (es) => es.filter((e) => e.decision === "agent_lines_recorded").reduce((n, e) => n + (e.details as { count: number }).count, 0) >= N);
    expect(bus.daemon!.exitCode).toBeNull();
    // no line interleaved: every line of the readable log is one whole JSON object
    const mirror = readFileSync(mirrorOf(bus), "utf8").split("\n").filter(Boolean);
    for (const l of mirror) expect(() => JSON.parse(l), l.slice(0, 200)).not.toThrow();
    // every agent line there once, and recorded once in the log of record
    const record = readFileSync(recordOf(bus), "utf8").split("\n").filter(Boolean);
    for (let i = 0; i < N; i++) {
      const needle = `"details":{"tag":"a","n":${i}}`;
      expect(mirror.filter((l) => l.includes(needle)).length, `agent line ${i} in the readable log`).toBe(1);
      expect(record.filter((l) => l.includes(needle)).length, `agent line ${i} in the log of record`).toBe(1);
    }
    const recorded = bus.entries().filter((e) => e.decision === "agent_lines_recorded").reduce((n, e) => n + (e.details as { count: number }).count, 0);
    expect(recorded).toBe(N);
    expect(bus.entries().filter((e) => e.decision === "promoted").length).toBe(epics.length);
    expect(bus.entries().filter((e) => e.decision === "log_line_rejected" || e.decision === "log_line_forged")).toEqual([]);
    expect(await bus.stopDaemon()).toBe(0);
    const v = bus.cli("log", "verify");
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toMatch(new RegExp(`${N} agent lines, 0 forged`));
  }, 180_000);

  it("pretty-printed entries with placeholder timestamps and blank lines: one rejection per entry, to its author, at once", async () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Pretty").code).toBe(0);
    bus.startDaemon();
    await bus.until("the daemon holds the root", () => existsSync(join(bus.root, ".consensus/writer.json")));
    const before = readFileSync(mirrorOf(bus), "utf8").split("\n").length - 1;
    const pretty = (agent: string, decision: string) => JSON.stringify({ timestamp: "2025_11_20_14_15_00", agent, decision, epic_id: "EP-001", iteration: 1, details: { summary: "plan written", files: ["plan.json"] } }, null, 2);
    // as real agents write them: pretty-printed, a blank line between entries, one line with an underscore timestamp
    appendFileSync(mirrorOf(bus), `\n${pretty("planner", "plan_created")}\n\n${pretty("developer", "started")}\n\n`);
    appendFileSync(mirrorOf(bus), `${JSON.stringify({ timestamp: "2025_11_20_14_15_00", agent: "planner", decision: "note", epic_id: "EP-001", iteration: 1 })}\n`);
    const es = await bus.waitForDecision("log_line_rejected", 3);
    const rejected = es.filter((e) => e.decision === "log_line_rejected");
    expect(rejected).toHaveLength(3);
    const lines = pretty("planner", "plan_created").split("\n").length;
    expect(rejected.map((e) => [(e.details as { line: number }).line, (e.details as { author?: string }).author, e.epic_id])).toEqual([
      [before + 2, "planner", "EP-001"],
      [before + 2 + lines + 1, "developer", "EP-001"],
      [before + 2 + 2 * (lines + 1), "planner", "EP-001"],
    ]);
    expect((rejected[0]!.details as { errors: Array<{ code: string }> }).errors[0]!.code).toBe("LOG_ENTRY_MULTILINE");
    expect((rejected[0]!.details as { fix: string }).fix).toContain("jq -c");
    expect(JSON.stringify(rejected[2]!.details)).toMatch(/timestamp/);
    // each author is told, with the fix
    const notice = await bus.until("the planner's notice", () => bus.inbox("planner").find((n) => n.includes("log_line_rejected")));
    expect(readFileSync(join(bus.root, "messages/inbox/planner", notice), "utf8")).toContain("jq -c");
    await bus.until("the developer's notice", () => bus.inbox("developer").find((n) => n.includes("log_line_rejected")));
    expect(bus.daemon!.exitCode).toBeNull();
    expect(await bus.stopDaemon()).toBe(0);
  });

  it("an agent's line appended with no daemon running is judged at the next start (watch --once)", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Offline").code).toBe(0);
    appendFileSync(mirrorOf(bus), `${JSON.stringify({ timestamp: "2026-11-21T10:00:00Z", agent: "planner", decision: "approve", epic_id: "EP-001", iteration: 1, details: {} })}\n`);
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.entries().filter((e) => e.decision === "agent_lines_recorded")).toHaveLength(1);
    // read once: a second run records nothing again
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.entries().filter((e) => e.decision === "agent_lines_recorded")).toHaveLength(1);
    expect(bus.cli("log", "--agent", "planner").stdout).toMatch(/planner\s+EP-001 iteration 1 approve/);
  });

  it("lines longer than an entry may be (2 MiB, and 10 MiB: more than one read) are skipped unread and reported to their author; the lines after them are read", async () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Huge lines").code).toBe(0);
    bus.startDaemon();
    await bus.waitForDecision("epic_started");
    const huge = (mib: number) => `${JSON.stringify({ timestamp: "2026-11-21T10:00:00Z", agent: "developer", decision: "progress", epic_id: "EP-001", iteration: 1, details: { out: "x".repeat(mib << 20) } })}\n`;
    appendFileSync(mirrorOf(bus), huge(2));
    appendFileSync(mirrorOf(bus), huge(10));
    appendFileSync(mirrorOf(bus), `${JSON.stringify({ timestamp: "2026-11-21T10:00:00Z", agent: "planner", decision: "note", epic_id: "EP-001", iteration: 1, details: {} })}\n`);
    const es = await bus.waitFor("two rejections and the short line recorded", (x) => x.filter((e) => e.decision === "log_line_rejected").length >= 2 && x.some((e) => e.decision === "agent_lines_recorded"));
    const rejected = es.filter((e) => e.decision === "log_line_rejected");
    expect(rejected.map((e) => (e.details as { author?: string }).author)).toEqual(["developer", "developer"]);
    for (const e of rejected) expect(JSON.stringify(e.details)).toMatch(/bytes, more than the 1048576 a log entry may have/);
    // the record holds neither huge line
    expect(readFileSync(recordOf(bus), "utf8").length).toBeLessThan(1 << 20);
    expect(await bus.stopDaemon()).toBe(0);
  }, 90_000);

  it("a readable log replaced by a FIFO, then by a hard link to a file outside the root: reported once each, never written through, and the daemon goes on", async () => {
    bus = Bus.init();
    bus.startDaemon();
    expect(bus.cli("start", "EP-001", "--title", "Before").code).toBe(0);
    await bus.waitForDecision("epic_started", 1);
    rmSync(mirrorOf(bus));
    expect(spawnSync("mkfifo", [mirrorOf(bus)]).status).toBe(0);
    expect(bus.cli("start", "EP-002", "--title", "Behind a FIFO").code).toBe(0);
    await bus.waitFor("the FIFO reported", (es) => es.some((e) => e.decision === "log_mirror_unusable" && /a FIFO/.test(String((e.details as { reason?: string }).reason))));
    rmSync(mirrorOf(bus));
    const outside = join(bus.dir, "outside.txt");
    writeFileSync(outside, "precious\n");
    linkSync(outside, mirrorOf(bus));
    expect(bus.cli("start", "EP-003", "--title", "Behind a link").code).toBe(0);
    const es = await bus.waitFor("the hard link reported", (x) => x.some((e) => e.decision === "log_mirror_unusable" && /hard link/.test(String((e.details as { reason?: string }).reason))) && x.some((e) => e.decision === "epic_started" && e.epic_id === "EP-003"));
    expect(es.filter((e) => e.decision === "log_mirror_unusable")).toHaveLength(2);
    expect(readFileSync(outside, "utf8")).toBe("precious\n");
    expect(await bus.stopDaemon()).toBe(0);
  }, 90_000);
});
