/**
 * `consensus doctor` through the real CLI on real folders: a fresh root passes; each failure that can
 * be provoked without root gives a fail with its fix and exit 4.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ChainVerifier, sealLine } from "../../src/log/chain.js";
import { Bus } from "../support/bus.js";
import { readKeyring } from "../../src/trust/key-file.js";

interface Report {
  ok: boolean;
  exit_code: number;
  counts: Record<string, number>;
  checks: Array<{ id: string; status: string; found: string; fix?: string; details?: Record<string, unknown> }>;
}

let bus: Bus;
afterEach(() => bus?.cleanup());

const doctor = (b: Bus, ...args: string[]): { code: number; report: Report; stdout: string } => {
  const r = b.cli("doctor", "--format", "json", ...args);
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`doctor --format json did not print JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, report, stdout: r.stdout };
};
const check = (r: Report, id: string) => {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no ${id} check in ${JSON.stringify(r.checks.map((x) => x.id))}`);
  return c;
};
/** The log of record (the daemon's, in the private area); mirrorPath is its readable copy. */
const logPath = (b: Bus) => join(b.root, ".consensus", "log.jsonl");
const mirrorPath = (b: Bus) => join(b.root, "current", "decision_log.jsonl");

/** A pid that is certainly not running: a child that has already exited. */
const deadPid = (): number => {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
};

describe("consensus doctor", () => {
  it("a fresh root passes every check and exits 0 (text and json)", () => {
    bus = Bus.init();
    const text = bus.cli("doctor");
    expect(text.code, text.stdout + text.stderr).toBe(0);
    for (const id of ["node", "layout", "permissions", "config", "inotify", "files", "agents", "disk", "lock", "log", "state", "clock"]) expect(text.stdout).toMatch(new RegExp(`\\b(pass|warn)\\s+${id}\\b`));
    expect(text.stdout).toMatch(/0 failed: ready/);
    const { code, report } = doctor(bus);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.exit_code).toBe(0);
    expect(report.counts.fail).toBe(0);
    for (const c of report.checks) if (c.status !== "pass") expect(c.fix, `${c.id}: ${c.found}`).toBeTruthy();
    // doctor leaves nothing behind: no probe file anywhere under the root (validate skips dot files, so walk)
    expect(bus.cli("validate").code).toBe(0);
    const names = readdirSync(bus.root, { recursive: true, encoding: "utf8" });
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => /^\.doctor-/.test(basename(n)))).toEqual([]);
  });

  it("a root that does not exist: layout fails with the init command; --root after the command works", () => {
    bus = new Bus();
    const r = bus.cli("doctor", "--root", join(bus.dir, "elsewhere"));
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/fail\s+layout\s+no bus at .*elsewhere/);
    expect(r.stdout).toContain(`consensus init --root ${join(bus.dir, "elsewhere")}`);
  });

  it("an inbox folder replaced by a symbolic link fails layout, naming where it leads and how to make it a folder again", () => {
    bus = Bus.init();
    const outside = join(bus.dir, "outside");
    mkdirSync(outside);
    const inbox = join(bus.root, "messages", "inbox", "planner");
    rmSync(inbox, { recursive: true });
    symlinkSync(outside, inbox);
    const { code, report } = doctor(bus);
    expect(code).toBe(4);
    const c = check(report, "layout");
    expect(c.status).toBe("fail");
    expect(c.found).toContain(`messages/inbox/planner is a symbolic link (to ${realpathSync(outside)})`);
    expect(c.fix).toContain(`rm ${bus.root}/messages/inbox/planner && mkdir ${bus.root}/messages/inbox/planner`);
  });

  it("a FIFO planted as the readable log hangs neither doctor nor log verify: each names it and says to remove it", () => {
    bus = Bus.init();
    rmSync(mirrorPath(bus));
    expect(spawnSync("mkfifo", [mirrorPath(bus)]).status).toBe(0);
    const { code, report } = doctor(bus);
    expect(code).toBe(4);
    const c = check(report, "permissions");
    expect(c.found).toContain("current/decision_log.jsonl (a FIFO (named pipe), not a regular file)");
    expect(c.fix).toContain(`rm ${mirrorPath(bus)}`);
    const verify = bus.cli("log", "verify");
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`${mirrorPath(bus)} is a FIFO (named pipe), not a regular file: not read`);
  }, 150_000);

  it("a FIFO planted as a stray file or as consensus.yaml does not hang doctor: the stray is listed, the config named as a FIFO", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "FIFOs").code).toBe(0);
    const stray = join(bus.root, "epics", "EP-001", "notes.fifo");
    expect(spawnSync("mkfifo", [stray]).status).toBe(0);
    const first = doctor(bus);
    expect(check(first.report, "strays").found).toContain("epics/EP-001/notes.fifo");
    rmSync(stray);
    const config = join(bus.root, "consensus.yaml");
    rmSync(config);
    expect(spawnSync("mkfifo", [config]).status).toBe(0);
    const second = doctor(bus);
    expect(second.code).toBe(4);
    expect(check(second.report, "config").found).toContain("is a FIFO (named pipe), not a regular file");
    expect(check(second.report, "config").fix).toContain(`rm ${config}`);
  }, 200_000);

  it("a FIFO or a link planted as current/state.json does not hang doctor nor is followed: the state check names it", () => {
    bus = Bus.init();
    const state = join(bus.root, "current", "state.json");
    rmSync(state, { force: true });
    expect(spawnSync("mkfifo", [state]).status).toBe(0);
    const fifo = doctor(bus);
    expect(check(fifo.report, "state")).toMatchObject({ status: "warn", found: expect.stringContaining("is a FIFO (named pipe), not a regular file") });
    rmSync(state);
    const secret = join(bus.dir, "secret.json");
    writeFileSync(secret, "SECRET-5e1f not json\n");
    symlinkSync(secret, state);
    const link = doctor(bus);
    expect(check(link.report, "state")).toMatchObject({ status: "warn", found: expect.stringContaining("is a symbolic link") });
    expect(link.stdout).not.toContain("SECRET-5e1f");
  }, 200_000);

  it("an invalid consensus.yaml fails with the problem, the validate command and the rollback", () => {
    bus = Bus.init();
    const cfg = join(bus.root, "consensus.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("owner: devops", "owner: nobody"));
    const { code, report } = doctor(bus);
    expect(code).toBe(4);
    const c = check(report, "config");
    expect(c.status).toBe("fail");
    expect(c.found).toMatch(/owner "nobody" is not a role/);
    expect(c.fix).toContain(`consensus validate ${cfg}`);
    expect(c.fix).toContain("git checkout");
  });

  it("a stale lock (its holder died) fails, naming the dead holder and how to clear it", () => {
    bus = Bus.init();
    const pid = deadPid();
    mkdirSync(join(bus.root, ".consensus", "writer.lock"));
    writeFileSync(join(bus.root, ".consensus", "writer.json"), JSON.stringify({ pid, host: hostname(), started_at: "2026-01-01T00:00:00.000Z", kind: "daemon", command: "watch" }));
    const { code, report } = doctor(bus);
    expect(code).toBe(4);
    const c = check(report, "lock");
    expect(c.status).toBe("fail");
    expect(c.found).toContain(`pid ${pid}`);
    expect(c.found).toMatch(/no longer running/);
    expect(c.fix).toContain(`rm -rf ${join(bus.root, ".consensus", "writer.lock")}`);
    // the fix works
    spawnSync("rm", ["-rf", join(bus.root, ".consensus", "writer.lock"), join(bus.root, ".consensus", "writer.json")]);
    expect(doctor(bus).code).toBe(0);
  });

  it("a lock held by a live daemon passes and names it", async () => {
    bus = Bus.init();
    bus.startDaemon();
    const holder = join(bus.root, ".consensus", "writer.json");
    await bus.waitFor("the daemon's holder file", () => existsSync(holder) && readFileSync(holder, "utf8").length > 0);
    const { code, report } = doctor(bus);
    expect(code, JSON.stringify(report.checks, null, 2)).toBe(0);
    const c = check(report, "lock");
    expect(c.status).toBe("pass");
    expect(c.found).toMatch(new RegExp(`held by a live daemon \\(pid ${bus.daemon!.pid} `));
    expect(await bus.stopDaemon()).toBe(0);
  });

  it("a hand-edited log fails the hash chain check with the line, and log verify agrees", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Original title").code).toBe(0);
    writeFileSync(logPath(bus), readFileSync(logPath(bus), "utf8").replace("Original title", "Edited title"));
    const { code, report } = doctor(bus);
    expect(code).toBe(4);
    const c = check(report, "log");
    expect(c.status).toBe("fail");
    expect(c.found).toMatch(/log of record broken at .*log\.jsonl:1:/);
    expect(c.fix).toContain("consensus log verify");
    expect(bus.cli("log", "verify").stdout).toMatch(/broken: .*:1:/);
  });

  it("a line in the readable copy that claims to be the daemon's is a warning naming it; the log of record passes", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "T").code).toBe(0);
    const v = new ChainVerifier();
    for (const l of readFileSync(mirrorPath(bus), "utf8").split("\n").filter(Boolean)) v.push(l);
    const { lastSeq, head } = v.result();
    // correctly re-chained, but without the daemon key
    appendFileSync(mirrorPath(bus), `${sealLine(JSON.stringify({ seq: lastSeq + 1, timestamp: "2026-01-01T00:00:00Z", agent: "orchestrator", decision: "promoted", epic_id: "EP-001", details: {} }), head, "").line}\n`);
    const { code, report } = doctor(bus);
    expect(code).toBe(0);
    const c = check(report, "log");
    expect(c.status).toBe("warn");
    expect(c.found).toMatch(/1 forged line\(s\), the first at line 2/);
  });

  it("a torn last line is a warning, not a failure", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "T").code).toBe(0);
    appendFileSync(logPath(bus), '{"timestamp":"2026-01-01T00:00:00Z","agent":"devops","deci');
    const { code, report } = doctor(bus);
    expect(code).toBe(0);
    expect(check(report, "log")).toMatchObject({ status: "warn" });
    expect(check(report, "log").fix).toContain("consensus watch --once");
  });

  it("an unwritable folder fails with the chown/chmod fix", (ctx) => {
    if (process.getuid?.() === 0) ctx.skip(); // root writes anywhere
    bus = Bus.init();
    const current = join(bus.root, "current");
    chmodSync(current, 0o555);
    try {
      const { code, report } = doctor(bus);
      expect(code).toBe(4);
      const c = check(report, "permissions");
      expect(c.status).toBe("fail");
      expect(c.found).toMatch(/current \(EACCES\)/);
      expect(c.fix).toContain(`chmod -R u+rwX ${current}`);
    } finally {
      chmodSync(current, 0o755);
    }
  });

  it("an inotify watch limit too low for the folders to watch fails with the sysctl fix (CONSENSUS_PROC_DIR)", () => {
    bus = Bus.init();
    const proc = join(bus.dir, "proc");
    mkdirSync(join(proc, "sys", "fs", "inotify"), { recursive: true });
    writeFileSync(join(proc, "sys", "fs", "inotify", "max_user_watches"), "100\n");
    writeFileSync(join(proc, "sys", "fs", "inotify", "max_user_instances"), "128\n");
    bus.env.CONSENSUS_PROC_DIR = proc;
    const { code, report } = doctor(bus);
    expect(code).toBe(4);
    const c = check(report, "inotify");
    expect(c.status).toBe("fail");
    expect(c.found).toMatch(/max_user_watches is 100; the daemon watches 9 folders/);
    expect(c.fix).toMatch(/sudo sysctl -w fs\.inotify\.max_user_watches=\d+/);
    // a daemon run with --poll uses no watches
    expect(doctor(bus, "--poll").code).toBe(0);
  });

  it("a log entry dated in the future fails the clock check; the chain itself is intact", async () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "T").code).toBe(0);
    const v = new ChainVerifier();
    for (const l of readFileSync(logPath(bus), "utf8").split("\n").filter(Boolean)) v.push(l);
    const { lastSeq, head } = v.result();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const body = JSON.stringify({ seq: lastSeq + 1, txn: 1, timestamp: future, agent: "orchestrator", decision: "note", details: {} });
    const ring = await readKeyring(join(bus.root, ".consensus"));
    appendFileSync(logPath(bus), `${sealLine(body, head, "", (t) => ring.mac("log", t)).line}\n`);
    const { code, report } = doctor(bus);
    expect(check(report, "log").status).toBe("pass");
    const c = check(report, "clock");
    expect(c.status).toBe("fail");
    expect(c.found).toContain(future);
    expect(c.found).toContain(`log.jsonl:${readFileSync(logPath(bus), "utf8").split("\n").filter(Boolean).length}, by orchestrator`);
    expect(c.fix).toContain("timedatectl");
    expect(code).toBe(4);
  });
});
