/**
 * Issue 17.2: the daemon keeps its readable log (current/decision_log.jsonl) open between its copies
 * and its reads, checking by lstat that the name is still that file. With the real daemon: an agent's
 * line appended right after the daemon's copy is recorded; a file an agent renames over the name gets
 * the daemon's next lines and its own new line is recorded; the readable log verifies at the end.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bus, dropAccepted } from "../support/bus.js";

const line = (tag: string) => JSON.stringify({ timestamp: "2026-11-30T10:00:00Z", agent: "planner", decision: "note", epic_id: "EP-001", iteration: 1, details: { tag } });

describe("the readable log held open by the daemon", () => {
  const b = Bus.init();
  const mirror = join(b.root, "current", "decision_log.jsonl");
  const record = join(b.root, ".consensus", "log.jsonl");
  const recorded = (tag: string) => readFileSync(record, "utf8").split("\n").filter((l) => l.includes(`"tag":"${tag}"`)).length;
  afterAll(async () => {
    await b.stopDaemon();
    b.cleanup();
  });

  it("records an agent's line appended right after the daemon's copy, and follows a file renamed over the name", async () => {
    expect(b.cli("start", "EP-001", "--title", "Held").code).toBe(0);
    b.startDaemon();
    await b.until("the daemon holds the root", () => existsSync(join(b.root, ".consensus/writer.json")));
    await dropAccepted(b, "EP-001", ["plan.json"]);
    // the daemon's copy of the acceptance in the readable log, then at once the agent's line
    await b.until("the acceptance copied", () => readFileSync(mirror, "utf8").includes('"decision":"artifact_accepted"'));
    appendFileSync(mirror, `${line("right-after")}\n`);
    await b.until("the agent's line recorded", () => recorded("right-after") === 1);
    // and the daemon's copy of that record in the readable log: the file below is made from it (a copy
    // landing after it was read would make the renamed file shorter than what the daemon read: "cut")
    await b.until("the record copied", () => readFileSync(mirror, "utf8").includes('"decision":"agent_lines_recorded"'));

    // an agent renames a file of its own over the name: its new line is read, the daemon's next lines go there
    const tmp = join(b.root, "current", ".mine");
    writeFileSync(tmp, `${readFileSync(mirror, "utf8")}${line("renamed-over")}\n`);
    renameSync(tmp, mirror);
    await b.until("the renamed file's line recorded", () => recorded("renamed-over") === 1);
    await dropAccepted(b, "EP-001", ["implementation.json"]);
    await b.until("the next acceptance copied into the file at the name", () => readFileSync(mirror, "utf8").split("\n").some((l) => l.includes('"decision":"artifact_accepted"') && l.includes("implementation.json")));
    expect(await b.stopDaemon()).toBe(0);
    expect([recorded("right-after"), recorded("renamed-over")]).toEqual([1, 1]);
    expect(b.entries().filter((e) => e.decision === "log_line_forged" || e.decision === "log_line_rejected")).toEqual([]);
    const v = b.cli("log", "verify");
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toMatch(/2 agent lines, 0 forged/);
  });
});
