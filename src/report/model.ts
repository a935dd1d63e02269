/**
 * The report's model: the configured rules and, per epic, where it stands and how it got there, folded
 * from the decision log. Pure: the pipeline, the log's raw lines and the time `now` come in as
 * arguments; text.ts and html.ts only format what this returns.
 *
 * Only the daemon's sealed lines (unsealLine succeeds and seq is a number) move an epic: an agent may
 * append any line, including one that claims a state, and it is shown as that agent's line, never trusted.
 */
import { describeApprovals, type Pipeline } from "../config/resolve.js";
import { summary } from "../log/summary.js";
import { unsealLine } from "../log/chain.js";
import { blockersOf, waitingFor, type Spend } from "../machine/epic-context.js";
import { currentRejection, describeRejection } from "../machine/rejections.js";
import type { Epic, LogEntry } from "../schemas/types.gen.js";

export type { Spend };
/** The configured per-epic budget (either limit may be absent). */
export type Budget = Pipeline["budget"];

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
  /** How long the owner has at this stage (ms), when a deadline is configured. */
  deadlineMs?: number;
  /** Veto subjects raised here that no person may override. */
  nonOverridable: string[];
}

export interface Rules {
  roles: string[];
  maxIterations: number;
  stages: StageRule[];
  budget?: Budget;
  /** The configured modes (consensus start --mode): their stages and description. */
  modes: Array<{ name: string; stages: string[]; description?: string }>;
  /** The roles and names consensus.yaml gives a command (agents:). */
  agents: string[];
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

/** non-blocking: logged only; open: blocks until resolved; resolved: by the vetoing role or an override. */
export type VetoState = "non-blocking" | "open" | "resolved";

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
  state: VetoState;
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
  /** How the author of an artifact or message was known (issue 15): unverified, os_user, token, person. */
  proof?: string;
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
  /** The latest rejected drop, while it still explains the wait (same stage and iteration). */
  lastRejection?: NonNullable<Epic["last_rejection"]>;
  spans: Span[];
  /** Where the time went: total per stage over all iterations, in pipeline order (escalated last). */
  timeByStage: Array<{ stage: string; ms: number }>;
  events: TimelineEvent[];
  vetoes: VetoItem[];
  /** Blocking vetoes not (yet) resolved. */
  openVetoes: number;
  /** Roles and people who acted, with how many times. */
  actors: Array<{ actor: string; count: number }>;
  /** What the epic's accepted artifacts reported spending (the epic state's running sum). */
  spend?: Spend;
  budget?: Budget;
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
  /** The decision log's lines, as written (blank lines already left out). */
  lines: Iterable<string>;
  now: string;
  root?: string;
}

export function buildRules(pipeline: Pipeline): Rules {
  const stages = pipeline.stages.map(
    (s): StageRule => ({
      id: s.id,
      index: s.index,
      owner: s.owner,
      artifacts: [...s.artifacts],
      vetoes: s.vetoes.map((role) => ({ role, to: pipeline.vetoRoute(role, s.id) })),
      approvers: [...s.approvers],
      quorum: s.quorum,
      approval: describeApprovals(s),
      ...(s.deadlineMs !== undefined ? { deadlineMs: s.deadlineMs } : {}),
      nonOverridable: [...s.nonOverridable],
    }),
  );
  return {
    roles: [...pipeline.roles],
    maxIterations: pipeline.maxIterations,
    stages,
    ...(Object.keys(pipeline.budget).length ? { budget: { ...pipeline.budget } } : {}),
    modes: Object.entries(pipeline.modes).map(([name, m]) => ({ name, stages: [...m.stages], ...(m.description ? { description: m.description } : {}) })),
    agents: [...pipeline.agents.keys()],
    version: pipeline.version,
  };
}

/** A log line parsed, and whether it is the daemon's: sealed into the hash chain and numbered. */
export function parseLine(raw: string): { entry?: LogEntry; daemon: boolean } {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { daemon: false };
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return { daemon: false };
  const entry = v as LogEntry;
  return { entry, daemon: unsealLine(raw) !== undefined && typeof entry.seq === "number" };
}

export function buildReport(input: ReportInput): ReportModel {
  const rules = buildRules(input.pipeline);
  const folds = new Map<string, EpicFold>();
  let unparsable = 0;
  for (const raw of input.lines) {
    const { entry: e, daemon } = parseLine(raw);
    if (!e || typeof e.decision !== "string") {
      unparsable++;
      continue;
    }
    if (typeof e.epic_id !== "string") continue;
    let f = folds.get(e.epic_id);
    if (!f) {
      // Only the daemon starts an epic: lines about one it never started are left out.
      if (!daemon || (e.decision !== "epic_started" && !e.state)) continue;
      f = new EpicFold(e.epic_id, input.pipeline);
      folds.set(e.epic_id, f);
    }
    f.push(e, daemon);
  }
  const epics = [...folds.values()]
    .map((f) => f.finish(input.now, rules.budget))
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

  /** `daemon`: the line is sealed and numbered (parseLine); only then are its decision and state trusted. */
  push(e: LogEntry, daemon: boolean): void {
    const d = (e.details ?? {}) as Record<string, unknown>;
    const str = (k: string): string | undefined => (typeof d[k] === "string" ? (d[k] as string) : undefined);
    const at = String(e.timestamp);
    const iteration = typeof e.iteration === "number" ? e.iteration : undefined;
    const ev: TimelineEvent = { at, kind: "other", decision: e.decision, stage: this.stage, text: "" };
    if (typeof e.seq === "number") ev.seq = e.seq;
    if (iteration !== undefined) ev.iteration = iteration;

    if (!daemon) {
      ev.kind = "agent_line";
      ev.actor = String(e.agent);
      ev.text = `${String(e.agent)}: ${e.decision}${e.details ? ` ${JSON.stringify(e.details)}` : ""}`;
    } else {
      ev.text = summary(e);
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
          if (isSpend(d.spend)) ev.spend = { cost_usd: d.spend.cost_usd, tokens: d.spend.tokens };
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
            state: d.blocking !== false ? "open" : "non-blocking",
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
    const proof = (d as { proof?: unknown }).proof;
    if (proof === "unverified") ev.proof = "unverified";
    else if (proof && typeof proof === "object" && typeof (proof as { by?: unknown }).by === "string") ev.proof = (proof as { by: string }).by;
    for (const k of Object.keys(ev) as Array<keyof TimelineEvent>) if (ev[k] === undefined) delete ev[k];
    this.events.push(ev);
    if (daemon && e.state && e.state.epic_id === this.id) this.state = e.state;
  }

  private resolve(list: unknown, at: string, by: string): void {
    if (!Array.isArray(list)) return;
    for (const x of list as Array<{ from?: unknown; subject?: unknown; iteration?: unknown }>) {
      const v = this.vetoes.find((v) => !v.resolved && v.blocking && v.from === x.from && v.subject === x.subject && v.iteration === x.iteration);
      if (v) Object.assign(v, { resolved: true, resolvedAt: at, resolvedBy: by, state: "resolved" });
    }
  }

  finish(now: string, budget: Budget | undefined): EpicReport | undefined {
    const pipeline = this.pipeline;
    const s = this.state;
    if (!s) return undefined;
    const ended = s.status === "promoted" || s.status === "cancelled";
    const until = ended ? s.updated_at : now;
    if (this.open) this.open.durationMs = Math.max(0, Date.parse(until) - Date.parse(this.open.start)) || 0;
    const enteredAt = s.status === "escalated" && this.open?.stage === "escalated" ? this.open.start : s.stage_entered_at;
    const actors = new Map<string, number>();
    for (const ev of this.events) if (ev.actor && ACTS.has(ev.kind)) actors.set(ev.actor, (actors.get(ev.actor) ?? 0) + 1);
    const spend = s.spend;
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
      ...(currentRejection(s) ? { lastRejection: currentRejection(s)! } : {}),
      spans: this.spans,
      timeByStage: timeByStage(this.spans, pipeline),
      events: this.events,
      vetoes: this.vetoes,
      openVetoes: this.vetoes.filter((v) => v.state === "open").length,
      actors: [...actors].map(([actor, count]) => ({ actor, count })).sort((a, b) => b.count - a.count || a.actor.localeCompare(b.actor)),
      ...(spend ? { spend: { ...spend } } : {}),
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
  const b = blockersOf(e, pipeline);
  if (!b.stage) return `at unknown stage ${e.stage}`;
  const parts: string[] = [];
  if (b.missing.length) parts.push(`${b.stage.owner} to drop ${b.missing.join(", ")}`);
  if (b.pendingApprovers.length) parts.push(`approval from ${b.pendingApprovers.join(" or ")} (rule: ${describeApprovals(b.stage)}; so far ${e.approvals.join(", ") || "none"})`);
  const v = b.blockingVetoes;
  if (v.length) parts.push(`open veto${v.length > 1 ? "es" : ""} ${v.map((x) => `${x.from}: ${x.subject}`).join(", ")} (the vetoing role must approve)`);
  const rejected = currentRejection(e);
  const why = rejected ? `; the last drop was rejected: ${describeRejection(rejected)}` : "";
  return parts.length ? `waiting for ${parts.join("; ")}${why}` : `ready to advance${why}`;
}

function baseName(p: string | undefined): string | undefined {
  return p === undefined ? undefined : p.slice(p.lastIndexOf("/") + 1);
}

function isSpend(x: unknown): x is Spend {
  const o = x as Partial<Spend> | undefined;
  return !!o && typeof o === "object" && typeof o.cost_usd === "number" && typeof o.tokens === "number";
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
export function formatBudget(b: Partial<Spend>): string {
  return [b.cost_usd !== undefined ? usd(b.cost_usd) : undefined, b.tokens !== undefined ? `${b.tokens.toLocaleString("en-US")} tokens` : undefined].filter(Boolean).join(", ");
}

const usd = (n: number): string => `$${n.toFixed(n < 100 ? 2 : 0)}`;

/** Spent against budget: "$0.40 of $2.00, 1,200 of 50,000 tokens"; empty when neither is known. */
export function formatSpend(s: Spend | undefined, budget?: Budget): string {
  if (!s && !budget) return "";
  const parts: string[] = [];
  if (s?.cost_usd !== undefined || budget?.cost_usd !== undefined) parts.push(`${s?.cost_usd !== undefined ? usd(s.cost_usd) : "$0"}${budget?.cost_usd !== undefined ? ` of ${usd(budget.cost_usd)}` : ""}`);
  if (s?.tokens !== undefined || budget?.tokens !== undefined) parts.push(`${(s?.tokens ?? 0).toLocaleString("en-US")}${budget?.tokens !== undefined ? ` of ${budget.tokens.toLocaleString("en-US")}` : ""} tokens`);
  return parts.join(", ");
}
