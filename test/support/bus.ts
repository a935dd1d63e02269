/**
 * End-to-end harness: a real bus in a temp folder, the real CLI and daemon as child processes, and
 * waits on conditions (the log's contents), never on sleeps.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LogEntry } from "../../src/schemas/types.gen.js";

export const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const cliPath = join(repo, "bin", "consensus.js");
export const fixtures = join(repo, "test", "fixtures");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Bus {
  readonly dir: string;
  readonly root: string;
  daemon?: ChildProcess;
  daemonErr = "";
  /** Extra environment for every CLI and daemon process of this bus. */
  env: Record<string, string> = {};
  /** A command the daemon is started through, e.g. ["prlimit", "--nofile=1024", "--"]. */
  daemonWrapper: string[] = [];

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "consensus-test-"));
    this.root = join(this.dir, "consensus");
  }

  static init(...args: string[]): Bus {
    const b = new Bus();
    const r = b.cli("init", ...args);
    if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
    return b;
  }

  cli(...args: string[]): CliResult {
    return this.cliWith({}, ...args);
  }

  /** The CLI with extra environment for this one run (such as CONSENSUS_STORE). */
  cliWith(env: Record<string, string>, ...args: string[]): CliResult {
    const r = spawnSync(process.execPath, [cliPath, ...args], { env: { ...process.env, CONSENSUS_ROOT: this.root, CONSENSUS_USER: "tester", ...this.env, ...env }, encoding: "utf8", timeout: 60_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  startDaemon(...extra: string[]): ChildProcess {
    const [cmd, ...args] = [...this.daemonWrapper, process.execPath, cliPath, "watch", "--log-level", "warn", ...extra];
    const d = spawn(cmd!, args, { env: { ...process.env, CONSENSUS_ROOT: this.root, ...this.env }, stdio: ["ignore", "pipe", "pipe"] });
    d.stderr!.on("data", (b: Buffer) => (this.daemonErr += b.toString()));
    this.daemon = d;
    return d;
  }

  /** Sends the signal and waits for the exit (see stopChild: a daemon that does not exit fails the test, it never hangs it). */
  async stopDaemon(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const d = this.daemon;
    if (!d || d.exitCode !== null) return d?.exitCode ?? null;
    const code = await stopChild(d, "the daemon", signal, () => this.daemonErr);
    this.daemon = undefined;
    return code;
  }

  private drops = 0;

  /**
   * Writes a file the way the protocol asks: a dot-temp in the same folder, then rename. `content` is
   * text, raw bytes, or an object (written as pretty JSON). `mtime` dates the file back, as `cp -p`,
   * `rsync -t` or a checkout do: such a file is past the settle time at once. The temp's name is
   * always a safe one, whatever the target's name (a hostile name must be the drop's, not its temp's).
   */
  drop(rel: string, content: string | Uint8Array | object, opts: { mtime?: Date } = {}): void {
    const abs = join(this.root, rel);
    mkdirSync(dirname(abs), { recursive: true });
    const tmp = join(dirname(abs), `.drop-${process.pid}-${++this.drops}.tmp`);
    writeFileSync(tmp, typeof content === "string" || content instanceof Uint8Array ? content : `${JSON.stringify(content, null, 2)}\n`);
    if (opts.mtime) utimesSync(tmp, opts.mtime, opts.mtime);
    renameSync(tmp, abs);
  }

  /**
   * Edits consensus.yaml the way an editor or git does (a new file renamed over it), then, as a person
   * would, puts it in force with `consensus config apply --yes` (unless `apply` is false: an edit that
   * nobody applied, such as an agent's). An edit that changes nothing is a broken test.
   */
  editConfig(edit: (text: string) => string, opts: { apply?: boolean } = {}): string {
    const before = readFileSync(join(this.root, "consensus.yaml"), "utf8");
    const after = edit(before);
    if (after === before) throw new Error("editConfig: the edit changed nothing (does the text it replaces still exist in consensus.yaml?)");
    this.drop("consensus.yaml", after);
    if (opts.apply !== false) this.applyConfig();
    return after;
  }

  /** `consensus config apply --yes`: puts consensus.yaml in force (a running daemon applies it; this waits). Throws if it fails. */
  applyConfig(): CliResult {
    const r = this.cli("config", "apply", "--yes");
    if (r.code !== 0) throw new Error(`config apply failed (${r.code}): ${r.stdout}${r.stderr}`);
    return r;
  }

  fixture(rel: string): string {
    return readFileSync(join(fixtures, rel), "utf8");
  }

  private cache: LogEntry[] = [];
  private cacheOffset = 0;
  private carry = "";
  private cachePath = "";
  /** The bytes just before cacheOffset when it was read: a log cut and written again past that offset no longer has them there. */
  private cacheTail = Buffer.alloc(0);

  /**
   * The log's entries, read incrementally (waits poll this; re-parsing a 10,000-line log each time would
   * starve the daemon). From the log of record, what `consensus log` reads: the readable copy follows
   * each commit a moment later, and a test waiting on it would race that copy (an old root that has
   * no record yet is read from its readable log).
   */
  entries(): LogEntry[] {
    const record = join(this.root, ".consensus", "log.jsonl");
    const p = existsSync(record) ? record : join(this.root, "current", "decision_log.jsonl");
    if (p !== this.cachePath) {
      this.cache = [];
      this.cacheOffset = 0;
      this.carry = "";
      this.cachePath = p;
    }
    if (!existsSync(p)) return [];
    const size = statSync(p).size;
    const fd = openSync(p, "r");
    try {
      // cut (recovery discards a torn or unflushed last commit), and maybe written again since
      const tail = Buffer.alloc(this.cacheTail.length);
      if (size < this.cacheOffset || (readSync(fd, tail, 0, tail.length, this.cacheOffset - tail.length) === tail.length && !tail.equals(this.cacheTail))) {
        this.cache = [];
        this.cacheOffset = 0;
        this.carry = "";
        this.cacheTail = Buffer.alloc(0);
      }
      if (size > this.cacheOffset) {
      const buf = Buffer.alloc(size - this.cacheOffset);
      readSync(fd, buf, 0, buf.length, this.cacheOffset);
      this.cacheOffset = size;
      this.cacheTail = Buffer.from(buf.subarray(Math.max(0, buf.length - 256)));
      const lines = (this.carry + buf.toString("utf8")).split("\n");
      this.carry = lines.pop() ?? "";
      for (const l of lines) {
        try {
          this.cache.push(JSON.parse(l) as LogEntry);
        } catch {
          /* a torn or foreign line */
        }
      }
      }
    } finally {
      closeSync(fd);
    }
    return [...this.cache];
  }

  inbox(role: string): string[] {
    const d = join(this.root, "messages", "inbox", role);
    return existsSync(d) ? readdirSync(d).filter((n) => !n.startsWith(".")).sort() : [];
  }

  /**
   * Polls `probe` until it answers something other than undefined or false, and returns that. Fails at
   * once if the daemon exited, and on the timeout, with what it waited for, the log's last entries and
   * the daemon's stderr. Never a fixed sleep.
   */
  async until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      if (this.daemon && this.daemon.exitCode !== null) throw new Error(`daemon exited (${this.daemon.exitCode}) while waiting for ${what}\n${this.tail()}\n${this.daemonErr}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; ${this.tail()}\n${this.daemonErr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The log's size and last entries, for a failure message. */
  private tail(n = 15): string {
    const es = this.entries();
    return `${es.length} entries; the last:\n${es.slice(-n).map((e) => `${e.seq} ${e.decision} ${JSON.stringify(e.details).slice(0, 300)}`).join("\n")}`;
  }

  /** Waits until the log satisfies the predicate; fails with the log's tail if it never does. */
  waitFor(what: string, pred: (entries: LogEntry[]) => boolean, timeoutMs = 30_000): Promise<LogEntry[]> {
    return this.until(what, () => {
      const es = this.entries();
      return pred(es) ? es : undefined;
    }, timeoutMs);
  }

  waitForDecision(decision: string, n = 1, epic?: string): Promise<LogEntry[]> {
    return this.waitFor(`${n}× ${decision}${epic ? ` for ${epic}` : ""}`, (es) => es.filter((e) => e.decision === decision && (!epic || e.epic_id === epic)).length >= n);
  }

  cleanup(): void {
    if (this.daemon && this.daemon.exitCode === null) this.daemon.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * How long a stopped daemon (or bridge) may take to exit: it finishes the batch in hand, stops its
 * agents (kill grace 5 s by default) and checkpoints. A bound on a liveness wait, not a timing assertion.
 */
export const STOP_WITHIN_MS = 30_000;

/**
 * Sends `signal` and waits for the exit; returns the exit code (null after a signal). A process still
 * running `withinMs` later is described (its state, its children), SIGKILLed, and the wait fails with
 * that and its stderr: a daemon that does not stop must fail the test, never hang it to the file's timeout.
 */
export async function stopChild(p: ChildProcess, what: string, signal: NodeJS.Signals, stderr: () => string, withinMs = STOP_WITHIN_MS): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return p.exitCode;
  const exited = new Promise<number | null>((r) => p.once("exit", (code) => r(code)));
  p.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), withinMs)));
  const code = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (code !== "late") return code;
  const state = describeProcess(p.pid);
  p.kill("SIGKILL");
  await exited;
  throw new Error(`${what} (pid ${p.pid}) did not exit within ${withinMs / 1000} s of ${signal}; SIGKILLed now.\n${state}\n--- its stderr:\n${stderr().slice(-3000)}`);
}

/** A process and its children as ps shows them, for a failure message. */
export function describeProcess(pid: number | undefined): string {
  if (pid === undefined) return "(no pid)";
  const r = spawnSync("ps", ["-o", "pid,ppid,stat,etime,time,wchan:20,args", "--pid", String(pid), "--ppid", String(pid)], { encoding: "utf8" });
  return r.stdout || `ps failed: ${r.stderr || r.error?.message}`;
}

/** The default pipeline's artifacts, stage by stage (plan → implementation → review → deployment). */
export const DEFAULT_ARTIFACTS = ["plan.json", "implementation.json", "review.json", "deployment.json", "cicd.yaml", "runbook.md"] as const;

/** Drops each artifact for the epic and iteration in turn, waiting until the running daemon accepts it. */
export async function dropAccepted(b: Bus, epic: string, names: readonly string[], iteration = 1): Promise<void> {
  for (const name of names) {
    b.drop(`artifacts/${epic}/${name}`, artifact(name, epic, iteration));
    await b.waitFor(`${epic} ${name} accepted in iteration ${iteration}`, (es) => es.some((e) => e.decision === "artifact_accepted" && e.epic_id === epic && e.iteration === iteration && String((e.details as { file: string }).file).endsWith(name)));
  }
}

/** Artifact documents for an epic/iteration, from the fixtures. */
export function artifact(name: string, epic: string, iteration: number, patch: Record<string, unknown> = {}): string {
  const dir = name === "deployment.json" || name === "cicd.yaml" || name === "runbook.md" ? "seed004" : "valid";
  const text = readFileSync(join(fixtures, dir, name), "utf8");
  if (!name.endsWith(".json")) return name === "cicd.yaml" ? text.replace(/^name: .*$/m, `name: Deploy ${epic} iteration ${iteration}`) : `${text}\n<!-- ${epic} iteration ${iteration} -->\n`;
  return `${JSON.stringify({ ...(JSON.parse(text) as object), epic_id: epic, iteration, ...patch }, null, 2)}\n`;
}

export function approveYaml(from: string, to: string, epic: string, iteration: number, extra = ""): string {
  return `from: ${from}\nto: ${to}\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: ${epic}\niteration: ${iteration}\ntype: approve\nsubject: looks_good\n${extra}`;
}

export function vetoYaml(from: string, to: string, epic: string, iteration: number, subject: string, blocking = true): string {
  return `from: ${from}\nto: ${to}\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: ${epic}\niteration: ${iteration}\ntype: veto\nsubject: ${subject}\ncontent:\n  violation: "Missing requirement"\n  specifics: "${subject} is not met"\n  blocking: ${blocking}\n`;
}

/**
 * A new root where `epic`'s plan was accepted by `watch --once` (the epic is at implementation); the
 * plan's text is returned beside the bus. The caller cleans the bus up.
 */
export function rootWithAcceptedPlan(epic = "EP-001", title = "Plan accepted"): { bus: Bus; plan: string } {
  const bus = Bus.init();
  const started = bus.cli("start", epic, "--title", title);
  if (started.code !== 0) throw new Error(`start ${epic}: ${started.stderr}`);
  const plan = artifact("plan.json", epic, 1);
  bus.drop(`artifacts/${epic}/plan.json`, plan);
  const once = bus.cli("watch", "--once", "--log-level", "warn");
  if (once.code !== 0) throw new Error(`watch --once exited ${once.code}: ${once.stderr}`);
  return { bus, plan };
}

/** Starts the daemon and waits until it holds the root (its pid in writer.json). */
export async function daemonHolding(b: Bus): Promise<void> {
  const d = b.startDaemon();
  await b.until("the daemon to hold the root", () => {
    try {
      return (JSON.parse(readFileSync(join(b.root, ".consensus/writer.json"), "utf8")) as { pid: number }).pid === d.pid;
    } catch {
      return false;
    }
  });
}

/** Writes `first`, pauses `gapMs` (the writer's own pace: this is the input, not a wait), then `second`, in place. */
export async function writeInTwoBursts(abs: string, first: string, second: string, gapMs = 150): Promise<void> {
  mkdirSync(dirname(abs), { recursive: true });
  const fd = openSync(abs, "w");
  try {
    writeSync(fd, first);
    fsyncSync(fd);
    await new Promise((r) => setTimeout(r, gapMs));
    writeSync(fd, second);
  } finally {
    closeSync(fd);
  }
}
