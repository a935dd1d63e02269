import { afterEach, describe, expect, it } from "vitest";
import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Bus, artifact } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

const stateOf = (b: Bus) => JSON.parse(readFileSync(join(b.root, "current/state.json"), "utf8")) as { seq: number; epics: Record<string, unknown> };

describe("restarts, --once and the single writer", () => {
  it("watch --once handles files dropped while no daemon ran, in drop order, and exits 0", () => {
    bus = Bus.init();
    bus.cli("start", "EP-010", "--title", "Offline");
    // dropped out of stage order: implementation waits for plan to be accepted
    bus.drop("artifacts/EP-010/plan.json", artifact("plan.json", "EP-010", 1));
    bus.drop("artifacts/EP-010/implementation.json", artifact("implementation.json", "EP-010", 1));
    const r = bus.cli("watch", "--once", "--log-level", "warn");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(bus.cli("status", "EP-010", "--json").stdout)).toMatchObject({ stage: "review" });
    // running again applies nothing twice
    const before = bus.entries().length;
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.entries().length).toBe(before);
  });

  it("state.json and the checkpoint are rebuilt from the log alone", () => {
    bus = Bus.init();
    bus.cli("start", "EP-011", "--title", "Rebuild");
    bus.drop("artifacts/EP-011/plan.json", artifact("plan.json", "EP-011", 1));
    bus.cli("watch", "--once");
    const before = stateOf(bus);
    rmSync(join(bus.root, "current/state.json"));
    rmSync(join(bus.root, ".consensus/checkpoint.json"));
    // a new input forces a write of the state after recovery
    bus.drop("artifacts/EP-011/implementation.json", artifact("implementation.json", "EP-011", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    const after = stateOf(bus);
    expect(after.epics["EP-011"]).toMatchObject({ stage: "review" });
    expect(Object.keys(after.epics)).toEqual(Object.keys(before.epics));
    expect(bus.cli("status", "EP-011", "--json").stdout).toContain('"stage": "review"');
  });

  it("a start without a checkpoint re-runs every stage entry's effects without an error (the rescan ran before the engine existed)", () => {
    bus = Bus.init();
    bus.cli("start", "EP-013", "--title", "Cold");
    bus.drop("artifacts/EP-013/plan.json", artifact("plan.json", "EP-013", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    rmSync(join(bus.root, ".consensus/checkpoint.json"));
    const r = bus.cli("watch", "--once", "--log-level", "warn");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("failed");
    expect(JSON.parse(bus.cli("status", "EP-013", "--json").stdout)).toMatchObject({ stage: "implementation" });
  });

  it("a second daemon on the same root exits at once, naming the holder", async () => {
    bus = Bus.init();
    const first = bus.startDaemon();
    await bus.waitFor("lease", () => bus.cli("status").code === 0 && require_holder(bus));
    const second = bus.cli("watch", "--log-level", "warn");
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`LOCK_HELD.*pid ${first.pid}`));
    expect(await bus.stopDaemon()).toBe(0);
    // after a clean stop the root is free again
    expect(bus.cli("watch", "--once").code).toBe(0);
  });

  it("start refuses an existing epic with exit 1; approve/veto apply at once when no daemon runs", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-012", "--title", "x").code).toBe(0);
    const dup = bus.cli("start", "EP-012", "--title", "x");
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/EPIC_EXISTS/);
    expect(bus.cli("status", "EP-404").code).toBe(3);
    bus.drop("artifacts/EP-012/plan.json", artifact("plan.json", "EP-012", 1));
    bus.cli("watch", "--once");
    const v = bus.cli("veto", "EP-012", "--role", "developer", "--subject", "plan_unworkable", "--reason", "T2 needs a database");
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(bus.cli("status", "EP-012", "--json").stdout)).toMatchObject({ stage: "plan", iteration: 2, open_vetoes: [{ from: "developer", subject: "plan_unworkable" }] });
    const a = bus.cli("approve", "EP-012", "--role", "developer", "--subject", "plan_ok");
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(bus.cli("status", "EP-012", "--json").stdout)).toMatchObject({ open_vetoes: [] });
  });

  it("agents' lines in the readable copy are checked; a torn one is closed before the daemon's copies and judged on its own", () => {
    bus = Bus.init();
    bus.cli("start", "EP-013", "--title", "Torn");
    const log = join(bus.root, "current/decision_log.jsonl");
    appendFileSync(log, `${JSON.stringify({ timestamp: "2026-11-21T10:00:00Z", agent: "devops", decision: "approve", epic_id: "EP-013", iteration: 1, details: { deployment_ready: true } })}\n`);
    appendFileSync(log, `{"timestamp":"yesterday","agent":"devops"}\n`);
    appendFileSync(log, `{"timestamp":"2026-11-21T10:00:00Z","agent":"orchestrator","deci`);
    bus.drop("artifacts/EP-013/plan.json", artifact("plan.json", "EP-013", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    const es = bus.entries();
    expect(es.filter((e) => e.decision === "agent_lines_recorded").map((e) => (e.details as { lines: number[][] }).lines)).toEqual([[[2, 2]]]);
    expect(es.filter((e) => e.decision === "log_line_rejected").map((e) => (e.details as { line: number }).line)).toEqual([3]);
    // the daemon's copies start on a line of their own: the torn line is closed, then judged by the next start
    const lines = readFileSync(log, "utf8").split("\n");
    expect(lines[3]).toBe('{"timestamp":"2026-11-21T10:00:00Z","agent":"orchestrator","deci');
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.entries().filter((e) => e.decision === "log_line_forged").map((e) => (e.details as { line: number }).line)).toEqual([4]);
    // the log of record is intact; the readable copy's forged line is named
    const v = bus.cli("log", "verify");
    expect(v.stdout).toMatch(/log of record: intact/);
    expect(v.stdout).toMatch(/1 forged/);
    expect(v.stdout).toMatch(/decision_log\.jsonl:4: /);
    expect(v.code).toBe(1);
    expect(JSON.parse(bus.cli("status", "EP-013", "--json").stdout)).toMatchObject({ stage: "implementation" });
  });

  it("log verify names the first line that was edited: in the readable copy (forged) and in the log of record (chain)", () => {
    bus = Bus.init();
    bus.cli("start", "EP-014", "--title", "Tamper");
    bus.drop("artifacts/EP-014/plan.json", artifact("plan.json", "EP-014", 1));
    bus.cli("watch", "--once");
    const log = join(bus.root, "current/decision_log.jsonl");
    const lines = readFileSync(log, "utf8").split("\n");
    lines[1] = lines[1]!.replace("plan.json", "plan.jsox");
    writeFileSync(log, lines.join("\n"));
    const v = bus.cli("log", "verify");
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/decision_log\.jsonl:2: it differs from seq 2 in the log of record/);
    const record = join(bus.root, ".consensus/log.jsonl");
    const rec = readFileSync(record, "utf8").split("\n");
    rec[1] = rec[1]!.replace("plan.json", "plan.jsox");
    writeFileSync(record, rec.join("\n"));
    const w = bus.cli("log", "verify");
    expect(w.code).toBe(1);
    expect(w.stdout).toMatch(/log\.jsonl:2: hash does not match/);
  });

  it("validate prints GitHub annotations and exits 1 on invalid files", () => {
    bus = Bus.init();
    const file = join(bus.dir, "deployment.json");
    writeFileSync(file, bus.fixture("invalid/deployment-no-staging.json"));
    const r = bus.cli("validate", file, "--format", "github");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^::error file=.*deployment\.json,line=\d+,col=\d+,title=consensus SCHEMA::\/deployment_strategy\/stages/m);
    expect(bus.cli("validate", join(bus.root, "consensus.yaml")).code).toBe(0);
  });
});

function require_holder(b: Bus): boolean {
  try {
    readFileSync(join(b.root, ".consensus/writer.json"));
    return true;
  } catch {
    return false;
  }
}

describe("corrupt state", () => {
  it("a truncated or hand-edited state.json is reported and rewritten from the log", () => {
    bus = Bus.init();
    bus.cli("start", "EP-015", "--title", "Corrupt");
    const file = join(bus.root, "current/state.json");
    const good = readFileSync(file, "utf8");
    writeFileSync(file, good.replace('"stage": "plan"', '"stage": "deployment"'));
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.entries().at(-1)).toMatchObject({ decision: "state_file_repaired", details: { reason: expect.stringContaining("edited") } });
    expect(JSON.parse(readFileSync(file, "utf8")).epics["EP-015"].stage).toBe("plan");
    writeFileSync(file, good.slice(0, 40));
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.entries().at(-1)).toMatchObject({ decision: "state_file_repaired", details: { reason: expect.stringContaining("not valid JSON") } });
    expect(JSON.parse(bus.cli("status", "EP-015", "--json").stdout)).toMatchObject({ stage: "plan" });
  });

  it("a deleted or garbled checkpoint is discarded and the state rebuilt from the log", () => {
    bus = Bus.init();
    bus.cli("start", "EP-016", "--title", "Checkpoint");
    writeFileSync(join(bus.root, ".consensus/checkpoint.json"), "{garbage");
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.entries().some((e) => e.decision === "checkpoint_discarded")).toBe(true);
    expect(bus.cli("status", "EP-016").code).toBe(2);
  });
});
