import { checkPack } from "../../src/doctor/pack-check.js";
/** Each doctor check is a pure function of facts: tested here without a disk. */
import { checkRules } from "../../src/doctor/rules-check.js";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_YAML } from "../../src/config/default-config.js";
import { parseConfig } from "../../src/config/pipeline.js";
import { formatReportText, summarise } from "../../src/report/check.js";
import { checkClock } from "../../src/doctor/clock-check.js";
import { checkConfigFile } from "../../src/doctor/config-check.js";
import { checkDisk } from "../../src/doctor/disk-check.js";
import { checkAgents } from "../../src/doctor/agents-check.js";
import { checkFdLimit, fdsWanted } from "../../src/doctor/fd-check.js";
import { issue } from "../../src/errors/issue.js";
import type { Facts } from "../../src/doctor/facts.js";
import { checkInotify, watchesWanted } from "../../src/doctor/inotify-check.js";
import { checkLayout, checkStateFile } from "../../src/doctor/layout-check.js";
import { checkLock } from "../../src/doctor/lock-check.js";
import { checkLog } from "../../src/doctor/log-check.js";
import { checkNodeVersion } from "../../src/doctor/node-version.js";
import { runChecks } from "../../src/doctor/run-checks.js";
import { checkWritable } from "../../src/doctor/writable-check.js";
import { checkStrays } from "../../src/doctor/stray-check.js";

const NOW = Date.parse("2026-11-22T10:00:00.000Z");
const root = "/srv/bus";
const GiB = 1024 ** 3;

const healthy = (): Facts => ({
  root,
  now: NOW,
  node: { version: "v20.20.2", engines: ">=20.19" },
  layout: { rootExists: true, missing: [], missingInboxes: [] },
  config: { path: `${root}/consensus.yaml`, parsed: parseConfig(DEFAULT_CONFIG_YAML, `${root}/consensus.yaml`) },
  rules: { kind: "ok", path: `${root}/.consensus/rules.json`, version: parseConfig(DEFAULT_CONFIG_YAML).pipeline!.version, applied_by: "lead", applied_at: new Date(NOW).toISOString(), logHasEntries: true },
  writable: [{ path: "current" }, { path: ".consensus" }],
  inotify: { procDir: "/proc", maxWatches: 8192, maxInstances: 128, folders: 7, poll: false },
  disk: { path: root, freeBytes: 50 * GiB, totalBytes: 100 * GiB, freeInodes: 1e6, totalInodes: 2e6 },
  lock: { lockPath: `${root}/.consensus/writer.lock`, holderPath: `${root}/.consensus/writer.json`, staleMs: 10_000 },
  log: { path: `${root}/.consensus/log.jsonl`, exists: true, tornTail: false, chain: { ok: true, lines: 3, daemonLines: 3, agentLines: 0, lastSeq: 3, head: "a".repeat(64) } },
  clock: { newest: { line: 3, timestamp: "2026-11-22T09:59:00.000Z", agent: "orchestrator" }, tempMtimeMs: NOW + 3, tempWrittenAt: NOW },
  state: { path: `${root}/current/state.json`, exists: true },
  pack: { path: `${root}/.consensus/pack`, found: "a regular file", size: 1 << 20, links: 1, packEnd: 4096 },
  fds: { soft: 65536, hard: 65536 },
  agents: { count: 0, accounts: [], cgroup: { ok: false, pids: false, why: "no agents configured" } },
  strays: { files: [], folders: [], moreFiles: 0 },
  agentPrograms: [],
});

describe("doctor checks", () => {
  it("healthy facts pass every check", () => {
    const r = runChecks(healthy());
    expect(r.checks.map((c) => `${c.id}:${c.status}`)).toEqual(["node:pass", "layout:pass", "modes:pass", "permissions:pass", "config:pass", "rules:pass", "inotify:pass", "files:pass", "agents:pass", "disk:pass", "lock:pass", "log:pass", "pack:pass", "state:pass", "clock:pass", "strays:pass"]);
    expect(r.ok).toBe(true);
  });

  it("agents: a program not on PATH or a missing prompt warns with the fix; ready agents pass", () => {
    const one = { count: 1, accounts: [], cgroup: { ok: false, pids: false, why: "no cgroup v2 here" }, prlimit: "/usr/bin/prlimit" };
    expect(checkAgents({ agents: { count: 0, accounts: [], cgroup: { ok: false, pids: false, why: "-" } }, agentPrograms: [] })).toMatchObject({ status: "pass" });
    expect(checkAgents({ agents: one, agentPrograms: [{ name: "planner", program: "claude", programAt: "/usr/bin/claude", prompt: "agents/planner.md", promptExists: true }] })).toMatchObject({ status: "pass", found: expect.stringContaining("1 agent(s) ready, run") });
    const r = checkAgents({ agents: one, agentPrograms: [{ name: "planner", program: "claude", prompt: "agents/planner.md", promptExists: false }] });
    expect(r.status).toBe("warn");
    expect(r.found).toContain('agent "planner": program claude is not on PATH');
    expect(r.found).toContain('agent "planner": its prompt agents/planner.md does not exist');
    expect(r.fix).toContain("consensus init");
    // an agent that cannot run is not counted as ready
    expect(r.found).toContain("0 of 1 agent(s) ready");
    expect(r.found).not.toMatch(/(^|; )1 agent\(s\) ready/);
  });

  it("rules: an edit not in force warns, forged or missing rules fail, each with config apply as the fix", () => {
    const f = healthy();
    expect(checkRules({ ...f, rules: { ...f.rules!, version: "0".repeat(64) } })).toMatchObject({ status: "warn", fix: expect.stringContaining("consensus config apply") });
    expect(checkRules({ ...f, rules: { kind: "refused", path: "r", reason: "the MAC does not match", logHasEntries: true } })).toMatchObject({ status: "fail", found: expect.stringContaining("the MAC does not match") });
    expect(checkRules({ ...f, rules: { kind: "none", path: "r", logHasEntries: true } })).toMatchObject({ status: "fail", fix: expect.stringContaining("consensus config apply") });
    expect(checkRules({ ...f, rules: { kind: "none", path: "r", logHasEntries: false } })).toMatchObject({ status: "pass" });
  });

  it("a missing root fails layout and skips the rest", () => {
    const f = healthy();
    f.layout.rootExists = false;
    const r = runChecks(f);
    expect(r.ok).toBe(false);
    expect(r.checks.filter((c) => c.status === "skip")).toHaveLength(14);
    expect(formatReportText(r)).toContain(`fix: Run \`consensus init --root ${root}\``);
  });

  it("node: older than engines fails; an unreadable range warns", () => {
    expect(checkNodeVersion("v20.19.0", ">=20.19").status).toBe("pass");
    expect(checkNodeVersion("v22.1.0", ">=20.19").status).toBe("pass");
    const old = checkNodeVersion("v20.18.3", ">=20.19");
    expect(old.status).toBe("fail");
    expect(old.fix).toMatch(/Install Node 20\.19 or newer/);
    expect(checkNodeVersion("v20.20.0", "^20 || ^22").status).toBe("warn");
  });

  it("layout: missing folders fail with init; missing role inboxes warn with mkdir", () => {
    expect(checkLayout({ root, layout: { rootExists: true, missing: ["current", "archive"], missingInboxes: [] } })).toMatchObject({ status: "fail", found: "missing under the root: current, archive" });
    const w = checkLayout({ root, layout: { rootExists: true, missing: [], missingInboxes: ["security"] } });
    expect(w.status).toBe("warn");
    expect(w.fix).toContain(`mkdir -p ${root}/messages/inbox/security`);
  });

  it("layout: a root with a space or a quote is one shell word in every fix (shellArg)", () => {
    const odd = "/srv/my bus's";
    const q = `'/srv/my bus'\\''s'`;
    expect(checkLayout({ root: odd, layout: { rootExists: false, missing: [], missingInboxes: [] } }).fix).toContain(`consensus init --root ${q}\``);
    expect(checkLayout({ root: odd, layout: { rootExists: true, missing: ["current"], missingInboxes: [] } }).fix).toContain(`consensus init --root ${q}\``);
    expect(checkLayout({ root: odd, layout: { rootExists: true, missing: [], missingInboxes: ["security"] } }).fix).toContain(`mkdir -p '/srv/my bus'\\''s/messages/inbox/security'`);
  });

  it("state: a truncated state.json warns; it is derived", () => {
    const c = checkStateFile({ state: { path: `${root}/current/state.json`, exists: true, problem: "not valid JSON" } });
    expect(c.status).toBe("warn");
    expect(c.fix).toContain(`consensus watch --once --root ${root}`);
  });

  it("permissions: each unwritable folder is named, with absolute paths in the fix", () => {
    const c = checkWritable({ root, writable: [{ path: "current", error: "EACCES" }, { path: "archive" }] });
    expect(c.status).toBe("fail");
    expect(c.found).toBe("not writable: current (EACCES)");
    expect(c.fix).toContain(`chmod -R u+rwX ${root}/current`);
  });

  it("config: schema and cross-reference problems fail with validate and git checkout", () => {
    const bad = checkConfigFile({ config: { path: `${root}/consensus.yaml`, parsed: parseConfig("version: 1\nroles: []\n", `${root}/consensus.yaml`) } });
    expect(bad.status).toBe("fail");
    expect(bad.fix).toContain(`consensus validate ${root}/consensus.yaml`);
    const missing = checkConfigFile({ config: { path: `${root}/consensus.yaml`, error: "ENOENT" } });
    expect(missing).toMatchObject({ status: "fail", found: `cannot read ${root}/consensus.yaml: ENOENT` });
    expect(missing.fix).toContain(`consensus init --root ${root}`);
  });

  it("inotify: below the wanted headroom fails with sysctl; --poll needs none; unreadable warns", () => {
    const base = healthy().inotify;
    expect(watchesWanted(7)).toBe(270);
    const low = checkInotify({ inotify: { ...base, maxWatches: 269 } });
    expect(low.status).toBe("fail");
    expect(low.fix).toContain("sudo sysctl -w fs.inotify.max_user_watches=524288");
    expect(low.fix).toContain("/etc/sysctl.d/90-consensus.conf");
    expect(checkInotify({ inotify: { ...base, maxWatches: 270 } }).status).toBe("pass");
    expect(checkInotify({ inotify: { ...base, maxWatches: 10, poll: true } }).status).toBe("pass");
    expect(checkInotify({ inotify: { ...base, maxInstances: 4 } }).status).toBe("fail");
    expect(checkInotify({ inotify: { ...base, maxInstances: 32 } }).status).toBe("warn");
    expect(checkInotify({ inotify: { procDir: "/proc", folders: 7, poll: false, error: "ENOENT" } }).status).toBe("warn");
  });

  it("files: a hard open-file limit below what the daemon needs fails, a soft one warns; the fix names LimitNOFILE", () => {
    const f = healthy();
    const wanted = fdsWanted(f.config.parsed!.pipeline);
    expect(wanted).toBe(256 + 64 + 8 * 4);
    expect(checkFdLimit({ ...f, fds: { soft: 256, hard: 256 } })).toMatchObject({ status: "fail", fix: expect.stringMatching(/LimitNOFILE=65536/) });
    expect(checkFdLimit({ ...f, fds: { soft: 256, hard: 4096 } })).toMatchObject({ status: "warn", fix: expect.stringMatching(/ulimit -n 4096/) });
    expect(checkFdLimit({ ...f, fds: { soft: 1024, hard: 4096 } }).status).toBe("pass");
    expect(checkFdLimit({ ...f, fds: { error: "ENOENT" } }).status).toBe("warn");
  });

  it("agents: a user that does not resolve, or one the daemon may not switch to, fails; without prlimit it warns; it says what holds", () => {
    const base = { count: 2, accounts: [], cgroup: { ok: false, pids: false, why: "no cgroup v2 hierarchy" }, prlimit: "/usr/bin/prlimit" };
    expect(checkAgents({ agents: base, agentPrograms: [] })).toMatchObject({ status: "pass", found: expect.stringMatching(/as the daemon's own user: the OS does not keep them out of the private area.*session and \/proc walk/) });
    expect(checkAgents({ agents: { ...base, cgroup: { ok: true, pids: true, why: "" }, accounts: [{ agent: "planner", user: "a" }, { agent: "developer", user: "b" }] }, agentPrograms: [] }).found).toMatch(/each as its configured user; each in its own cgroup \(pids\.max\)/);
    const problem = issue("AGENT_USER_INVALID", { message: 'there is no user "ghost" on this machine', fix: "Create it (`useradd --system --no-create-home ghost`) or correct agents.planner.user." });
    expect(checkAgents({ agents: { ...base, accounts: [{ agent: "planner", user: "ghost", problem }] }, agentPrograms: [] })).toMatchObject({ status: "fail", found: expect.stringMatching(/no user "ghost"/), fix: expect.stringMatching(/useradd/) });
    // roles sharing an OS user: the owner of their files proves neither
    expect(checkAgents({ agents: { ...base, accounts: [{ agent: "developer", user: "c" }, { agent: "quality", user: "c" }], shared: [{ user: "c", roles: ["developer", "quality"] }] }, agentPrograms: [] })).toMatchObject({ status: "warn", found: expect.stringMatching(/roles developer, quality all run as OS user c, so the owner of a file proves none of them/), fix: expect.stringMatching(/Give each role its own OS user/) });
    const { prlimit: _, ...noPrlimit } = base;
    expect(checkAgents({ agents: noPrlimit, agentPrograms: [] })).toMatchObject({ status: "warn", fix: expect.stringMatching(/util-linux/) });
  });

  it("disk: under 100 MiB or 1,000 inodes fails; under 1 GiB or 5% warns", () => {
    const d = healthy().disk;
    expect(checkDisk({ disk: { ...d, freeBytes: 50 * 1024 * 1024 } }).status).toBe("fail");
    expect(checkDisk({ disk: { ...d, freeInodes: 10 } }).status).toBe("fail");
    expect(checkDisk({ disk: { ...d, freeBytes: 512 * 1024 * 1024 } }).status).toBe("warn");
    expect(checkDisk({ disk: { ...d, freeBytes: 4 * GiB, totalBytes: 100 * GiB } }).status).toBe("warn");
    expect(checkDisk({ disk: { path: root, error: "ENOSYS" } }).status).toBe("warn");
  });

  it("lock: free, held, stale (dead holder or too old), leftover holder file, hung holder", () => {
    const l = healthy().lock;
    const holder = { pid: 4242, host: "h1", started_at: "2026-11-22T09:00:00.000Z", kind: "daemon" as const, command: "watch" };
    expect(checkLock({ lock: l }).status).toBe("pass");
    expect(checkLock({ lock: { ...l, lockAgeMs: 2000, holder, holderAlive: true } })).toMatchObject({ status: "pass", found: expect.stringContaining("held by a live daemon (pid 4242 on h1") });
    const dead = checkLock({ lock: { ...l, lockAgeMs: 2000, holder, holderAlive: false } });
    expect(dead.status).toBe("fail");
    expect(dead.fix).toContain(`rm -rf ${l.lockPath} ${l.holderPath}`);
    expect(checkLock({ lock: { ...l, lockAgeMs: 60_000, holder } }).status).toBe("fail"); // another host, not refreshed
    expect(checkLock({ lock: { ...l, lockAgeMs: 60_000 } }).status).toBe("fail");
    expect(checkLock({ lock: { ...l, lockAgeMs: 500 } }).status).toBe("pass");
    expect(checkLock({ lock: { ...l, holder, holderAlive: false } }).status).toBe("warn");
    const hung = checkLock({ lock: { ...l, lockAgeMs: 60_000, holder, holderAlive: true } });
    expect(hung.status).toBe("warn");
    expect(hung.fix).toContain("kill -TERM 4242");
  });

  it("log: a broken chain fails naming the line; a torn tail warns; no log passes", () => {
    const f = healthy();
    const broken = checkLog({ root, log: { ...f.log, chain: { ...f.log.chain!, ok: false, lastSeq: 1, broken: { line: 2, reason: "hash does not match" } } } });
    expect(broken.status).toBe("fail");
    expect(broken.found).toBe(`log of record broken at ${f.log.path}:2: hash does not match`);
    expect(broken.fix).toContain(`consensus log verify --root ${root}`);
    expect(checkLog({ root, log: { ...f.log, tornTail: true } }).status).toBe("warn");
    expect(checkLog({ root, log: { path: f.log.path, exists: false, tornTail: false } }).status).toBe("pass");
    // forged lines in the readable copy: a warning naming the first; an old log to adopt: a warning
    const forged = checkLog({ root, log: { ...f.log, mirror: { path: `${root}/current/decision_log.jsonl`, sealed: 3, agent: 0, forged: 2, firstForged: { line: 4, reason: "it differs from seq 4 in the log of record" } } } });
    expect(forged.status).toBe("warn");
    expect(forged.found).toContain("2 forged line(s), the first at line 4");
    expect(checkLog({ root, log: { path: f.log.path, exists: false, tornTail: false, adoptable: true } }).status).toBe("warn");
  });

  it("clock: a daemon entry in the future fails, an agent's warns, file-system skew warns then fails", () => {
    const f = healthy();
    const future = { line: 9, timestamp: "2026-11-22T11:00:00.000Z", agent: "orchestrator" };
    const c = checkClock({ ...f, clock: { ...f.clock, newest: future } });
    expect(c.status).toBe("fail");
    expect(c.found).toContain(`${f.log.path}:9`);
    expect(c.found).toContain("3600 s ahead");
    expect(checkClock({ ...f, clock: { ...f.clock, newest: { ...future, agent: "devops" } } }).status).toBe("warn");
    expect(checkClock({ ...f, clock: { ...f.clock, newest: { ...future, timestamp: "2026-11-22T10:00:04.000Z" } } }).status).toBe("pass");
    expect(checkClock({ ...f, clock: { ...f.clock, tempMtimeMs: NOW - 5_000 } }).status).toBe("warn");
    expect(checkClock({ ...f, clock: { ...f.clock, tempMtimeMs: NOW + 120_000 } }).status).toBe("fail");
  });

  it("the report: failures make it not ok; the text has a fix under each warn and fail", () => {
    const r = summarise(root, [checkLock({ lock: { ...healthy().lock, lockAgeMs: 60_000 } }), checkNodeVersion("v20.20.2", ">=20.19")]);
    expect(r.ok).toBe(false);
    expect(r.counts).toEqual({ pass: 1, warn: 0, fail: 1, skip: 0 });
    const text = formatReportText(r);
    expect(text).toMatch(/fail {2}lock {2}stale/);
    expect(text).toMatch(/\n\s+fix: The next `consensus watch`/);
    expect(text).toMatch(/1 passed, 0 warnings, 1 failed: fix the failures above/);
  });

  it("strays: files and folders the layout does not expect are a warning, each with the path it was meant for", () => {
    const c = checkStrays({ strays: { files: [{ path: "plan.json", reason: "the root holds …", suggest: "artifacts/EP-001/plan.json" }, { path: "messages/developer/veto.yaml", reason: "…", suggest: "messages/inbox/developer/veto.yaml" }], folders: [{ path: "messages/developer/", suggest: "messages/inbox/developer/" }], moreFiles: 3 } });
    expect(c.status).toBe("warn");
    expect(c.found).toContain("5 stray files: plan.json (did you mean artifacts/EP-001/plan.json?), messages/developer/veto.yaml (did you mean messages/inbox/developer/veto.yaml?) and 3 more");
    expect(c.found).toContain("stray folder: messages/developer/ (did you mean messages/inbox/developer/?)");
    expect(c.fix).toMatch(/Move each file/);
  });
});

describe("doctor: the pack", () => {
  const pack = (p: Partial<Facts["pack"]>) => checkPack({ pack: { path: "/r/.consensus/pack", size: 1 << 20, links: 1, found: "a regular file", packEnd: 4096, ...p } });
  it("passes a plain file that holds the records the checkpoint refers to, and a root with none yet", () => {
    expect(pack({}).status).toBe("pass");
    expect(checkPack({ pack: { path: "/r/.consensus/pack", size: 0, links: 0 } }).status).toBe("pass");
  });
  it("fails a pack removed, cut, linked or with a second name, with the fix", () => {
    for (const c of [pack({ found: undefined, size: 0 }), pack({ size: 100 }), pack({ found: "a symbolic link" }), pack({ links: 2 })]) {
      expect(c.status).toBe("fail");
      expect(c.fix).toMatch(/\.consensus\/pack/);
    }
  });
});
