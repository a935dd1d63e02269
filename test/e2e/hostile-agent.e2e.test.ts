/**
 * A hostile agent against the real daemon (issue 12): each case is an attack an agent (or a process
 * beside it) can make with the access an agent has, run against real daemon child processes. Each
 * asserts that nothing outside the root changed, that no forged record was applied (the log's seqs
 * are one unbroken run, `log verify` passes) and that the daemon kept deciding (a valid drop after
 * the attack is accepted).
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LogEntry } from "../../src/schemas/types.gen.js";
import { Bus, artifact } from "../support/bus.js";

let bus: Bus;
/** A folder beside the root that the attacks aim at: it must end as it began. */
let outside: string;
const extra: ChildProcess[] = [];

/** Every file under a folder with its bytes, to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string): void => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, n.name);
      if (n.isDirectory()) walk(p, `${rel}${n.name}/`);
      else if (n.isFile()) out[`${rel}${n.name}`] = readFileSync(p, "base64");
      else out[`${rel}${n.name}`] = "(special)";
    }
  };
  walk(dir, "");
  return out;
}

/** The log's seqs run 1..n without a gap or a repeat: nobody forked it. */
function unforked(es: LogEntry[]): void {
  const seqs = es.map((e) => e.seq).filter((s): s is number => typeof s === "number");
  expect(seqs).toEqual(seqs.map((_, i) => i + 1));
}

const holderPid = (): number | undefined => {
  try {
    return (JSON.parse(readFileSync(join(bus.root, ".consensus/writer.json"), "utf8")) as { pid: number }).pid;
  } catch {
    return undefined;
  }
};

const exited = (d: ChildProcess): Promise<number | null> => (d.exitCode !== null || d.signalCode !== null ? Promise.resolve(d.exitCode) : new Promise((r) => d.once("exit", (code) => r(code))));

/** The daemon still decides: a valid artifact for the epic is accepted. */
async function stillDeciding(epic: string, name = "plan.json"): Promise<void> {
  bus.drop(`artifacts/${epic}/${name}`, artifact(name, epic, 1));
  await bus.waitFor(`${epic} ${name} accepted`, (es) => es.some((e) => e.decision === "artifact_accepted" && e.epic_id === epic && String((e.details as { file: string }).file).endsWith(name)));
}

beforeEach(() => {
  bus = Bus.init();
  outside = mkdtempSync(join(tmpdir(), "consensus-outside-"));
  writeFileSync(join(outside, "precious.txt"), "do not touch\n");
});
afterEach(() => {
  for (const d of extra.splice(0)) if (d.exitCode === null && d.signalCode === null) (d.kill("SIGCONT"), d.kill("SIGKILL"));
  bus.cleanup();
  rmSync(outside, { recursive: true, force: true });
});

describe("one writer, fenced (12.7)", () => {
  it("a daemon paused past the lease's staleness, then resumed, steps down without appending; the takeover does not call it dead", async () => {
    bus.env = { CONSENSUS_LOCK_STALE_MS: "2000" };
    const outsideBefore = snapshot(outside);
    expect(bus.cli("start", "EP-1", "--title", "fenced").code).toBe(0);
    const a = bus.startDaemon();
    extra.push(a);
    await bus.until("the first daemon holds the root", () => holderPid() === a.pid);
    a.kill("SIGSTOP");
    // its lock ages past the staleness while it is stopped (the condition, not a sleep)
    const lock = join(bus.root, ".consensus/writer.lock");
    await bus.until("the paused daemon's lock is stale", () => Date.now() - statSync(lock).mtimeMs > 2000 * 1.5, 30_000);
    bus.daemon = undefined;
    const b = bus.startDaemon();
    const taken = await bus.waitFor("lock_taken_over naming the paused daemon", (es) => es.some((e) => e.decision === "lock_taken_over" && (e.details as { previous?: { pid?: number } }).previous?.pid === a.pid));
    const reason = String((taken.find((e) => e.decision === "lock_taken_over")!.details as { reason: string }).reason);
    expect(reason).not.toMatch(/died|dead/);
    expect(reason).toMatch(/still running/);
    // work arrives while A is stopped: both daemons' watchers see it; B decides it
    await stillDeciding("EP-1", "plan.json");
    bus.drop("artifacts/EP-1/implementation.json", artifact("implementation.json", "EP-1", 1));
    a.kill("SIGCONT");
    const code = await exited(a);
    expect(code).not.toBe(0);
    expect(bus.daemonErr).toMatch(/LEASE_LOST|no longer holds the root/);
    expect(bus.daemonErr).toMatch(/stepping down without writing|steps down/);
    // B goes on deciding; the log never forked
    await bus.waitFor("implementation accepted by B", (es) => es.some((e) => e.decision === "artifact_accepted" && String((e.details as { file: string }).file).endsWith("implementation.json")));
    expect(b.exitCode).toBeNull();
    expect(holderPid()).toBe(b.pid);
    unforked(bus.entries());
    expect(snapshot(outside)).toEqual(outsideBefore);
    await bus.stopDaemon();
    const v = bus.cli("log", "verify");
    expect(v.code, v.stdout + v.stderr).toBe(0);
  }, 90_000);

  it("a daemon killed with SIGKILL is taken over at once by the next, even with a long staleness", async () => {
    bus.env = { CONSENSUS_LOCK_STALE_MS: "600000" };
    const a = bus.startDaemon();
    await bus.until("the first daemon holds the root", () => holderPid() === a.pid);
    a.kill("SIGKILL");
    await exited(a);
    bus.daemon = undefined;
    const b = bus.startDaemon();
    const es = await bus.waitFor("lock_taken_over", (x) => x.some((e) => e.decision === "lock_taken_over"));
    expect(String((es.find((e) => e.decision === "lock_taken_over")!.details as { reason: string }).reason)).toMatch(/died holding the lock/);
    expect(holderPid()).toBe(b.pid);
    expect(bus.cli("start", "EP-2", "--title", "after the crash").code).toBe(0);
    await stillDeciding("EP-2");
  }, 60_000);
});

const rejectionOf = (es: LogEntry[], file: string): { code: string; fix: string; message: string } | undefined => {
  const e = es.find((x) => (x.decision === "artifact_rejected" || x.decision === "message_rejected") && (x.details as { file?: string }).file === file);
  return e ? (e.details as { errors: Array<{ code: string; fix: string; message: string }> }).errors[0] : undefined;
};

/** A request_refused entry for .consensus/requests/<name> whose reason matches, with a fix. */
const refusedRequest = (name: string, reason: RegExp): boolean =>
  bus.entries().some((e) => {
    const d = e.details as { file?: string; reason?: string; errors?: Array<{ fix?: string }> };
    return e.decision === "request_refused" && d.file === `.consensus/requests/${name}` && reason.test(d.reason ?? "") && !!d.errors?.[0]?.fix;
  });

describe("reads never hang or balloon (12.8)", () => {
  it("a FIFO named like a request neither blocks the daemon nor is silent; SIGTERM still stops it", async () => {
    const d = bus.startDaemon("--log-level", "error");
    await bus.until("the daemon holds the root", () => holderPid() === d.pid);
    mkdirSync(join(bus.root, ".consensus/requests"), { recursive: true });
    expect(spawnSync("mkfifo", [join(bus.root, ".consensus/requests/evil.json")]).status).toBe(0);
    await bus.until("the FIFO is reported with the fix", () => refusedRequest("evil.json", /FIFO/));
    expect(bus.cli("start", "EP-1", "--title", "after the fifo").code).toBe(0);
    await stillDeciding("EP-1");
    expect(await bus.stopDaemon()).toBe(0);
  }, 60_000);

  it("a request that links to /dev/zero is refused unread (no 640 MB read)", async () => {
    const d = bus.startDaemon("--log-level", "error");
    await bus.until("the daemon holds the root", () => holderPid() === d.pid);
    mkdirSync(join(bus.root, ".consensus/requests"), { recursive: true });
    symlinkSync("/dev/zero", join(bus.root, ".consensus/requests/zero.json"));
    await bus.until("the link is reported", () => refusedRequest("zero.json", /symbolic link/));
    expect(bus.cli("start", "EP-1", "--title", "after the link").code).toBe(0);
    await stillDeciding("EP-1");
    expect(await bus.stopDaemon()).toBe(0);
  }, 60_000);

  it("consensus.yaml swapped for a FIFO, then for a link to /dev/zero: neither hangs the daemon, both are reported, the rules in force stay", async () => {
    expect(bus.cli("start", "EP-1", "--title", "config fifo").code).toBe(0);
    const d = bus.startDaemon("--log-level", "warn");
    await bus.until("the daemon holds the root", () => holderPid() === d.pid);
    const config = join(bus.root, "consensus.yaml");
    rmSync(config);
    expect(spawnSync("mkfifo", [config]).status).toBe(0);
    await bus.until("the FIFO config is reported", () => /consensus\.yaml is a FIFO/.test(bus.daemonErr));
    rmSync(config);
    symlinkSync("/dev/zero", config);
    await bus.until("the linked config is reported", () => /consensus\.yaml is a symbolic link/.test(bus.daemonErr));
    await stillDeciding("EP-1");
    expect(await bus.stopDaemon()).toBe(0);
  }, 60_000);

  it("a FIFO, a hard link to a file outside the root and an undecodable name in the drop zones each get a rejection with the fix", async () => {
    expect(bus.cli("start", "EP-1", "--title", "special files").code).toBe(0);
    const before = snapshot(outside);
    mkdirSync(join(bus.root, "artifacts/EP-1"), { recursive: true });
    bus.startDaemon();
    expect(spawnSync("mkfifo", [join(bus.root, "artifacts/EP-1/plan.json")]).status).toBe(0);
    linkSync(join(outside, "precious.txt"), join(bus.root, "artifacts/EP-1/implementation.json"));
    writeFileSync(Buffer.concat([Buffer.from(join(bus.root, "artifacts/EP-1/")), Buffer.from([0x70, 0xff, 0x2e, 0x6a, 0x73, 0x6f, 0x6e])]), "{}");
    const es = await bus.waitFor("three rejections", (x) => rejectionOf(x, "artifacts/EP-1/plan.json") !== undefined && rejectionOf(x, "artifacts/EP-1/implementation.json") !== undefined && x.some((e) => e.decision === "artifact_rejected" && String((e.details as { file: string }).file).includes("\uFFFD")));
    expect(rejectionOf(es, "artifacts/EP-1/plan.json")).toMatchObject({ code: "NOT_REGULAR_FILE", fix: expect.stringContaining("rm") });
    expect(rejectionOf(es, "artifacts/EP-1/implementation.json")).toMatchObject({ code: "HARD_LINK", fix: expect.stringContaining("cp") });
    const odd = es.find((e) => e.decision === "artifact_rejected" && String((e.details as { file: string }).file).includes("\uFFFD"))!;
    expect((odd.details as { errors: Array<{ message: string; fix: string }> }).errors[0]!.message).toMatch(/not valid UTF-8/);
    // the daemon kept deciding: the FIFO replaced by a real file is accepted
    rmSync(join(bus.root, "artifacts/EP-1/plan.json"));
    await stillDeciding("EP-1");
    expect(snapshot(outside)).toEqual(before);
    unforked(bus.entries());
  }, 60_000);
});

describe("linked into place is still accepted (PROTOCOL §3)", () => {
  it("a file hard-linked into place and its temporary removed right after is accepted, not refused as a hard link", async () => {
    expect(bus.cli("start", "EP-1", "--title", "linked").code).toBe(0);
    const d = bus.startDaemon("--log-level", "debug");
    await bus.until("the daemon holds the root", () => holderPid() === d.pid);
    mkdirSync(join(bus.root, "artifacts/EP-1"), { recursive: true });
    const tmp = join(bus.root, "artifacts/EP-1/.plan.json.tmp");
    writeFileSync(tmp, artifact("plan.json", "EP-1", 1));
    linkSync(tmp, join(bus.root, "artifacts/EP-1/plan.json"));
    // the daemon reads it while it still has two names, and waits
    await bus.until("the daemon saw two names and waits", () => bus.daemonErr.includes("waiting for the temporary to be removed"));
    rmSync(tmp);
    const es = await bus.waitFor("plan.json decided", (x) => x.some((e) => String((e.details as { file?: string } | undefined)?.file ?? "").endsWith("EP-1/plan.json")));
    expect(es.find((e) => String((e.details as { file?: string } | undefined)?.file ?? "").endsWith("EP-1/plan.json"))!.decision).toBe("artifact_accepted");
  }, 60_000);
});

describe("effects never write through a link (12.2)", () => {
  it("an agent that swaps its inbox for a link to a folder outside the root gets no write there; the daemon goes on", async () => {
    const before = snapshot(outside);
    const d = bus.startDaemon();
    // the daemon (not the CLI, applying directly) must be the one that writes the notice
    await bus.until("the daemon holds the root", () => holderPid() === d.pid);
    // the planner's inbox becomes a link out of the root before the epic's first notice is written there
    const inbox = join(bus.root, "messages/inbox/planner");
    rmSync(inbox, { recursive: true, force: true });
    symlinkSync(outside, inbox);
    expect(bus.cli("start", "EP-1", "--title", "swapped inbox").code).toBe(0);
    await bus.until("the refused notice is reported", () => /symbolic link/.test(bus.daemonErr) && /effect notice failed/.test(bus.daemonErr));
    await stillDeciding("EP-1");
    expect(snapshot(outside)).toEqual(before);
    unforked(bus.entries());
  }, 60_000);

  it("a link planted in the archive's epic folder: the accepted artifact is not published through it", async () => {
    const before = snapshot(outside);
    expect(bus.cli("start", "EP-1", "--title", "swapped archive").code).toBe(0);
    mkdirSync(join(bus.root, "archive"), { recursive: true });
    symlinkSync(outside, join(bus.root, "archive/EP-1"));
    bus.startDaemon();
    await stillDeciding("EP-1");
    await bus.until("the refused publish is reported", () => /effect publish failed/.test(bus.daemonErr));
    expect(snapshot(outside)).toEqual(before);
  }, 60_000);
});

describe("explicit modes and a private area that is the daemon's alone (12.11)", () => {
  it("the daemon refuses a private area others can write, with the fix; doctor fails it and a world-writable root", () => {
    chmodSync(join(bus.root, ".consensus"), 0o777);
    const r = bus.cli("watch", "--once");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/PRIVATE_AREA_UNSAFE/);
    expect(r.stderr).toContain(`chmod 700 ${join(bus.root, ".consensus")}`);
    const doc = bus.cli("doctor", "--format", "json");
    const modes = (JSON.parse(doc.stdout) as { checks: Array<{ id: string; status: string; fix?: string }> }).checks.find((c) => c.id === "modes")!;
    expect(modes).toMatchObject({ status: "fail", fix: expect.stringContaining("chmod 700") });
    chmodSync(join(bus.root, ".consensus"), 0o700);
    chmodSync(bus.root, 0o777);
    const doc2 = JSON.parse(bus.cli("doctor", "--format", "json").stdout) as { checks: Array<{ id: string; status: string; fix?: string }> };
    expect(doc2.checks.find((c) => c.id === "modes")).toMatchObject({ status: "fail", fix: expect.stringContaining(`chmod o-w ${bus.root}`) });
    chmodSync(bus.root, 0o755);
    expect(bus.cli("watch", "--once").code).toBe(0);
  });

  it("init makes the private area 0700 and the daemon's files 0600/0644 whatever the umask", () => {
    const b = new Bus();
    try {
      const init = spawnSync("/bin/sh", ["-c", 'umask 000 && exec "$0" "$@"', process.execPath, join(process.cwd(), "bin", "consensus.js"), "init"], { env: { ...process.env, CONSENSUS_ROOT: b.root }, encoding: "utf8" });
      expect(init.status, init.stderr).toBe(0);
      const start = spawnSync("/bin/sh", ["-c", 'umask 000 && exec "$0" "$@"', process.execPath, join(process.cwd(), "bin", "consensus.js"), "start", "EP-1", "--title", "umask"], { env: { ...process.env, CONSENSUS_ROOT: b.root }, encoding: "utf8" });
      expect(start.status, start.stderr).toBe(0);
      const mode = (p: string): string => (statSync(join(b.root, p)).mode & 0o7777).toString(8);
      expect(mode(".consensus")).toBe("700");
      expect(mode(".consensus/checkpoint.json")).toBe("600");
      expect(mode("current/state.json")).toBe("644");
      expect(mode("artifacts")).toBe("755");
      expect(mode("messages/inbox/planner")).toBe("755");
    } finally {
      b.cleanup();
    }
  });

  it("a deleted state.json is rebuilt at start and by watch --once", async () => {
    expect(bus.cli("start", "EP-1", "--title", "state").code).toBe(0);
    const state = join(bus.root, "current/state.json");
    const before = (JSON.parse(readFileSync(state, "utf8")) as { epics: unknown }).epics;
    rmSync(state);
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect((JSON.parse(readFileSync(state, "utf8")) as { epics: unknown }).epics).toEqual(before);
    rmSync(state);
    const d = bus.startDaemon();
    await bus.until("state.json rebuilt at start", () => holderPid() === d.pid && existsSync(state));
    expect((JSON.parse(readFileSync(state, "utf8")) as { epics: unknown }).epics).toEqual(before);
  }, 60_000);
});

describe("control characters from agents never reach a terminal raw (12.12)", () => {
  it("a veto whose text carries ANSI/OSC sequences prints visibly escaped in log, status, report and errors", async () => {
    expect(bus.cli("start", "EP-1", "--title", "escapes").code).toBe(0);
    bus.startDaemon();
    await stillDeciding("EP-1", "plan.json");
    const evil = "\u001b[2K\rPROMOTED \u001b]0;owned\u0007 \u009b31m";
    bus.drop("messages/inbox/developer/veto-1.yaml", `from: quality\nto: developer\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: EP-1\niteration: 1\ntype: veto\nsubject: ${JSON.stringify(evil)}\ncontent:\n  violation: ${JSON.stringify(evil)}\n  specifics: ${JSON.stringify(evil)}\n  blocking: true\n`);
    // an artifact whose file name and content carry them too (rejected, with the bytes in the entry)
    bus.drop("artifacts/EP-1/implementation.json", `{"epic_id": "EP-1", "iteration": 1, "summary": ${JSON.stringify(evil)}}`);
    await bus.waitFor("the veto and the artifact decided", (es) => es.some((e) => e.decision.startsWith("message_") || e.decision === "veto_recorded") && es.some((e) => String((e.details as { file?: string }).file ?? "").endsWith("implementation.json")));
    // eslint-disable-next-line no-control-regex -- looking for raw control characters is the point
    const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
    for (const args of [["log"], ["log", "--epic", "EP-1"], ["status"], ["status", "EP-1"], ["report"], ["status", `EP-1${evil}`]]) {
      const r = bus.cli(...args);
      expect(r.stdout + r.stderr, args.join(" ")).not.toMatch(raw);
    }
    const log = bus.cli("log", "--epic", "EP-1").stdout;
    // shown, escaped, on the entry's own line: not a fake line of its own
    expect(log).toMatch(/(\\x1b|\\u001b)\[2K(\\x0d|\\r)PROMOTED/);
    expect(log.split("\n").filter((l) => l.includes("PROMOTED")).every((l) => /^\d{4}-/.test(l))).toBe(true);
  }, 60_000);
});
