/**
 * A root from before the log of record (its log only in current/decision_log.jsonl, chained, no MACs)
 * is adopted once at the first start; one whose chain does not verify is refused with the fix. And the
 * daemon key's commands never print a key.
 */
import { existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, artifact } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

/** Turns a root into one as an older version left it: the log in current/ only, no MACs, no record, no checkpoint. */
function makeOld(b: Bus): void {
  const record = join(b.root, ".consensus/log.jsonl");
  const old = readFileSync(record, "utf8").replace(/,"mac":"[^"]*"\}$/gm, "}");
  writeFileSync(join(b.root, "current/decision_log.jsonl"), old);
  for (const f of ["log.jsonl", "checkpoint.json", "checkpoint.keys"]) rmSync(join(b.root, ".consensus", f), { force: true });
}

describe("a root from before the log of record", () => {
  it("is adopted once at the first start: said in a finding, state kept, the readable copy sealed alike", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Old").code).toBe(0);
    bus.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    makeOld(bus);
    const d = bus.cli("doctor", "--format", "json");
    expect(d.stdout).toMatch(/adopts it as the log of record/);
    expect(bus.cli("log").code).toBe(1);
    const r = bus.cli("watch", "--once");
    expect(r.code, r.stderr).toBe(0);
    const adopted = bus.entries().filter((e) => e.decision === "log_adopted");
    expect(adopted).toHaveLength(1);
    expect(adopted[0]!.details).toMatchObject({ from: "current/decision_log.jsonl", to: ".consensus/log.jsonl", daemon_lines: 3, last_seq: 3 });
    expect(JSON.parse(bus.cli("status", "EP-001", "--json").stdout)).toMatchObject({ stage: "implementation" });
    const v = bus.cli("log", "verify");
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toMatch(/0 forged/);
    // once: the next start adopts nothing
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.entries().filter((e) => e.decision === "log_adopted")).toHaveLength(1);
  });

  it("whose chain does not verify is not adopted: LOG_ADOPT_FAILED names the line and the fix", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Old").code).toBe(0);
    makeOld(bus);
    const mirror = join(bus.root, "current/decision_log.jsonl");
    writeFileSync(mirror, readFileSync(mirror, "utf8").replace('"title":"Old"', '"title":"Edited"'));
    const r = bus.cli("watch", "--once");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/LOG_ADOPT_FAILED/);
    expect(r.stderr).toMatch(/decision_log\.jsonl:1: hash does not match/);
    expect(r.stderr).toMatch(/mv current\/decision_log\.jsonl current\/decision_log\.old\.jsonl/);
    expect(existsSync(join(bus.root, ".consensus/log.jsonl"))).toBe(false);
  });

  it("one an agent grew past the cap (it can append to it) is not read whole: LOG_ADOPT_FAILED with its size and the fix", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Old").code).toBe(0);
    makeOld(bus);
    const mirror = join(bus.root, "current/decision_log.jsonl");
    // sparse: 300 MiB on paper, nothing on the disk
    truncateSync(mirror, 300 * 2 ** 20);
    const r = bus.cli("watch", "--once");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/LOG_ADOPT_FAILED/);
    expect(r.stderr).toMatch(/314572800 bytes/);
    expect(existsSync(join(bus.root, ".consensus/log.jsonl"))).toBe(false);
  });
});

describe("consensus keys", () => {
  it("rotate re-seals the rules in force with the new key: retiring the old one at once leaves them verifying for readers and writers", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Before").code).toBe(0);
    const rotate = bus.cli("keys", "rotate", "--retire-after", "0s");
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stdout).toMatch(/re-sealed the rules in force \(version [0-9a-f]{12}, applied by tester\)/);
    for (const args of [["graph"], ["config", "show"], ["start", "EP-002", "--title", "After"]]) {
      const r = bus.cli(...args);
      expect(r.code, `consensus ${args.join(" ")}: ${r.stderr}`).toBe(0);
      expect(r.stderr).not.toContain("RULES_FORGED");
    }
  });

  it("create, list and rotate print key ids, never a key; sealed lines keep verifying after a rotation", () => {
    bus = Bus.init();
    const keyFile = join(bus.root, ".consensus/keys/daemon.key");
    const secrets = () => (JSON.parse(readFileSync(keyFile, "utf8")) as { keys: Array<{ secret: string }> }).keys.map((k) => k.secret);
    const create = bus.cli("keys", "create");
    expect(create.code).toBe(0);
    expect(create.stdout).toMatch(/already there/);
    expect(bus.cli("start", "EP-001", "--title", "Keys").code).toBe(0);
    const rotate = bus.cli("keys", "rotate", "--retire-after", "1d");
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stdout).toMatch(/verifies until/);
    const list = bus.cli("keys");
    expect(list.code).toBe(0);
    // one key a line, as a person reads it (not an escaped "\x0a" between them)
    for (const out of [rotate, list]) {
      expect(out.stdout).not.toContain("\\x0a");
      expect(out.stdout.split("\n").filter((l) => /^ {2}[0-9a-f]{8} {2}made /.test(l))).toHaveLength(2);
    }
    expect(secrets()).toHaveLength(2);
    for (const out of [create, rotate, list]) for (const s of secrets()) expect(out.stdout + out.stderr).not.toContain(s);
    expect(bus.cli("start", "EP-002", "--title", "After").code).toBe(0);
    expect(bus.cli("log", "verify").code).toBe(0);
    // lines sealed with the previous key keep verifying, also when the state is rebuilt from the log
    expect(bus.cli("start", "EP-003", "--title", "Later").code).toBe(0);
    rmSync(join(bus.root, ".consensus/checkpoint.json"));
    expect(JSON.parse(bus.cli("status", "--json").stdout).map((e: { epic_id: string }) => e.epic_id)).toEqual(["EP-001", "EP-002", "EP-003"]);
    const again = bus.cli("log", "verify");
    expect(again.code, again.stdout).toBe(0);
  });
});
