/**
 * A link an agent plants in the bus, leading out of the root, is never written through by anyone
 * writing for someone else: a person's veto (into the inbox), `consensus start` (the epic's folders),
 * the MCP server (placement.test.ts covers place()). Each refuses with SYMLINK_OUTSIDE and writes
 * nothing outside; the same commands work once the link is gone.
 */
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, daemonHolding } from "../support/bus.js";

let bus: Bus | undefined;
let outside: string | undefined;
afterEach(() => {
  bus?.cleanup();
  if (outside) rmSync(outside, { recursive: true, force: true });
});

describe("links planted in the bus that lead out of the root", () => {
  it("a person's veto and consensus start refuse to write through them", () => {
    bus = Bus.init();
    outside = mkdtempSync(join(tmpdir(), "consensus-outside-"));
    expect(bus.cli("start", "EP-001", "--title", "Links").code).toBe(0);
    rmSync(join(bus.root, "messages/inbox/planner"), { recursive: true, force: true });
    symlinkSync(outside, join(bus.root, "messages/inbox/planner"));
    // at plan, a developer's veto is sent to the planner's inbox: the link
    const veto = bus.cli("veto", "EP-001", "--role", "developer", "--subject", "unworkable_plan", "--reason", "x");
    expect(veto.code).not.toBe(0);
    expect(veto.stderr).toContain("SYMLINK_OUTSIDE");
    symlinkSync(outside, join(bus.root, "epics", "EP-002"));
    const start = bus.cli("start", "EP-002", "--title", "Through a link");
    expect(start.code).not.toBe(0);
    expect(start.stderr).toContain("SYMLINK_OUTSIDE");
    expect(readdirSync(outside)).toEqual([]);
    // EP-002 was not started either: refused before anything was decided
    expect(bus.cli("status", "EP-002").code).toBe(3);
    rmSync(join(bus.root, "epics", "EP-002"));
    mkdirSync(join(bus.root, "epics", "EP-002"));
    expect(bus.cli("start", "EP-002", "--title", "Real folder").code).toBe(0);
  });

  it("a link planted at the checkpoint's key index is not written through: the file outside keeps its bytes, the index is a private file again", async () => {
    bus = Bus.init();
    outside = mkdtempSync(join(tmpdir(), "consensus-outside-"));
    const victim = join(outside, "precious.txt");
    writeFileSync(victim, "precious data\n");
    const keys = join(bus.root, ".consensus", "checkpoint.keys");
    rmSync(keys, { force: true });
    symlinkSync(victim, keys);
    expect(bus.cli("start", "EP-001", "--title", "Links").code).toBe(0);
    // watch --once decides what is pending and takes its checkpoint before it exits
    const once = bus.cli("watch", "--once");
    expect(once.code, once.stderr).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("precious data\n");
    const st = lstatSync(keys);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    // and the next start trusts nothing it did not seal: state still comes out right
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.cli("status", "EP-001").stdout).toMatch(/EP-001\s+plan\s+in_progress/);
  });

  it("a hard link put in place of the readable log is not appended to: the file it shares keeps its bytes, the daemon keeps deciding", async () => {
    bus = Bus.init();
    outside = mkdtempSync(join(tmpdir(), "consensus-outside-"));
    const victim = join(outside, "precious.txt");
    writeFileSync(victim, "precious data\n");
    await daemonHolding(bus);
    const mirror = join(bus.root, "current", "decision_log.jsonl");
    rmSync(mirror);
    linkSync(victim, mirror);
    expect(bus.cli("start", "EP-001", "--title", "Hard link").code).toBe(0);
    expect(bus.cli("start", "EP-002", "--title", "Barrier").code).toBe(0);
    await bus.waitFor("both epics started", (es) => es.filter((e) => e.decision === "epic_started").length === 2);
    // a clean stop flushes every line the copy still owes: none may land in the shared file
    expect(await bus.stopDaemon()).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("precious data\n");
  });
});
