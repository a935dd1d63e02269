/**
 * `consensus gate EPIC` against a real bus the daemon drove: it opens for a promoted epic whose log
 * verifies, and for nothing else — not for an epic in progress, escalated, unknown or held by a veto,
 * and never because something could not be read: a truncated, garbled or forged log, a forged
 * checkpoint, a missing or foreign root, permission denied. Each damaged case runs on a copy of the bus.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bus, DEFAULT_ARTIFACTS, cliPath, dropAccepted, vetoYaml } from "../support/bus.js";

let bus: Bus;
/** The bus as the daemon left it, readable by the user the gate runs as. */
let pristine: string;
const copies: string[] = [];

beforeAll(async () => {
  bus = Bus.init();
  bus.editConfig((t) => t.replace("max_iterations: 3", "max_iterations: 2"));
  for (const [id, title] of [["EP-001", "Promoted"], ["EP-002", "In progress"], ["EP-003", "Escalated"], ["EP-004", "Vetoed"]]) expect(bus.cli("start", id!, "--title", title!).code).toBe(0);
  bus.startDaemon();
  await dropAccepted(bus, "EP-001", DEFAULT_ARTIFACTS);
  await bus.waitForDecision("promoted", 1, "EP-001");
  // EP-004: the developer sends the plan back; EP-003: the same veto twice escalates
  for (const epic of ["EP-003", "EP-004"]) {
    await dropAccepted(bus, epic, ["plan.json"]);
    bus.drop(`messages/inbox/planner/veto-${epic}-1.yaml`, vetoYaml("developer", "planner", epic, 1, "unworkable_plan"));
    await bus.waitForDecision("veto_recorded", 1, epic);
  }
  await dropAccepted(bus, "EP-003", ["plan.json"], 2);
  bus.drop("messages/inbox/planner/veto-EP-003-2.yaml", vetoYaml("developer", "planner", "EP-003", 2, "unworkable_plan"));
  await bus.waitForDecision("escalated", 1, "EP-003");
  expect(await bus.stopDaemon()).toBe(0);
  pristine = copy();
});
afterAll(() => {
  bus?.cleanup();
  for (const d of copies) rmSync(d, { recursive: true, force: true });
});

/** A copy of the bus to damage; readable by everyone, so an unprivileged user is denied only what a test denies. */
function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), "consensus-gate-"));
  copies.push(dir);
  const root = join(dir, "consensus");
  cpSync(bus.root, root, { recursive: true });
  spawnSync("chmod", ["-R", "a+rX", dir]);
  return root;
}

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** As root, the test runs the gate as nobody: root reads through any file mode, and a denied read is what is tested. */
const unprivileged = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

function gate(root: string, epic: string, ...args: string[]): Run {
  const r = spawnSync(process.execPath, [cliPath, "gate", epic, "--root", root, ...args], { encoding: "utf8", env: { ...process.env, CONSENSUS_ROOT: "" }, ...unprivileged, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const failed = (r: Run): string[] => [...r.out.matchAll(/^ {2}FAIL {2}(\w+)/gm)].map((m) => m[1]!);
/** The log of record (the gate never reads the readable copy in current/). */
const logPath = (root: string) => join(root, ".consensus", "log.jsonl");
const lines = (root: string) => readFileSync(logPath(root), "utf8").split("\n").slice(0, -1);

describe("consensus gate: opens on positive evidence only", () => {
  it("opens for a promoted epic whose log verifies, in every output format", () => {
    const r = gate(pristine, "EP-001");
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^consensus gate EP-001 \(requires promoted\): open$/m);
    expect([...r.out.matchAll(/^ {2}pass {2}(\w+)/gm)].map((m) => m[1])).toEqual(["store", "log", "state", "epic", "vetoes"]);
    const j = gate(pristine, "EP-001", "--format", "json");
    expect(j.code).toBe(0);
    expect(JSON.parse(j.out)).toMatchObject({ epic: "EP-001", open: true, exit: 0 });
    expect(gate(pristine, "EP-001", "--format", "github").out).toMatch(/^::notice title=consensus gate EP-001::open/);
    expect(gate(pristine, "EP-001", "--require", "deployment").code).toBe(0);
  });

  it("stays closed for an epic in progress, escalated, unknown, or held by an open blocking veto", () => {
    const inProgress = gate(pristine, "EP-002");
    expect(inProgress.code).toBe(1);
    expect(inProgress.out).toMatch(/FAIL {2}epic +EP-002 is in progress at plan, iteration 1: not promoted/);
    const escalated = gate(pristine, "EP-003");
    expect(escalated.code).toBe(1);
    expect(escalated.out).toMatch(/FAIL {2}epic +EP-003 is escalated \(\w+\)/);
    const unknown = gate(pristine, "EP-404");
    expect(unknown.code).toBe(3);
    expect(unknown.out).toMatch(/EP-404 is not known/);
    // EP-004 is back at plan with the developer's veto open: "reached plan" is not enough
    const vetoed = gate(pristine, "EP-004", "--require", "plan");
    expect(vetoed.code).toBe(1);
    expect(failed(vetoed)).toEqual(["vetoes"]);
    expect(vetoed.out).toMatch(/open blocking veto: developer:unworkable_plan@1/);
    expect(gate(pristine, "EP-002", "--require", "implementation").code).toBe(1);
    expect(gate(pristine, "EP-002", "--require", "plan").code).toBe(0);
    expect(gate(pristine, "EP-001", "--format", "github").code).toBe(0);
    expect(gate(pristine, "EP-002", "--format", "github").out).toMatch(/^::error title=consensus gate EP-002::epic: EP-002 is in progress/m);
  });

  it("refuses a requirement that is not a stage, and an id that is not an epic id (usage, exit 2)", () => {
    const r = gate(pristine, "EP-001", "--require", "shipped");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--require shipped: not a stage of this pipeline[\s\S]*promoted or one of plan, implementation, review, deployment/);
    expect(gate(pristine, "../EP-001").code).toBe(2);
  });
});

describe("consensus gate: never opens because something could not be read", () => {
  it("a log truncated mid-line or by whole lines", () => {
    const torn = copy();
    truncateSync(logPath(torn), readFileSync(logPath(torn)).length - 25);
    const r = gate(torn, "EP-001");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL {2}store/);

    const cut = copy();
    const keep = lines(cut);
    const promotedAt = keep.findIndex((l) => l.includes('"decision":"promoted"'));
    writeFileSync(logPath(cut), `${keep.slice(0, promotedAt).join("\n")}\n`);
    const c = gate(cut, "EP-001");
    expect(c.code).toBe(1);
    expect(failed(c)).toContain("store"); // the checkpoint refers to bytes the log no longer has
  });

  it("a garbled log, with the same verdict `log verify` gives", () => {
    const root = copy();
    const ls = lines(root);
    ls[2] = ls[2]!.replace(/"timestamp":"[^"]*"/, '"timestamp":"1999-01-01T00:00:00Z"');
    writeFileSync(logPath(root), `${ls.join("\n")}\n`);
    const r = gate(root, "EP-001");
    expect(r.code).toBe(1);
    const verify = spawnSync(process.execPath, [cliPath, "log", "verify", "--root", root], { encoding: "utf8" });
    expect(verify.status).toBe(1);
    const first = verify.stdout.split("\n")[0]!;
    expect(first).toMatch(/^log of record: broken: .*:3: /);
    const broken = first.replace(/^log of record: /, "");
    expect(r.out).toContain(`FAIL  log     ${broken}`);
  });

  it("forged lines: a sealed-looking line, an unsealed claim, an edited state", () => {
    const sealed = copy();
    const ls = lines(sealed);
    const last = JSON.parse(ls.at(-1)!) as { seq: number };
    const ep2 = ls.map((l) => JSON.parse(l) as { state?: { epic_id: string } }).filter((e) => e.state?.epic_id === "EP-002").at(-1)!.state!;
    const forged = { seq: last.seq + 1, timestamp: "2026-11-22T00:00:00Z", agent: "orchestrator", decision: "promoted", epic_id: "EP-002", iteration: 1, details: {}, state: { ...ep2, status: "promoted", stage: "promoted" } };
    writeFileSync(logPath(sealed), `${ls.join("\n")}\n${JSON.stringify(forged).slice(0, -1)},"hash":"${"ab".repeat(32)}"}\n`);
    const s = gate(sealed, "EP-002");
    expect(s.code).toBe(1);
    expect(failed(s)).toContain("log");

    const unsealed = copy();
    writeFileSync(logPath(unsealed), `${lines(unsealed).join("\n")}\n${JSON.stringify(forged)}\n`);
    const u = gate(unsealed, "EP-002");
    expect(u.code).toBe(1);
    expect(u.out).toMatch(/EP-002 is in progress/);

    const edited = copy();
    writeFileSync(logPath(edited), `${lines(edited).map((l) => (l.includes('"epic_id":"EP-002"') ? l.replace('"status":"in_progress"', '"status":"promoted"') : l)).join("\n")}\n`);
    const e = gate(edited, "EP-002");
    expect(e.code).toBe(1);
    expect(failed(e)).toContain("log");
  });

  it("a forged checkpoint or state.json: the state must be the one the log gives", () => {
    const root = copy();
    const cpPath = join(root, ".consensus", "checkpoint.json");
    expect(existsSync(cpPath)).toBe(true);
    const cp = JSON.parse(readFileSync(cpPath, "utf8")) as { epics: Record<string, { status: string; stage: string }> };
    cp.epics["EP-002"] = { ...cp.epics["EP-002"]!, status: "promoted", stage: "promoted" };
    writeFileSync(cpPath, JSON.stringify(cp));
    // the gate runs as another user than the daemon's: it cannot check the checkpoint's MAC, so it does
    // not read the checkpoint at all and takes the state from the log of record
    const r = gate(root, "EP-002");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL {2}epic +EP-002 is in progress/);

    const st = copy();
    const statePath = join(st, "current", "state.json");
    const before = readFileSync(statePath, "utf8");
    const after = before.replace(/("epic_id": ?"EP-002"[^}]*?"status": ?)"in_progress"/, '$1"promoted"');
    expect(after).not.toBe(before);
    writeFileSync(statePath, after);
    expect(gate(st, "EP-002").out).toMatch(/FAIL {2}epic +EP-002 is in progress/);
  });

  it("a store that does not answer: no root, a file for a root, a folder that is not a bus", () => {
    const dir = mkdtempSync(join(tmpdir(), "consensus-gate-"));
    copies.push(dir);
    chmodSync(dir, 0o755);
    const missing = gate(join(dir, "nowhere"), "EP-001");
    expect(missing.code).toBe(1);
    expect(missing.out).toMatch(/FAIL {2}store +the store did not answer: .*nowhere: ENOENT/);
    writeFileSync(join(dir, "file"), "x");
    expect(gate(join(dir, "file"), "EP-001").out).toMatch(/is not a folder/);
    const empty = join(dir, "empty");
    cpSync(join(bus.root, "current"), join(empty, "current"), { recursive: true });
    spawnSync("chmod", ["-R", "a+rX", dir]);
    const noBus = gate(empty, "EP-001");
    expect(noBus.code).toBe(1);
    expect(noBus.out).toMatch(/not a consensus bus: .*consensus.yaml: ENOENT/);
  });

  it("permission denied: on the log, on the state (the checkpoint), on the root", () => {
    const log = copy();
    chmodSync(logPath(log), 0o000);
    const l = gate(log, "EP-001");
    expect(l.code).toBe(1);
    expect(l.out).toMatch(/FAIL {2}log +cannot read .*\.consensus\/log\.jsonl: EACCES/);
    expect(l.out).toMatch(/FAIL {2}store +the store did not answer: reading the store failed: EACCES/);

    // a user who cannot use the daemon key never reads the checkpoint (it could not tell an edited one):
    // the state comes from the log of record, and the gate says the MACs were not checked
    const state = copy();
    chmodSync(join(state, ".consensus", "checkpoint.json"), 0o000);
    const s = gate(state, "EP-001");
    expect(s.code, s.out).toBe(0);
    expect(s.out).toMatch(/pass {2}log +intact: .*MACs not checked/);

    const root = copy();
    chmodSync(root, 0o000);
    const r = gate(root, "EP-001");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL {2}store +the store did not answer: .*: EACCES/);
    // log verify (the same check) no longer says "nothing to verify" for a log it cannot look at, nor crashes on one it cannot read
    for (const [where, denied] of [["root", root], ["log", log]] as const) {
      const v = spawnSync(process.execPath, [cliPath, "log", "verify", "--root", denied], { encoding: "utf8", ...unprivileged });
      expect(v.status, `${where}: ${v.stdout}${v.stderr}`).toBe(1);
      // a root this user may not enter keeps it out of the private area: said as that (PRIVATE_AREA_DENIED's words)
      expect(v.stdout).toMatch(where === "root" ? /^log of record: uid 65534 \(nobody\) may not read the log of record \(.*\.consensus\/log\.jsonl\), in the daemon's private area/ : /^log of record: cannot read .*\.consensus\/log\.jsonl: EACCES/);
    }
  });
});

describe("consensus gate in a CI checkout: the committed readable copy, no log of record", () => {
  /** A bus with agents' lines the daemon recorded, as git holds it: no .consensus/; and its key, as a CI secret holds it. */
  let checkedOut: string;
  let keyFile: string;
  let otherKeyFile: string;

  beforeAll(async () => {
    const b = Bus.init();
    try {
      expect(b.cli("start", "EP-001", "--title", "Promoted").code).toBe(0);
      b.startDaemon();
      const agentLine = (decision: string) => `${JSON.stringify({ timestamp: new Date().toISOString(), agent: "developer", decision, epic_id: "EP-001", iteration: 1 })}\n`;
      appendFileSync(join(b.root, "current/decision_log.jsonl"), agentLine("started_work"));
      await b.waitForDecision("agent_lines_recorded", 1);
      await dropAccepted(b, "EP-001", DEFAULT_ARTIFACTS);
      await b.waitForDecision("promoted", 1, "EP-001");
      appendFileSync(join(b.root, "current/decision_log.jsonl"), agentLine("finished_work"));
      await b.waitForDecision("agent_lines_recorded", 2);
      expect(await b.stopDaemon()).toBe(0);
      const dir = mkdtempSync(join(tmpdir(), "consensus-gate-ci-"));
      copies.push(dir);
      chmodSync(dir, 0o755);
      checkedOut = join(dir, "pristine");
      cpSync(b.root, checkedOut, { recursive: true, filter: (src) => !src.startsWith(join(b.root, ".consensus")) });
      keyFile = join(dir, "daemon.key");
      writeFileSync(keyFile, readFileSync(join(b.root, ".consensus/keys/daemon.key")), { mode: 0o600 });
      otherKeyFile = join(dir, "other.key");
      writeFileSync(otherKeyFile, readFileSync(join(bus.root, ".consensus/keys/daemon.key")), { mode: 0o600 });
      spawnSync("chmod", ["-R", "a+rX", checkedOut]);
      if (process.getuid?.() === 0) spawnSync("chown", ["65534:65534", keyFile, otherKeyFile]);
    } finally {
      b.cleanup();
    }
  }, 120_000);

  const checkout = (): string => {
    const root = `${checkedOut}-${copies.length}`;
    copies.push(root);
    cpSync(checkedOut, root, { recursive: true });
    spawnSync("chmod", ["-R", "a+rX", root]);
    return root;
  };
  const withKey = (root: string, file: string, ...args: string[]): Run => {
    const r = spawnSync(process.execPath, [cliPath, "gate", "EP-001", "--root", root, ...args], { encoding: "utf8", env: { ...process.env, CONSENSUS_ROOT: "", CONSENSUS_KEY_FILE: file }, ...unprivileged, timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const copyLog = (root: string) => join(root, "current/decision_log.jsonl");

  it("without the key: opens on the chain alone and says the MACs were not checked; --require-mac closes it", () => {
    const root = checkout();
    const r = gate(root, "EP-001");
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/WARN {2}log +intact: the committed readable copy .*2 agents' lines skipped; MACs NOT checked/);
    expect(r.out).toMatch(/fix: .*CONSENSUS_KEY_FILE/);
    const strict = gate(root, "EP-001", "--require-mac");
    expect(strict.code).toBe(1);
    expect(failed(strict)).toEqual(["log"]);
  });

  it("with the key: every daemon line's MAC checked; another root's key, or a key file that cannot be read, closes it", () => {
    const root = checkout();
    const ok = withKey(root, keyFile, "--require-mac");
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/pass {2}log +intact: .*every daemon line's MAC checked under key/);
    const other = withKey(root, otherKeyFile);
    expect(other.code).toBe(1);
    expect(other.out).toMatch(/FAIL {2}log +broken: .*no daemon line is sealed by a key the given key file holds in force/);
    const missing = withKey(root, join(root, "no-such.key"));
    expect(missing.code).toBe(1);
    expect(missing.out).toMatch(/FAIL {2}log +the daemon key CONSENSUS_KEY_FILE names cannot be used: .*ENOENT/);
  });

  it("a PR's checkout with links where the copy and the state go: never read through them, the gate stays closed and prints none of the target", () => {
    const root = checkout();
    const secret = join(root, "..", `runner-secret-${copies.length}`);
    writeFileSync(secret, "k1 9f8e7d6c5b4a-RUNNER-TOKEN\n", { mode: 0o644 });
    copies.push(secret);
    rmSync(join(root, "current/state.json"));
    symlinkSync(secret, join(root, "current/state.json"));
    const viaState = gate(root, "EP-001");
    expect(viaState.code).toBe(1);
    expect(viaState.out + viaState.err).not.toContain("9f8e7d6c5b4a");
    expect(viaState.out).toMatch(/symbolic link/);
    // the log alone a link (a fresh checkout: state.json real), so what is named is the log's link
    const other = checkout();
    rmSync(copyLog(other));
    symlinkSync("/dev/zero", copyLog(other));
    const viaLog = gate(other, "EP-001");
    expect(viaLog.code).toBe(1);
    expect(viaLog.out).toMatch(/decision_log\.jsonl[^\n]*symbolic link/);
  });

  it("agents' lines: one appended later is skipped; one the daemon recorded cannot be edited", () => {
    const root = checkout();
    appendFileSync(copyLog(root), `${JSON.stringify({ timestamp: "2026-11-30T00:00:00Z", agent: "developer", decision: "note", epic_id: "EP-001" })}\n`);
    expect(withKey(root, keyFile).code).toBe(0);
    writeFileSync(copyLog(root), readFileSync(copyLog(root), "utf8").replace('"decision":"started_work"', '"decision":"started_wurk"'));
    const r = withKey(root, keyFile);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL {2}log +broken: .*hash does not match/);
  });

  it("state.json must be the state the verified lines give; missing or garbled, the gate stays closed", () => {
    const root = checkout();
    const state = join(root, "current/state.json");
    const text = readFileSync(state, "utf8");
    writeFileSync(state, text.replace('"status":"promoted"', '"status":"in_progress"').replace('"status": "promoted"', '"status": "in_progress"'));
    expect(readFileSync(state, "utf8")).not.toBe(text);
    const edited = withKey(root, keyFile);
    expect(edited.code).toBe(1);
    expect(failed(edited)).toContain("state");
    writeFileSync(state, "{");
    const garbled = withKey(root, keyFile);
    expect(garbled.code).toBe(1);
    expect(failed(garbled)).toContain("store");
    rmSync(state);
    expect(failed(withKey(root, keyFile))).toContain("store");
  });
});
