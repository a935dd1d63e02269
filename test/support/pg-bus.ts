/**
 * End-to-end harness for a PostgreSQL deployment: a database of its own on a real server, a root
 * folder made by `consensus init`, the real CLI, any number of real daemons and a bridge as child
 * processes. Waits poll the database (conditions, never sleeps).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import postgres from "postgres";
import type { LogEntry } from "../../src/schemas/types.gen.js";
import { PgInputs } from "../../src/store/pg/inputs.js";
import type { Sql } from "../../src/store/pg/connect.js";
import { cliPath, describeProcess, stopChild } from "./bus.js";
import { freshDatabase, type TestDb } from "./pg.js";

export class PgBus {
  readonly dir: string;
  readonly root: string;
  readonly procs = new Map<string, ChildProcess>();
  readonly stderr = new Map<string, string>();
  /** A client on the test database, working in the consensus schema. */
  readonly sql: Sql;
  readonly inputs: PgInputs;
  env: Record<string, string>;

  private constructor(readonly db: TestDb) {
    this.dir = mkdtempSync(join(tmpdir(), "consensus-pg-e2e-"));
    this.root = join(this.dir, "consensus");
    this.sql = postgres(db.url, { max: 2, onnotice: () => {}, connection: { search_path: "consensus", statement_timeout: 60_000 } }) as unknown as Sql;
    this.inputs = new PgInputs(this);
    this.env = { CONSENSUS_STORE: db.url, CONSENSUS_ROOT: this.root, CONSENSUS_USER: "tester", CONSENSUS_LOCK_STALE_MS: "2000", CONSENSUS_POLL_MS: "1000" };
  }

  /** A new database on `server` (default: the one the run uses), a root with consensus.yaml, the schema migrated by a first command. */
  static async create(server?: string): Promise<PgBus> {
    const b = new PgBus(await freshDatabase("consensus_e2e", server));
    const r = b.cli("init");
    if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
    return b;
  }

  cli(...args: string[]): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [cliPath, ...args], { env: { ...process.env, ...this.env }, encoding: "utf8", timeout: 120_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Starts a process of the CLI (a daemon: `watch`, or `bridge`) under a name. */
  start(name: string, ...args: string[]): ChildProcess {
    const p = spawn(process.execPath, [cliPath, ...args, "--log-level", "warn"], { env: { ...process.env, ...this.env }, stdio: ["ignore", "ignore", "pipe"] });
    this.stderr.set(name, "");
    p.stderr!.on("data", (b: Buffer) => this.stderr.set(name, (this.stderr.get(name) ?? "") + b.toString()));
    this.procs.set(name, p);
    return p;
  }

  startDaemon(name: string): ChildProcess {
    return this.start(name, "watch");
  }

  /**
   * Starts a daemon as `name` (`consensus watch`) and resolves once it is the one daemon registered in
   * the `writers` table; fails, with this.until's diagnosis, if it exits first or is not registered
   * within `timeoutMs` (milliseconds).
   */
  async startRegisteredDaemon(name: string, timeoutMs = 60_000): Promise<ChildProcess> {
    const p = this.startDaemon(name);
    await this.until(`daemon ${name} registered`, async () => (await this.sql`SELECT count(*)::int AS n FROM writers WHERE kind = 'daemon'`)[0]!.n === 1, timeoutMs, [name]);
    return p;
  }

  /**
   * Sends the signal and waits for the exit; returns the exit code (null after a signal). One that has
   * not exited within STOP_WITHIN_MS is SIGKILLed and fails the test with its state and stderr. It stays
   * in `procs` until it has exited, so cleanup() kills it whatever happens to the test in between.
   */
  async stop(name: string, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const p = this.procs.get(name);
    if (!p) return null;
    const code = await stopChild(p, name, signal, () => this.stderr.get(name) ?? "");
    this.procs.delete(name);
    return code;
  }

  /** Writes a file into the root the protocol's way (temp, then rename). */
  drop(rel: string, content: string): void {
    const abs = join(this.root, rel);
    mkdirSync(dirname(abs), { recursive: true });
    const tmp = join(dirname(abs), `.drop-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
    writeFileSync(tmp, content);
    renameSync(tmp, abs);
  }

  /** An input row as a bridge would add it (same API, same table). */
  async send(rel: string, content: string, mtimeMs = Date.now()): Promise<void> {
    await this.inputs.addFile(rel, new TextEncoder().encode(content), mtimeMs, "test");
  }

  async entries(): Promise<LogEntry[]> {
    return (await this.sql`SELECT line FROM entries ORDER BY seq`).map((r) => JSON.parse(String(r.line)) as LogEntry);
  }

  /** Where each epic stands (its state row). */
  async stages(): Promise<Map<string, { stage: string; status: string; iteration: number }>> {
    const m = new Map<string, { stage: string; status: string; iteration: number }>();
    for (const r of await this.sql`SELECT state FROM epics WHERE epic_id <> '' AND state IS NOT NULL`) {
      const s = r.state as { epic_id: string; stage: string; status: string; iteration: number };
      m.set(s.epic_id, s);
    }
    return m;
  }

  /**
   * Polls until probe answers; fails at once if a process named in `alive` exited, and on the timeout,
   * with what the database's sessions and the processes are doing and their stderr. A probe that does
   * not answer by then (a query waiting on a lock or a connection) fails the wait too: it never hangs.
   */
  async until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000, alive: string[] = []): Promise<T> {
    const end = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), Math.max(0, end - Date.now()))));
      const v = await Promise.race([probe().catch((e: unknown) => ((lastError = e), undefined)), late]).finally(() => clearTimeout(timer));
      if (v === "late") throw new Error(`timed out waiting for ${what}: the probe had not answered after ${timeoutMs / 1000} s\n${await this.diagnosis()}`);
      if (v !== undefined && v !== false) return v;
      for (const n of alive) {
        const p = this.procs.get(n);
        if (p && (p.exitCode !== null || p.signalCode !== null)) throw new Error(`${n} exited (${p.exitCode ?? p.signalCode}) while waiting for ${what}\n${await this.diagnosis()}`);
      }
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}${lastError ? ` (the probe last failed: ${(lastError as Error).message})` : ""}\n${await this.diagnosis()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  errors(): string {
    return [...this.stderr].map(([n, s]) => `--- ${n}:\n${s.slice(-3000)}`).join("\n");
  }

  /** For a failure message: the database's sessions (who waits on what), the processes, and each one's stderr. */
  async diagnosis(): Promise<string> {
    const procs = [...this.procs].map(([n, p]) => `--- ${n}: ${p.exitCode !== null || p.signalCode !== null ? `exited (${p.exitCode ?? p.signalCode})` : `running\n${describeProcess(p.pid)}`}`);
    return [`--- sessions on ${this.db.name}:`, await this.sessions(), ...procs, this.errors()].join("\n");
  }

  /** pg_stat_activity of the test database, read on a connection of its own (the test's may be the stuck ones). */
  private async sessions(): Promise<string> {
    const a = postgres(this.db.url, { max: 1, onnotice: () => {}, connect_timeout: 10, connection: { statement_timeout: 10_000 } });
    try {
      const rows = await a`SELECT pid, application_name AS app, state, wait_event_type AS wait_type, wait_event AS wait, now() - xact_start AS in_xact, left(query, 160) AS query FROM pg_stat_activity WHERE datname = ${this.db.name} AND pid <> pg_backend_pid() ORDER BY pid`;
      return rows.map((r) => JSON.stringify(r)).join("\n") || "(none)";
    } catch (e) {
      return `(could not read pg_stat_activity: ${(e as Error).message})`;
    } finally {
      await a.end({ timeout: 1 }).catch(() => {});
    }
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs.values()) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    this.procs.clear();
    await this.sql.end({ timeout: 1 }).catch(() => {});
    await this.db.drop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Each stage's drops, in the order an agent would make them once the epic is at that stage. */
export const STAGE_FILES: Array<[string, string]> = [
  ["plan", "plan.json"],
  ["implementation", "implementation.json"],
  ["review", "review.json"],
  ["deployment", "deployment.json"],
  ["deployment", "cicd.yaml"],
  ["deployment", "runbook.md"],
];

/**
 * Drops (through `put`) each epic's artifacts for the stage it is at, once each, as agents acting on
 * their notices would, until every epic is promoted. `between` runs after each round (faults go there).
 */
export async function driveToPromotion(b: PgBus, epics: string[], put: (rel: string, text: string) => Promise<void> | void, artifactText: (name: string, epic: string) => string, opts: { timeoutMs?: number; between?: () => Promise<void>; alive?: string[] } = {}): Promise<void> {
  const done = new Set<string>();
  const end = Date.now() + (opts.timeoutMs ?? 360_000);
  for (;;) {
    const at = await b.stages().catch(() => new Map<string, { stage: string; status: string }>());
    if (epics.every((e) => at.get(e)?.status === "promoted")) return;
    for (const e of epics) {
      const s = at.get(e);
      if (!s || s.status !== "in_progress") continue;
      for (const [stage, name] of STAGE_FILES) {
        const key = `${e}/${name}`;
        if (stage !== s.stage || done.has(key)) continue;
        done.add(key);
        await put(`artifacts/${e}/${name}`, artifactText(name, e));
      }
    }
    await opts.between?.();
    for (const n of opts.alive ?? []) {
      const p = b.procs.get(n);
      if (p && (p.exitCode !== null || p.signalCode !== null)) throw new Error(`${n} exited (${p.exitCode ?? p.signalCode})\n${b.errors()}`);
    }
    if (Date.now() > end) throw new Error(`not all promoted: ${JSON.stringify(Object.fromEntries(at))}\n${await b.diagnosis()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every artifact accepted exactly once per epic, each epic promoted once, nothing rejected, no stage entered twice. */
export async function expectEachOnce(b: PgBus, epics: string[]): Promise<LogEntry[]> {
  const entries = await b.entries();
  const problems: string[] = [];
  for (const e of epics) {
    for (const [, name] of STAGE_FILES) {
      const n = entries.filter((x) => x.decision === "artifact_accepted" && x.epic_id === e && String((x.details as { file: string }).file).endsWith(`/${name}`)).length;
      if (n !== 1) problems.push(`${e} ${name} accepted ${n}×`);
    }
    const promoted = entries.filter((x) => x.decision === "promoted" && x.epic_id === e).length;
    if (promoted !== 1) problems.push(`${e} promoted ${promoted}×`);
    const advances = entries.filter((x) => x.decision === "stage_advanced" && x.epic_id === e).map((x) => `${String((x.details as { to: string }).to)}@${x.iteration}`);
    if (new Set(advances).size !== advances.length) problems.push(`${e} advanced twice: ${advances.join(", ")}`);
  }
  const rejected = entries.filter((x) => x.decision === "artifact_rejected");
  if (rejected.length) problems.push(`rejected: ${JSON.stringify(rejected.map((x) => x.details)).slice(0, 500)}`);
  const seqs = entries.map((x) => x.seq);
  if (seqs.some((s, i) => s !== i + 1)) problems.push("seq has a gap");
  if (problems.length) throw new Error(problems.join("\n"));
  return entries;
}
