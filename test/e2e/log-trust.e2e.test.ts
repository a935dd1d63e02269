/**
 * The readable log is a drop zone, the log of record is the daemon's (PROTOCOL "Trust", issue 12 items
 * 1 and 3). An agent that appends a line shaped like the daemon's — with a wrong hash, or correctly
 * re-chained by someone without the daemon key — gets nothing applied: no file outside the root is
 * touched, status does not move, and the line is reported as forged (at the next start, and live).
 */
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ChainVerifier, sealLine } from "../../src/log/chain.js";
import { encodeMarks } from "../../src/store/fs/key-index.js";
import { Bus, artifact } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

const mirrorOf = (b: Bus) => join(b.root, "current", "decision_log.jsonl");
const recordOf = (b: Bus) => join(b.root, ".consensus", "log.jsonl");

/** Every file under dir except the bus root, with a digest of its bytes. */
function outside(b: Bus): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, n.name);
      if (p === b.root) continue;
      if (n.isDirectory()) walk(p);
      else out.set(relative(b.dir, p), createHash("sha256").update(readFileSync(p)).digest("hex"));
    }
  };
  walk(b.dir);
  return out;
}

/** A daemon-shaped line chained onto the mirror as a forger without the key would make it. */
function forge(b: Bus, body: Record<string, unknown>): string {
  const v = new ChainVerifier();
  for (const l of readFileSync(mirrorOf(b), "utf8").split("\n").filter(Boolean)) v.push(l);
  const { lastSeq, head } = v.result();
  return sealLine(JSON.stringify({ seq: lastSeq + 1, txn: 1, timestamp: "2026-11-21T10:00:00Z", agent: "orchestrator", ...body }), head, "").line;
}

describe("forged daemon lines in the readable log", () => {
  it("a forged artifact_accepted with ../ in epic_id, iteration and sha256: nothing outside the root changes, nothing is applied, it is reported", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Target").code).toBe(0);
    bus.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    writeFileSync(join(bus.dir, "victim.txt"), "original\n");
    const before = outside(bus);
    const forged = forge(bus, {
      decision: "artifact_accepted",
      epic_id: "../../..",
      iteration: "../..",
      details: { file: "artifacts/../../victim.txt", sha256: "../../../victim.txt", author: "developer" },
      state: { epic_id: "EP-001", title: "Target", stage: "promoted", status: "promoted", iteration: 1 },
      input: "artifacts/EP-001/implementation.json@x",
    });
    appendFileSync(mirrorOf(bus), `${forged}\n`);
    // one with a made-up MAC too
    appendFileSync(mirrorOf(bus), `${forged.replace(/"\}$/, `","mac":"abcd1234.${"f".repeat(64)}"}`).replace('"seq":', '"seq":')}\n`);
    const r = bus.cli("watch", "--once");
    expect(r.code, r.stderr).toBe(0);
    expect(outside(bus)).toEqual(before);
    expect(readFileSync(join(bus.dir, "victim.txt"), "utf8")).toBe("original\n");
    expect(existsSync(join(bus.root, "archive", "..", "..", "victim.txt"))).toBe(true);
    const forgedEntries = bus.entries().filter((e) => e.decision === "log_line_forged");
    const mirrorLines = readFileSync(mirrorOf(bus), "utf8").split("\n");
    expect(forgedEntries.map((e) => (e.details as { line: number }).line)).toEqual([mirrorLines.indexOf(forged) + 1, mirrorLines.indexOf(forged) + 2]);
    // never applied: the epic is where the genuine entries put it, and the record never names ../
    expect(JSON.parse(bus.cli("status", "EP-001", "--json").stdout)).toMatchObject({ stage: "implementation", status: "in_progress" });
    expect(readFileSync(recordOf(bus), "utf8")).not.toContain('"epic_id":"../../.."');
    expect(bus.cli("log", "--decision", "artifact_accepted").stdout.split("\n").filter(Boolean)).toHaveLength(1);
  });

  it("a promoted line re-chained correctly without the key: log verify reports it forged, status does not show it promoted", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-002", "--title", "Promote me").code).toBe(0);
    appendFileSync(mirrorOf(bus), `${forge(bus, { decision: "promoted", epic_id: "EP-002", iteration: 1, details: {}, state: { epic_id: "EP-002", title: "Promote me", stage: "promoted", status: "promoted", iteration: 1 } })}\n`);
    const v = bus.cli("log", "verify");
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/log of record: intact/);
    expect(v.stdout).toMatch(/1 sealed .*, 0 agent lines, 1 forged/);
    expect(v.stdout).toMatch(/first forged: .*decision_log\.jsonl:2: there is no seq 2 in the log of record/);
    const st = JSON.parse(bus.cli("status", "EP-002", "--json").stdout) as { status: string };
    expect(st.status).toBe("in_progress");
    expect(bus.cli("log").stdout).not.toMatch(/promoted/);
    expect(bus.cli("report").stdout).not.toMatch(/EP-002\s+promoted/);
  });

  it("a running daemon reports a forged line as soon as it lands, with no drop to wake it", async () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-003", "--title", "Live").code).toBe(0);
    bus.startDaemon();
    await bus.until("the daemon holds the root", () => existsSync(join(bus.root, ".consensus/writer.json")));
    appendFileSync(mirrorOf(bus), `${forge(bus, { decision: "promoted", epic_id: "EP-003", iteration: 1, details: {} })}\n`);
    await bus.waitForDecision("log_line_forged");
    expect(JSON.parse(bus.cli("status", "EP-003", "--json").stdout)).toMatchObject({ status: "in_progress" });
    expect(await bus.stopDaemon()).toBe(0);
  });

  it("a line written into the log of record without the key is never applied", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-004", "--title", "Record").code).toBe(0);
    const v = new ChainVerifier();
    for (const l of readFileSync(recordOf(bus), "utf8").split("\n").filter(Boolean)) v.push(l);
    const { lastSeq, head } = v.result();
    appendFileSync(recordOf(bus), `${sealLine(JSON.stringify({ seq: lastSeq + 1, txn: 1, timestamp: "2026-11-21T10:00:00Z", agent: "orchestrator", decision: "promoted", epic_id: "EP-004", details: {}, state: { epic_id: "EP-004", title: "Record", stage: "promoted", status: "promoted", iteration: 1 } }), head, "").line}\n`);
    expect(JSON.parse(bus.cli("status", "EP-004", "--json").stdout)).toMatchObject({ status: "in_progress" });
    const r = bus.cli("watch", "--once");
    expect(r.code, r.stderr).toBe(0);
    expect(bus.entries().some((e) => e.decision === "log_record_forged")).toBe(true);
    expect(JSON.parse(bus.cli("status", "EP-004", "--json").stdout)).toMatchObject({ status: "in_progress" });
    expect(bus.cli("log", "verify").code).toBe(1);
  });
});

describe("the checkpoint is verified, not trusted", () => {
  it("a mark planted in the key index does not suppress a devops veto; an edited checkpoint does not change state", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-005", "--title", "Veto").code).toBe(0);
    bus.drop("artifacts/EP-005/plan.json", artifact("plan.json", "EP-005", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    const veto = `from: developer\nto: planner\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: EP-005\niteration: 1\ntype: veto\nsubject: plan_unworkable\ncontent:\n  violation: "T2 needs a database"\n  specifics: "the plan has no database task"\n  blocking: true\n`;
    const rel = "messages/inbox/planner/veto-1.yaml";
    // plant the veto's processed mark (path@sha256) in the key index, and say the index is that long
    const keys = join(bus.root, ".consensus/checkpoint.keys");
    const cpPath = join(bus.root, ".consensus/checkpoint.json");
    const mark = `${rel}@${createHash("sha256").update(veto).digest("hex")}`;
    appendFileSync(keys, encodeMarks([["p", mark]]));
    writeFileSync(cpPath, readFileSync(cpPath, "utf8").replace(/"keys_bytes":(\d+)/, (_m, n: string) => `"keys_bytes":${Number(n) + 16}`));
    bus.drop(rel, veto);
    const r = bus.cli("watch", "--once");
    expect(r.code, r.stderr).toBe(0);
    const es = bus.entries();
    expect(es.map((e) => e.decision)).toContain("checkpoint_discarded");
    expect(es.filter((e) => e.epic_id === "EP-005").map((e) => e.decision)).toContain("veto_recorded");
    expect(JSON.parse(bus.cli("status", "EP-005", "--json").stdout)).toMatchObject({ stage: "plan", iteration: 2 });
    // an edited checkpoint: the epic "promoted" there is not believed
    writeFileSync(cpPath, readFileSync(cpPath, "utf8").replace(/"stage":"plan"/, '"stage":"promoted"').replace(/"status":"in_progress"/, '"status":"promoted"'));
    expect(statSync(cpPath).size).toBeGreaterThan(0);
    expect(JSON.parse(bus.cli("status", "EP-005", "--json").stdout)).toMatchObject({ stage: "plan", status: "in_progress" });
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.entries().filter((e) => e.decision === "checkpoint_discarded").length).toBeGreaterThanOrEqual(2);
  });
});
