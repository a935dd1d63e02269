/**
 * The daemon's onlooker: turns what the daemon says it does (DaemonObserver) into metrics and into
 * the facts readiness is judged on. Holds the clocks; the counting itself is in metrics.ts and the
 * verdict in readiness.ts.
 */
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import type { Input } from "../machine/decide.js";
import type { DaemonObserver, DaemonProbe } from "../daemon/observer.js";
import type { CommittedEntry, Store } from "../store/port.js";
import type { ConsensusMetrics, InputKind } from "./metrics.js";
import { assessReadiness, type Readiness } from "./readiness.js";

/** Paths seen and not yet decided are remembered up to this many (a flood of ignored files must not grow it forever). */
const MAX_SEEN = 100_000;

export class Monitor implements DaemonObserver {
  private probe: DaemonProbe | undefined;
  private armed = false;
  private firstScanAt: number | undefined;
  private lastProgressAt = 0;
  private lastEventAt: number;
  /** First sight of each reported path not yet taken into a batch. */
  private readonly seenAt = new Map<string, number>();
  /** First sight of each path in a batch and not yet decided (or waiting to settle). */
  private readonly takenAt = new Map<string, number>();
  /** When the entries of the batch in hand became durable (set by entries(), read by decided()). */
  private durableAt: number | undefined;
  private appendProblem: string | undefined;
  private stopping = false;

  constructor(
    readonly metrics: ConsensusMetrics,
    private readonly opts: { logFile: string; once?: boolean; now?: () => number },
  ) {
    this.lastEventAt = this.now();
    metrics.attach({
      epics: () => this.probe?.view().epics.values() ?? [],
      queueDepth: () => this.probe?.queueDepth() ?? 0,
      configVersion: () => this.probe?.configVersion() ?? "",
      secondsSinceLastEvent: () => (this.now() - this.lastEventAt) / 1000,
    });
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : performance.now();
  }

  wrapStore(store: Store): Store {
    return timeAppends(store, (seconds, err) => {
      this.metrics.observeLogAppend(seconds);
      this.appendProblem = err ? `the last append to the log failed: ${err.message}` : undefined;
    });
  }

  opened(probe: DaemonProbe): void {
    this.probe = probe;
    this.durableAt = undefined; // entries recovery committed are nobody's drop
    this.metrics.seed(probe.view().epics.values());
  }

  watcherArmed(): void {
    this.armed = true;
  }

  scanned(): void {
    if (this.firstScanAt === undefined) this.firstScanAt = this.lastProgressAt = this.now();
  }

  seen(rel: string): void {
    const t = this.now();
    this.lastEventAt = t;
    if (!this.seenAt.has(rel)) remember(this.seenAt, rel, t);
  }

  taken(rels: readonly string[]): void {
    for (const rel of rels) {
      const t = this.seenAt.get(rel);
      if (t === undefined) continue;
      this.seenAt.delete(rel);
      // a file that was waiting to settle keeps the clock of its first sight
      if (!this.takenAt.has(rel)) remember(this.takenAt, rel, t);
    }
  }

  settled(rel: string): void {
    this.takenAt.delete(rel);
  }

  committed(entries: CommittedEntry[]): void {
    this.durableAt = this.now();
    this.metrics.observeEntries(entries);
  }

  decided(items: Parameters<DaemonObserver["decided"]>[0]): void {
    const end = this.durableAt ?? this.now();
    this.durableAt = undefined;
    this.lastProgressAt = this.now();
    for (const { rel, kind, outcome } of items) {
      const t0 = this.takenAt.get(rel);
      this.takenAt.delete(rel);
      // A file for a later stage waits for the epic, not for the daemon: it is not timed at all.
      if (outcome.status === "deferred") continue;
      if (outcome.status === "refused") this.metrics.countRefused(inputKindOf(kind), outcome.decision.issues[0]?.code ?? "UNKNOWN");
      if (outcome.status === "committed" && t0 !== undefined) this.metrics.observeDropToDecision((end - t0) / 1000);
    }
  }

  /** Readiness goes 503 at once when the daemon is asked to stop. */
  stop(): void {
    this.stopping = true;
  }

  async readiness(): Promise<Readiness> {
    return assessReadiness({
      opened: this.probe !== undefined,
      watcherArmed: this.armed,
      once: !!this.opts.once,
      stopping: this.stopping,
      logProblem: this.appendProblem ?? (await this.logWritableProblem()),
      firstScanDone: this.firstScanAt !== undefined,
      queueDepth: this.probe?.queueDepth() ?? 0,
      msSinceProgress: this.now() - this.lastProgressAt,
    });
  }

  private async logWritableProblem(): Promise<string | undefined> {
    const file = this.opts.logFile;
    try {
      await access(file, constants.W_OK);
      return undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") return `${file} is not writable: ${(e as Error).message}`;
    }
    try {
      await access(dirname(file), constants.W_OK);
      return undefined;
    } catch (e) {
      return `${dirname(file)} is not writable (the log is created there): ${(e as Error).message}`;
    }
  }
}

function remember(m: Map<string, number>, rel: string, t: number): void {
  if (m.size >= MAX_SEEN) m.delete(m.keys().next().value!);
  m.set(rel, t);
}

const inputKindOf = (t: Input["type"]): InputKind => (t === "artifact" || t === "message" ? t : "command");

/** The same store, with every append timed (and its failure reported). */
export function timeAppends(store: Store, observe: (seconds: number, err?: Error) => void): Store {
  const append: Store["append"] = async (...args) => {
    const t0 = performance.now();
    try {
      const r = await store.append(...args);
      observe((performance.now() - t0) / 1000);
      return r;
    } catch (e) {
      observe((performance.now() - t0) / 1000, e as Error);
      throw e;
    }
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "append") return append;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
