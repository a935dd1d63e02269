/**
 * A hostile agent against the real daemon (issue 12): each case is an attack an agent (or a process
 * beside it) can make with the access an agent has, run against real daemon child processes. Each
 * asserts that nothing outside the root changed, that no forged record was applied (the log's seqs
 * are one unbroken run, `log verify` passes) and that the daemon kept deciding (a valid drop after
 * the attack is accepted).
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
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

export { existsSync, mkdirSync, spawnSync };
