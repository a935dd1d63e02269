/**
 * The daemon's Prometheus metrics: one registry of its own (never prom-client's global one, so two
 * daemons in one process, or a test, never share counters), the metric objects, and the pure-ish
 * updates from committed log entries. Gauges that describe "now" (epics by stage, open vetoes, queue
 * depth, time since the last event) are computed at scrape time from a probe, never kept in step.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Epic, LogEntry } from "../schemas/types.gen.js";

export type InputKind = "artifact" | "message" | "command";

/** What the gauges read at scrape time. */
export interface MetricsProbe {
  epics(): Iterable<Epic>;
  /** The config in force, read at scrape time (empty before start-up is done). */
  configVersion(): string;
  queueDepth(): number;
  secondsSinceLastEvent(): number;
}

export interface MetricsInit {
  /** consensus's own version. */
  version: string;
  /** prom-client's process and Node.js metrics on this registry (on by default). */
  defaultMetrics?: boolean;
}

/** Where an epic was, to time its stage when it leaves it. */
interface StageMark {
  stage: string;
  status: Epic["status"];
  enteredAt: string;
}

// Stages last minutes to days; drops are decided in milliseconds; an fsync'd append in well under one.
const STAGE_BUCKETS = [1, 10, 60, 300, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400, 259_200, 604_800];
const DROP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const APPEND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** The first decision of each input's transaction says what the input was and how it went. */
const INPUT_DECISIONS: Record<string, { kind: InputKind; outcome: "accepted" | "rejected" } | undefined> = {
  artifact_accepted: { kind: "artifact", outcome: "accepted" },
  artifact_rejected: { kind: "artifact", outcome: "rejected" },
  message_accepted: { kind: "message", outcome: "accepted" },
  message_rejected: { kind: "message", outcome: "rejected" },
  epic_started: { kind: "command", outcome: "accepted" },
  overridden: { kind: "command", outcome: "accepted" },
  cancelled: { kind: "command", outcome: "accepted" },
};

export class ConsensusMetrics {
  readonly registry = new Registry();
  private readonly inputs: Counter<"kind" | "outcome" | "reason">;
  private readonly stageDuration: Histogram<"stage">;
  private readonly dropToDecision: Histogram;
  private readonly logAppend: Histogram;
  private readonly version: string;
  private readonly marks = new Map<string, StageMark>();
  private probe: MetricsProbe | undefined;

  constructor(init: MetricsInit) {
    const registers = [this.registry];
    const metrics = this;
    if (init.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.version = init.version;
    new Gauge({
      name: "consensus_info",
      help: "Always 1; the labels say which consensus and which config (first 12 hex digits of its hash; empty before start-up is done) run.",
      labelNames: ["version", "config_version"] as const,
      registers,
      collect() {
        this.reset();
        this.set({ version: metrics.version, config_version: metrics.probe?.configVersion() ?? "" }, 1);
      },
    });
    new Gauge({
      name: "consensus_epics",
      help: "Epics by the stage they are at and their status.",
      labelNames: ["stage", "status"] as const,
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, { stage: string; status: string; n: number }>();
        for (const e of metrics.probe?.epics() ?? []) {
          const k = `${e.stage}\u0000${e.status}`;
          const c = counts.get(k) ?? { stage: e.stage, status: e.status, n: 0 };
          c.n++;
          counts.set(k, c);
        }
        for (const c of counts.values()) this.set({ stage: c.stage, status: c.status }, c.n);
      },
    });
    new Gauge({
      name: "consensus_vetoes_open",
      help: "Blocking vetoes not yet resolved, over all epics.",
      registers,
      collect() {
        let n = 0;
        for (const e of metrics.probe?.epics() ?? []) n += e.open_vetoes.length;
        this.set(n);
      },
    });
    new Gauge({
      name: "consensus_queue_depth",
      help: "Inputs the daemon has been told of and not yet decided (queued, or waiting for a file to settle).",
      registers,
      collect() {
        this.set(metrics.probe?.queueDepth() ?? 0);
      },
    });
    new Gauge({
      name: "consensus_seconds_since_last_event",
      help: "Seconds since the daemon last saw an input (a file event or a scan finding); since start-up before the first.",
      registers,
      collect() {
        this.set(metrics.probe?.secondsSinceLastEvent() ?? 0);
      },
    });
    this.inputs = new Counter({
      name: "consensus_inputs_total",
      help: "Inputs decided, by kind and outcome; reason is the first error code of a rejection (empty when accepted).",
      labelNames: ["kind", "outcome", "reason"] as const,
      registers,
    });
    this.stageDuration = new Histogram({
      name: "consensus_stage_duration_seconds",
      help: "Time an epic spent at a stage, observed when it leaves it (next stage, rework, promotion or cancellation).",
      labelNames: ["stage"] as const,
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.dropToDecision = new Histogram({
      name: "consensus_drop_to_decision_seconds",
      help: "From the daemon's first sight of a file to its decision being durable in the log (files deferred to a later stage are not timed).",
      buckets: DROP_BUCKETS,
      registers,
    });
    this.logAppend = new Histogram({
      name: "consensus_log_append_seconds",
      help: "One append of a batch to the decision log, fsync included.",
      buckets: APPEND_BUCKETS,
      registers,
    });
  }

  /** The live numbers for the gauges; until set they read as zero. */
  attach(probe: MetricsProbe): void {
    this.probe = probe;
  }


  /** Where each epic stands now, so the first stage change seen afterwards is timed from its real start. */
  seed(epics: Iterable<Epic>): void {
    for (const e of epics) this.marks.set(e.epic_id, markOf(e));
  }

  /** Counts the inputs in committed entries and times the stages epics left. Pure but for the registry. */
  observeEntries(entries: readonly LogEntry[]): void {
    for (const e of entries) {
      const input = INPUT_DECISIONS[e.decision] ?? (e.decision === "input_failed" ? { kind: kindOfFile(e), outcome: "rejected" as const } : undefined);
      if (input) this.inputs.inc({ ...input, reason: input.outcome === "rejected" ? firstErrorCode(e) : "" });
      if (e.state) this.observeState(e.state, e.timestamp);
    }
  }

  /** An input refused without a log entry (a command that cannot apply). */
  countRefused(kind: InputKind, reason: string): void {
    this.inputs.inc({ kind, outcome: "rejected", reason });
  }

  observeDropToDecision(seconds: number): void {
    this.dropToDecision.observe(Math.max(0, seconds));
  }

  observeLogAppend(seconds: number): void {
    this.logAppend.observe(Math.max(0, seconds));
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private observeState(s: Epic, at: string): void {
    const prev = this.marks.get(s.epic_id);
    this.marks.set(s.epic_id, markOf(s));
    if (!prev || prev.status === "promoted" || prev.status === "cancelled") return;
    const reentered = s.stage_entered_at !== prev.enteredAt;
    const left = reentered || s.stage !== prev.stage || s.status === "cancelled";
    if (!left) return;
    const seconds = (Date.parse(reentered ? s.stage_entered_at : at) - Date.parse(prev.enteredAt)) / 1000;
    if (Number.isFinite(seconds)) this.stageDuration.observe({ stage: prev.stage }, Math.max(0, seconds));
  }
}

const markOf = (e: Epic): StageMark => ({ stage: e.stage, status: e.status, enteredAt: e.stage_entered_at });

function firstErrorCode(e: LogEntry): string {
  const errors = (e.details as { errors?: Array<{ code?: unknown; severity?: unknown }> } | undefined)?.errors;
  const first = errors?.find((x) => x.severity === undefined || x.severity === "error") ?? errors?.[0];
  return typeof first?.code === "string" ? first.code : "UNKNOWN";
}

function kindOfFile(e: LogEntry): InputKind {
  const file = (e.details as { file?: unknown } | undefined)?.file;
  if (typeof file !== "string") return "command";
  return file.startsWith("artifacts/") ? "artifact" : file.startsWith("messages/") ? "message" : "command";
}
