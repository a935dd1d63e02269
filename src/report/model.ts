/**
 * The report's model: the configured rules and, per epic, where it stands and how it got there, folded
 * from the decision log. Pure: the pipeline, the raw config, the log's entries and the time `now` come
 * in as arguments; text.ts and html.ts only format what this returns.
 */
import { approvalsMet, describeApprovals, type Pipeline } from "../config/resolve.js";
import { summary } from "../daemon/engine.js";
import { pipelineOf, waitingFor } from "../machine/epic-context.js";
import type { Epic, LogEntry } from "../schemas/types.gen.js";

export interface Spend {
  cost_usd?: number;
  tokens?: number;
}

export interface StageRule {
  id: string;
  index: number;
  owner: string;
  artifacts: string[];
  /** Roles that may veto at this stage, each with the stage its blocking veto sends the epic back to. */
  vetoes: Array<{ role: string; to: string }>;
  approvers: string[];
  /** How many approvers must approve (0 when none are named). */
  quorum: number;
  /** The approval rule in words ("all of …", "2 of …", "weighted ≥ 0.65 of …"). */
  approval: string;
  /** Stage fields the report does not know by name (deadlines, non-overridable veto subjects …), as configured. */
  extra: Record<string, unknown>;
}

export interface Rules {
  roles: string[];
  maxIterations: number;
  stages: StageRule[];
  budget?: Spend;
  /** Top-level config fields the report does not know by name, as configured. */
  extra: Record<string, unknown>;
  version: string;
}

export type SpanExit = "advanced" | "rework" | "escalated" | "overridden" | "promoted" | "cancelled";

/** A stretch of time an epic spent at one stage in one iteration (or escalated, waiting for a person). */
export interface Span {
  stage: string;
  iteration: number;
  start: string;
  /** Absent while the epic is still there. */
  end?: string;
  durationMs: number;
  exit?: SpanExit;
  /** Why it left: the stage_advanced/override reason, the escalation reason. */
  exitReason?: string;
}

export interface VetoItem {
  from: string;
  subject: string;
  violation?: string;
  blocking: boolean;
  iteration: number;
  stage: string;
  at: string;
  seq?: number;
  /** Blocking vetoes: resolved by the vetoing role's later approval or artifact, or closed by an override. */
  resolved: boolean;
  resolvedAt?: string;
  resolvedBy?: string;
}

export type EventKind =
  | "started"
  | "artifact_accepted"
  | "artifact_rejected"
  | "message_accepted"
  | "message_rejected"
  | "approval"
  | "veto"
  | "veto_resolved"
  | "promotion_blocked"
  | "stage_advanced"
  | "promoted"
  | "escalated"
  | "overridden"
  | "cancelled"
  | "agent_line"
  | "other";

export interface TimelineEvent {
  at: string;
  seq?: number;
  kind: EventKind;
  /** The log's decision name, as written. */
  decision: string;
  iteration?: number;
  /** The stage the epic was at when it happened. */
  stage: string;
  /** Who acted: the author role of an artifact, the sender of a message, the person of an override. */
  actor?: string;
  /** approve, veto, info … for messages. */
  messageType?: string;
  file?: string;
  subject?: string;
  reason?: string;
  spend?: Spend;
  /** One line, the same as `consensus log` prints. */
  text: string;
}

export type Status = Epic["status"];

export interface EpicReport {
  id: string;
  title: string;
  status: Status;
  stage: string;
  iteration: number;
  startedAt: string;
  updatedAt: string;
  stageEnteredAt: string;
  /** Time at the current stage: until now while open, until the last update once the epic has ended. */
  timeInStageMs: number;
  /** From start until now, or until it was promoted or cancelled. */
  elapsedMs: number;
  /** Promoted or cancelled: nothing more will happen. */
  ended: boolean;
  waitingFor: string[];
  /** One sentence: why it is not moving (or how it ended). */
  stuckBecause: string;
  escalation?: { reason: string; stage: string; detail?: string };
  spans: Span[];
  /** Where the time went: total per stage over all iterations, in pipeline order (escalated last). */
  timeByStage: Array<{ stage: string; ms: number }>;
  events: TimelineEvent[];
  vetoes: VetoItem[];
  /** Roles and people who acted, with how many times. */
  actors: Array<{ actor: string; count: number }>;
  spend?: Spend;
  budget?: Spend;
}

export interface ReportModel {
  generatedAt: string;
  root?: string;
  rules: Rules;
  epics: EpicReport[];
  counts: Record<Status, number>;
  /** Log lines that did not parse (they are skipped). */
  unparsableLines: number;
}

export interface ReportInput {
  pipeline: Pipeline;
  /** The config as written (for fields the Pipeline does not carry: budget, deadlines …). */
  config?: Record<string, unknown>;
  entries: Iterable<LogEntry | undefined>;
  now: string;
  root?: string;
}

const KNOWN_STAGE_FIELDS = new Set(["id", "owner", "artifacts", "vetoes", "approvers", "veto_routes"]);
const KNOWN_CONFIG_FIELDS = new Set(["version", "max_iterations", "roles", "stages", "veto_routes", "bus", "budget"]);

export function buildRules(pipeline: Pipeline, config: Record<string, unknown> = {}): Rules {
  const rawStages = Array.isArray(config.stages) ? (config.stages as Array<Record<string, unknown>>) : [];
  const stages = pipeline.stages.map((s): StageRule => {
    const raw = rawStages.find((r) => r && r.id === s.id) ?? {};
    return {
      id: s.id,
      index: s.index,
      owner: s.owner,
      artifacts: [...s.artifacts],
      vetoes: s.vetoes.map((role) => ({ role, to: pipeline.vetoRoute(role, s.id) })),
      approvers: [...s.approvers],
      quorum: s.quorum,
      approval: describeApprovals(s),
      extra: pick(raw, (k) => !KNOWN_STAGE_FIELDS.has(k)),
    };
  });
  const budget = spendOf(config.budget);
  return {
    roles: [...pipeline.roles],
    maxIterations: pipeline.maxIterations,
    stages,
    ...(budget ? { budget } : {}),
    extra: pick(config, (k) => !KNOWN_CONFIG_FIELDS.has(k)),
    version: pipeline.version,
  };
}

export function buildReport(input: ReportInput): ReportModel {
  const rules = buildRules(input.pipeline, input.config);
  const folds = new Map<string, EpicFold>();
  let unparsable = 0;
  for (const e of input.entries) {
    if (!e || typeof e !== "object" || typeof e.decision !== "string") {
      unparsable++;
      continue;
    }
    if (typeof e.epic_id !== "string") continue;
    let f = folds.get(e.epic_id);
    if (!f) {
      if (e.decision !== "epic_started" && !e.state) continue; // lines about an epic that was never started
      f = new EpicFold(e.epic_id, input.pipeline);
      folds.set(e.epic_id, f);
    }
    f.push(e);
  }
  const epics = [...folds.values()]
    .map((f) => f.finish(input.now, input.pipeline, rules.budget))
    .filter((e): e is EpicReport => e !== undefined)
    .sort((a, b) => a.id.localeCompare(b.id));
  const counts: Record<Status, number> = { in_progress: 0, escalated: 0, promoted: 0, cancelled: 0 };
  for (const e of epics) counts[e.status]++;
  return { generatedAt: input.now, ...(input.root ? { root: input.root } : {}), rules, epics, counts, unparsableLines: unparsable };
}

/** What a role or person did themselves (a veto_recorded or an approval is what the daemon made of a message). */
const ACTS = new Set<EventKind>(["started", "artifact_accepted", "artifact_rejected", "message_accepted", "message_rejected", "overridden", "cancelled", "agent_line"]);

/** The running fold of one epic's entries. */
class EpicFold {
  state?: Epic;
  spans: Span[] = [];
  events: TimelineEvent[] = [];
  vetoes: VetoItem[] = [];
  spendSum: Spend = {};
  private open?: Span;

  constructor(
    readonly id: string,
    private readonly pipeline: Pipeline,
  ) {}

  private openSpan(stage: string, iteration: number, at: string): void {
    this.open = { stage, iteration, start: at, durationMs: 0 };
    this.spans.push(this.open);
  }

  private closeSpan(at: string, exit: SpanExit, reason?: string): void {
    const s = this.open;
    if (!s) return;
    s.end = at;
    s.durationMs = Math.max(0, Date.parse(at) - Date.parse(s.start)) || 0;
    s.exit = exit;
    if (reason) s.exitReason = reason;
    this.open = undefined;
  }

  private get stage(): string {
    return this.open?.stage ?? this.state?.stage ?? "";
  }

  push(e: LogEntry): void {
    const d = (e.details ?? {}) as Record<string, unknown>;
    const str = (k: string): string | undefined => (typeof d[k] === "string" ? (d[k] as string) : undefined);
    const at = String(e.timestamp);
    const iteration = typeof e.iteration === "number" ? e.iteration : undefined;
    const ev: TimelineEvent = { at, kind: "other", decision: e.decision, stage: this.stage, text: safeSummary(e) };
    if (typeof e.seq === "number") ev.seq = e.seq;
    if (iteration !== undefined) ev.iteration = iteration;
    const daemon = e.agent === "orchestrator";

    if (!daemon) {
      ev.kind = "agent_line";
      ev.actor = String(e.agent);
      ev.text = `${String(e.agent)}: ${e.decision}${e.details ? ` ${JSON.stringify(e.details)}` : ""}`;
    } else {
      switch (e.decision) {
        case "epic_started": {
          ev.kind = "started";
          ev.actor = str("by");
          const stage = str("stage") ?? e.state?.stage ?? this.pipeline.stages[0]?.id ?? "";
          ev.stage = stage;
          this.openSpan(stage, iteration ?? 1, at);
          break;
        }
        case "artifact_accepted": {
          ev.kind = "artifact_accepted";
          ev.file = baseName(str("file"));
          ev.actor = this.pipeline.stageOfArtifact(ev.file ?? "")?.owner ?? str("author");
          const spend = spendOf(d.spend);
          if (spend) {
            ev.spend = spend;
            addSpend(this.spendSum, spend);
          }
          break;
        }
        case "artifact_rejected":
        case "message_rejected":
          ev.kind = e.decision;
          ev.file = baseName(str("file"));
          ev.actor = str("author");
          break;
        case "message_accepted":
          ev.kind = "message_accepted";
          ev.actor = str("from");
          ev.messageType = str("type");
          ev.subject = str("subject");
          ev.file = baseName(str("file"));
          break;
        case "approval_recorded":
          ev.kind = "approval";
          ev.actor = str("role");
          ev.subject = str("subject");
          break;
        case "veto_recorded": {
          ev.kind = "veto";
          ev.actor = str("from");
          ev.subject = str("subject");
          ev.reason = str("violation");
          const v: VetoItem = {
            from: str("from") ?? "?",
            subject: str("subject") ?? "?",
            blocking: d.blocking !== false,
            iteration: iteration ?? this.state?.iteration ?? 1,
            stage: str("stage") ?? this.stage,
            at,
            resolved: false,
          };
          const violation = str("violation");
          if (violation) v.violation = violation;
          if (typeof e.seq === "number") v.seq = e.seq;
          this.vetoes.push(v);
          break;
        }
        case "veto_resolved":
          ev.kind = "veto_resolved";
          ev.actor = str("by");
          this.resolve(d.vetoes, at, str("by") ?? "?");
          break;
        case "promotion_blocked":
          ev.kind = "promotion_blocked";
          break;
        case "stage_advanced": {
          ev.kind = "stage_advanced";
          ev.reason = str("reason");
          const to = str("to") ?? "";
          const rework = (iteration ?? 0) > (this.open?.iteration ?? iteration ?? 0);
          if (this.open?.stage !== "escalated") this.closeSpan(at, rework ? "rework" : "advanced", ev.reason);
          else this.closeSpan(at, "overridden", ev.reason);
          this.openSpan(to, iteration ?? this.open?.iteration ?? 1, at);
          ev.stage = to;
          break;
        }
        case "promoted":
          ev.kind = "promoted";
          this.closeSpan(at, this.open?.stage === "escalated" ? "overridden" : "promoted");
          ev.stage = "promoted";
          break;
        case "escalated": {
          ev.kind = "escalated";
          ev.reason = [str("reason"), str("detail")].filter(Boolean).join(": ");
          const it = this.open?.iteration ?? iteration ?? 1;
          this.closeSpan(at, "escalated", ev.reason);
          this.openSpan("escalated", it, at);
          break;
        }
        case "overridden":
          ev.kind = "overridden";
          ev.actor = str("by");
          ev.reason = str("reason");
          this.resolve(d.closed_vetoes, at, `override by ${str("by") ?? "?"}`);
          break;
        case "cancelled":
          ev.kind = "cancelled";
          ev.actor = str("by");
          ev.reason = str("reason");
          this.closeSpan(at, "cancelled", ev.reason);
          break;
        default:
          ev.kind = "other";
          ev.actor = str("role") ?? str("by") ?? str("from");
          ev.reason = str("reason");
      }
    }
    for (const k of Object.keys(ev) as Array<keyof TimelineEvent>) if (ev[k] === undefined) delete ev[k];
    this.events.push(ev);
    if (e.state && e.state.epic_id === this.id) this.state = e.state;
  }

  private resolve(list: unknown, at: string, by: string): void {
    if (!Array.isArray(list)) return;
    for (const x of list as Array<{ from?: unknown; subject?: unknown; iteration?: unknown }>) {
      const v = this.vetoes.find((v) => !v.resolved && v.blocking && v.from === x.from && v.subject === x.subject && v.iteration === x.iteration);
      if (v) Object.assign(v, { resolved: true, resolvedAt: at, resolvedBy: by });
    }
  }

  finish(now: string, pipeline: Pipeline, budget: Spend | undefined): EpicReport | undefined {
    const s = this.state;
    if (!s) return undefined;
    const ended = s.status === "promoted" || s.status === "cancelled";
    const until = ended ? s.updated_at : now;
    if (this.open) this.open.durationMs = Math.max(0, Date.parse(until) - Date.parse(this.open.start)) || 0;
    const enteredAt = s.status === "escalated" && this.open?.stage === "escalated" ? this.open.start : s.stage_entered_at;
    const actors = new Map<string, number>();
    for (const ev of this.events) if (ev.actor && ACTS.has(ev.kind)) actors.set(ev.actor, (actors.get(ev.actor) ?? 0) + 1);
    const stateSpend = spendOf((s as unknown as Record<string, unknown>).spend);
    const spend = stateSpend ?? (Object.keys(this.spendSum).length ? this.spendSum : undefined);
    const waiting = waitingFor(s, pipeline);
    return {
      id: s.epic_id,
      title: s.title,
      status: s.status,
      stage: s.stage,
      iteration: s.iteration,
      startedAt: s.started_at,
      updatedAt: s.updated_at,
      stageEnteredAt: enteredAt,
      timeInStageMs: Math.max(0, Date.parse(until) - Date.parse(enteredAt)) || 0,
      elapsedMs: Math.max(0, Date.parse(until) - Date.parse(s.started_at)) || 0,
      ended,
      waitingFor: waiting,
      stuckBecause: stuckBecause(s, pipeline),
      ...(s.escalation ? { escalation: { ...s.escalation } } : {}),
      spans: this.spans,
      timeByStage: timeByStage(this.spans, pipeline),
      events: this.events,
      vetoes: this.vetoes,
      actors: [...actors].map(([actor, count]) => ({ actor, count })).sort((a, b) => b.count - a.count || a.actor.localeCompare(b.actor)),
      ...(spend ? { spend } : {}),
      ...(budget ? { budget } : {}),
    };
  }
}

function timeByStage(spans: Span[], pipeline: Pipeline): Array<{ stage: string; ms: number }> {
  const total = new Map<string, number>();
  for (const s of spans) total.set(s.stage, (total.get(s.stage) ?? 0) + s.durationMs);
  const rank = (id: string) => pipeline.stage(id)?.index ?? Number.MAX_SAFE_INTEGER;
  return [...total].map(([stage, ms]) => ({ stage, ms })).sort((a, b) => rank(a.stage) - rank(b.stage));
}

/** Why an epic is not moving, in words a person acts on; for an ended epic, how it ended. */
export function stuckBecause(e: Epic, pipeline: Pipeline): string {
  if (e.status === "promoted") return "promoted";
  if (e.status === "cancelled") return `cancelled at ${e.stage}`;
  if (e.status === "escalated") {
    const esc = e.escalation;
    return `escalated${esc ? ` (${esc.reason}${esc.detail ? `: ${esc.detail}` : ""})` : ""}: a person must override or cancel`;
  }
  const stage = pipelineOf(pipeline, e).stage(e.stage);
  if (!stage) return `at unknown stage ${e.stage}`;
  const parts: string[] = [];
  const missing = stage.artifacts.filter((a) => e.received[a] === undefined);
  if (missing.length) parts.push(`${stage.owner} to drop ${missing.join(", ")}`);
  const approvalsIn = approvalsMet(stage, e.approvals);
  if (!approvalsIn) {
    const pending = stage.approvers.filter((r) => !e.approvals.includes(r));
    parts.push(`approval from ${pending.join(" or ")} (rule: ${describeApprovals(stage)}; so far ${e.approvals.join(", ") || "none"})`);
  }
  const blocking = e.open_vetoes.filter((v) => v.blocking);
  if (!missing.length && approvalsIn && blocking.length) {
    parts.push(`open veto${blocking.length > 1 ? "es" : ""} ${blocking.map((v) => `${v.from}: ${v.subject}`).join(", ")} (the vetoing role must approve)`);
  }
  return parts.length ? `waiting for ${parts.join("; ")}` : "ready to advance";
}

function safeSummary(e: LogEntry): string {
  try {
    return summary(e);
  } catch {
    return `${e.epic_id ?? "-"} ${e.decision}`;
  }
}

function baseName(p: string | undefined): string | undefined {
  return p === undefined ? undefined : p.slice(p.lastIndexOf("/") + 1);
}

function pick(o: Record<string, unknown>, keep: (k: string) => boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (keep(k) && v !== undefined) out[k] = v;
  return out;
}

export function spendOf(x: unknown): Spend | undefined {
  if (!x || typeof x !== "object") return undefined;
  const o = x as Record<string, unknown>;
  const out: Spend = {};
  if (typeof o.cost_usd === "number" && Number.isFinite(o.cost_usd)) out.cost_usd = o.cost_usd;
  if (typeof o.tokens === "number" && Number.isFinite(o.tokens)) out.tokens = o.tokens;
  return Object.keys(out).length ? out : undefined;
}

function addSpend(sum: Spend, s: Spend): void {
  if (s.cost_usd !== undefined) sum.cost_usd = (sum.cost_usd ?? 0) + s.cost_usd;
  if (s.tokens !== undefined) sum.tokens = (sum.tokens ?? 0) + s.tokens;
}

/** 850 ms, 12 s, 4 min 3 s, 2 h 5 min, 3 d 4 h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${s % 60 ? ` ${s % 60} s` : ""}`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h${m % 60 ? ` ${m % 60} min` : ""}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ""}`;
}

/** $1.20, 12,000 tokens. */
export function formatBudget(b: Spend): string {
  return [b.cost_usd !== undefined ? usd(b.cost_usd) : undefined, b.tokens !== undefined ? `${b.tokens.toLocaleString("en-US")} tokens` : undefined].filter(Boolean).join(", ");
}

const usd = (n: number): string => `$${n.toFixed(n < 100 ? 2 : 0)}`;

/** Spent against budget: "$0.40 of $2.00, 1,200 of 50,000 tokens"; empty when neither is known. */
export function formatSpend(s: Spend | undefined, budget?: Spend): string {
  if (!s && !budget) return "";
  const parts: string[] = [];
  if (s?.cost_usd !== undefined || budget?.cost_usd !== undefined) parts.push(`${s?.cost_usd !== undefined ? usd(s.cost_usd) : "$0"}${budget?.cost_usd !== undefined ? ` of ${usd(budget.cost_usd)}` : ""}`);
  if (s?.tokens !== undefined || budget?.tokens !== undefined) parts.push(`${(s?.tokens ?? 0).toLocaleString("en-US")}${budget?.tokens !== undefined ? ` of ${budget.tokens.toLocaleString("en-US")}` : ""} tokens`);
  return parts.join(", ");
}
