/**
 * What must happen after an entry is durable, derived from the entry alone — so after a crash the
 * daemon re-derives and re-runs them, and running one twice writes the same file twice. Pure.
 */
import { noticeBaseName } from "../config/names.js";
import type { Pipeline } from "../config/pipeline.js";
import type { LogEntry } from "../schemas/types.gen.js";
import { isRework, jobIdOf, type JobTarget, type StageEntry } from "../log/agent-jobs.js";
import { infoNotice, notInForceNotices, reworkCause, strayNotices, vetoForNotice, warningNotices } from "./notices.js";

export type Effect =
  | { type: "publish"; epic_id: string; iteration: number; file: string; sha256: string }
  | { type: "notice"; role: string; name: string; notice: NoticeDoc }
  /** The epic entered a stage: files for it that were dropped early may now be read. */
  | { type: "rescan"; epic_id: string; stage: string }
  /** Start an agent (the runner decides, logs agent_launched, then spawns; a known job is never started twice). */
  | { type: "launch"; want: LaunchWant }
  /** Remove a finished epic's derived files (`consensus prune`); each was checked by isDerivedFileOf. */
  | { type: "prune"; epic_id: string; files: string[] };

export interface LaunchWant extends JobTarget {
  /** `<trigger seq>-<agent>`, deterministic (agent-jobs.ts). */
  job: string;
  /** The notice that asked for the work, relative to the root. */
  notice?: string;
  /** The decision that fired a trigger. */
  on?: string;
}

/** A named agent's trigger (agents/<name>.md front matter), for agents with a command configured. */
export interface AgentTrigger {
  agent: string;
  role: string;
  on: string;
  stage?: string;
  from?: string;
}

export interface NoticeDoc {
  id: string;
  from: "orchestrator";
  to: string;
  timestamp: string;
  epic_id?: string;
  iteration?: number;
  type: "request" | "info";
  subject: string;
  content: Record<string, unknown>;
}

const pad = (n: number): string => String(n).padStart(8, "0");
export const noticeNameOf = (seq: number, epicId: string, subject: string): string => `notice-${pad(seq)}-${epicId}-${subject}.yaml`;
const baseName = (p: string): string => p.slice(p.lastIndexOf("/") + 1);
const stageSubjectOf = (rework: boolean | undefined): "rework_requested" | "stage_entered" => (rework ? "rework_requested" : "stage_entered");

const NAME = "[A-Za-z][A-Za-z0-9_-]{0,63}";

/**
 * Whether `rel` (relative to the root) is a file derived for epic `epicId` that `consensus prune` may
 * remove: a daemon notice about it in an inbox, or its agents' output. Never the log, state, archive,
 * artifacts or anything an agent wrote. Pure; checked by decide() and again by the effect.
 */
export function isDerivedFileOf(epicId: string, rel: string): boolean {
  if (rel.includes("..") || rel.includes("\\")) return false;
  const parts = rel.split("/");
  const name = new RegExp(`^${NAME}$`);
  if (parts.length === 4 && parts[0] === "messages" && parts[1] === "inbox" && name.test(parts[2]!)) {
    // noticeNameOf: notice-<8-digit seq>-<epic>-<subject>.yaml, or its keyed fallback name (config/names.ts)
    const n = noticeBaseName(parts[3]!);
    const head = `notice-`;
    return n.startsWith(head) && /^[0-9]{8}-$/.test(n.slice(head.length, head.length + 9)) && n.slice(head.length + 9).startsWith(`${epicId}-`) && /^[a-z][a-z0-9_]*\.yaml$/.test(n.slice(head.length + 9 + epicId.length + 1));
  }
  return parts.length === 5 && parts[0] === "logs" && parts[1] === "agents" && parts[2] === epicId && /^[0-9]{1,9}$/.test(parts[3]!) && new RegExp(`^${NAME}-[0-9]{1,9}\\.log$`).test(parts[4]!);
}

/** The launch a stage entry asks of its owner's agent: from the entry's effect, or re-derived by a starting daemon. */
export function stageLaunchWant(epicId: string, entry: StageEntry, owner: string): LaunchWant {
  const notice = `messages/inbox/${owner}/${noticeNameOf(entry.seq, epicId, stageSubjectOf(entry.rework))}`;
  return { job: jobIdOf(entry.seq, owner), agent: owner, role: owner, kind: "stage", trigger_seq: entry.seq, epic_id: epicId, iteration: entry.iteration, stage: entry.stage, notice };
}

export function effectsOf(e: LogEntry, pipeline: Pipeline, triggers: readonly AgentTrigger[] = []): Effect[] {
  const fired = e.seq !== undefined && triggers.length ? triggered(e, triggers) : [];
  return fired.length ? [...baseEffectsOf(e, pipeline), ...fired] : baseEffectsOf(e, pipeline);
}

function triggered(e: LogEntry, triggers: readonly AgentTrigger[]): Effect[] {
  const d = (e.details ?? {}) as Record<string, unknown>;
  const from = typeof d.from === "string" ? d.from : typeof d.author === "string" ? d.author : undefined;
  const out: Effect[] = [];
  for (const t of triggers) {
    if (t.on !== e.decision || (t.stage !== undefined && t.stage !== d.stage) || (t.from !== undefined && t.from !== from)) continue;
    if (out.some((x) => x.type === "launch" && x.want.agent === t.agent)) continue;
    const want: LaunchWant = { job: jobIdOf(e.seq!, t.agent), agent: t.agent, role: t.role, kind: "trigger", trigger_seq: e.seq!, on: e.decision };
    if (e.epic_id) want.epic_id = e.epic_id;
    if (e.iteration) want.iteration = e.iteration;
    if (typeof d.stage === "string") want.stage = d.stage;
    out.push({ type: "launch", want });
  }
  return out;
}

/** An accepted artifact is published (archived) for later stages to read. */
function acceptedEffects(e: LogEntry): Effect[] {
  const d = (e.details ?? {}) as Record<string, unknown>;
  return e.decision === "artifact_accepted" && e.epic_id && e.iteration && typeof d.file === "string" && typeof d.sha256 === "string"
    ? [{ type: "publish", epic_id: e.epic_id, iteration: e.iteration, file: baseName(d.file), sha256: d.sha256 }]
    : [];
}

function baseEffectsOf(e: LogEntry, pipeline: Pipeline): Effect[] {
  const d = (e.details ?? {}) as Record<string, unknown>;
  const seq = e.seq ?? 0;
  switch (e.decision) {
    case "pruned": {
      // re-checked here: the entry may come from a replayed or tampered log
      const epic = e.epic_id;
      const files = epic && Array.isArray(d.files) ? d.files.filter((f): f is string => typeof f === "string" && isDerivedFileOf(epic, f)) : [];
      return epic && files.length ? [{ type: "prune", epic_id: epic, files }] : [];
    }
    case "epic_started":
    case "stage_advanced": {
      const to = String(d.to);
      const stage = pipeline.stage(to);
      if (!stage || !e.epic_id) return [];
      const rework = isRework(d);
      const subject = stageSubjectOf(rework);
      const vetoes = (e.state?.open_vetoes ?? []).map(vetoForNotice);
      const notice: NoticeDoc = {
        id: `notice-${pad(seq)}`,
        from: "orchestrator",
        to: stage.owner,
        timestamp: e.timestamp,
        epic_id: e.epic_id,
        iteration: e.iteration ?? 1,
        type: "request",
        subject,
        content: {
          stage: stage.id,
          artifacts: [...stage.artifacts],
          epic: `epics/${e.epic_id}/epic.md`,
          drop_to: `artifacts/${e.epic_id}/`,
          read: `archive/${e.epic_id}/`,
          ...(rework ? { reason: d.reason } : {}),
          ...reworkCause(d, vetoes),
          open_vetoes: vetoes,
          ...(stage.approvers.length ? { approvers: [...stage.approvers] } : {}),
        },
      };
      // Approvers (other than the owner) are asked too: the stage waits for their approve messages.
      const approvers = stage.approvers.filter((r) => r !== stage.owner);
      const name = noticeNameOf(seq, e.epic_id, subject);
      const epicId = e.epic_id;
      const out: Effect[] = [
        { type: "notice", role: stage.owner, name, notice },
        ...approvers.map((role): Effect => ({
          type: "notice",
          role,
          name: noticeNameOf(seq, epicId, "approval_requested"),
          notice: { ...notice, to: role, subject: "approval_requested", content: { ...notice.content, approve_to: stage.owner, how: `Send an approve (or veto) message for iteration ${e.iteration ?? 1} to messages/inbox/${stage.owner}/ once ${stage.artifacts.join(", ")} are accepted.` } },
        })),
        { type: "rescan", epic_id: e.epic_id, stage: stage.id },
      ];
      if (pipeline.agents.has(stage.owner) && e.seq !== undefined) {
        out.push({ type: "launch", want: stageLaunchWant(e.epic_id, { seq: e.seq, stage: stage.id, iteration: e.iteration ?? 1, rework }, stage.owner) });
      }
      return out;
    }
    case "deadline_reminder": {
      const role = typeof d.owner === "string" ? d.owner : undefined;
      if (!role || !e.epic_id) return [];
      const notice: NoticeDoc = {
        id: `notice-${pad(seq)}`,
        from: "orchestrator",
        to: role,
        timestamp: e.timestamp,
        epic_id: e.epic_id,
        iteration: e.iteration ?? 1,
        type: "request",
        subject: "deadline_reminder",
        content: { stage: d.stage, deadline_was: d.deadline_at, escalated_after: d.next_deadline_at, drop_to: `artifacts/${e.epic_id}/`, fix: "Drop the stage's artifacts (or a veto) before the next deadline, or the epic is escalated to a person." },
      };
      return [{ type: "notice", role, name: `notice-${pad(seq)}-${e.epic_id}-deadline_reminder.yaml`, notice }];
    }
    case "artifact_rejected":
    case "message_rejected": {
      const author = typeof d.author === "string" && pipeline.isRole(d.author) ? d.author : undefined;
      if (!author) return notInForceNotices(e, pipeline);
      const content = { file: d.file, sha256: d.sha256, errors: d.errors, ...(d.warnings ? { warnings: d.warnings } : {}), fix: "Correct the file (run `consensus validate FILE`) and drop it again." };
      return [infoNotice(e, author, e.decision, content), ...notInForceNotices(e, pipeline)];
    }
    case "log_line_rejected": {
      // an agent's entry in the readable log: its author is told what was wrong and how to write it
      const author = typeof d.author === "string" && pipeline.isRole(d.author) ? d.author : undefined;
      if (!author) return [];
      return [infoNotice(e, author, e.decision, { file: "current/decision_log.jsonl", line: d.line, ...(d.last_line !== undefined ? { last_line: d.last_line } : {}), errors: d.errors, fix: d.fix ?? "Write each entry on one line, e.g. `jq -c . entry.json >> current/decision_log.jsonl`." })];
    }
    case "file_ignored":
      return strayNotices(e, pipeline);
    case "artifact_accepted":
    case "message_accepted":
      return [...acceptedEffects(e), ...warningNotices(e, pipeline)];
    default:
      return [];
  }
}
