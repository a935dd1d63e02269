/**
 * `consensus prune`: the notices and agent logs of epics promoted or cancelled before the given age go,
 * logged first (a `pruned` entry naming each file); the decision log, archives, state, artifacts and
 * the messages agents wrote stay; `--dry-run` lists and removes nothing.
 */
import { userInfo } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Bus, approveYaml } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

describe("consensus prune", () => {
  it("removes a finished epic's notices and agent logs, logged; keeps everything else", async () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Finished").code).toBe(0);
    expect(bus.cli("start", "EP-002", "--title", "Still going").code).toBe(0);
    // what a runner would have left, and a message an agent wrote about the finished epic
    mkdirSync(join(bus.root, "logs", "agents", "EP-001", "1"), { recursive: true });
    writeFileSync(join(bus.root, "logs", "agents", "EP-001", "1", "planner-1.log"), "planner output\n");
    bus.drop("messages/inbox/planner/note-EP-001.yaml", approveYaml("quality", "planner", "EP-001", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.cli("cancel", "EP-001", "--reason", "descoped").code).toBe(0);
    const notices = (epic: string) => bus.inbox("planner").filter((n) => n.startsWith("notice-") && n.includes(`-${epic}-`));
    expect(notices("EP-001").length).toBeGreaterThan(0);
    const logBefore = readFileSync(join(bus.root, "current", "decision_log.jsonl"), "utf8");

    const young = bus.cli("prune");
    expect(young.code).toBe(0);
    expect(young.stdout).toMatch(/^nothing to prune: no epic promoted or cancelled before /);

    const dry = bus.cli("prune", "--older-than", "0", "--dry-run");
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("EP-001 (cancelled ");
    expect(dry.stdout).toContain(`  messages/inbox/planner/${notices("EP-001")[0]}`);
    expect(dry.stdout).toContain("  logs/agents/EP-001/1/planner-1.log");
    expect(dry.stdout).toMatch(/dry run: nothing removed/);
    expect(dry.stdout).not.toContain("EP-002");
    expect(readFileSync(join(bus.root, "current", "decision_log.jsonl"), "utf8")).toBe(logBefore);
    expect(existsSync(join(bus.root, "logs", "agents", "EP-001", "1", "planner-1.log"))).toBe(true);

    const r = bus.cli("prune", "--older-than", "0");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pruned EP-001 \(#\d+ pruned\)/);
    expect(notices("EP-001")).toEqual([]);
    expect(existsSync(join(bus.root, "logs", "agents", "EP-001"))).toBe(false);
    // kept: the other epic's notices, the agent's own message, the log (only appended to), the state
    expect(notices("EP-002").length).toBeGreaterThan(0);
    expect(bus.inbox("planner")).toContain("note-EP-001.yaml");
    expect(readFileSync(join(bus.root, "current", "decision_log.jsonl"), "utf8").startsWith(logBefore)).toBe(true);
    const pruned = bus.entries().filter((e) => e.decision === "pruned");
    expect(pruned).toHaveLength(1);
    expect(pruned[0]).toMatchObject({ epic_id: "EP-001", details: { by: userInfo().username, status: "cancelled", files: expect.arrayContaining(["logs/agents/EP-001/1/planner-1.log"]) } });
    expect(JSON.parse(bus.cli("status", "EP-001", "--json").stdout)).toMatchObject({ status: "cancelled" });
    expect(bus.cli("log", "verify").code).toBe(0);
    expect(bus.cli("prune", "--older-than", "0").stdout).toMatch(/^nothing to prune/);
  });
});
