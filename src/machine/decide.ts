/**
 * decide(world, input, now) → the decisions for one input, as log-entry drafts, plus the epic's new
 * state. Pure: the world (config, machine, current epics, used message ids) and the time come in as
 * arguments; nothing is written. The daemon makes the drafts durable first and derives effects from
 * the committed entries afterwards (effects.ts), so a crash in between is repaired by re-running them.
 */
import { transition } from "xstate";
import type { Pipeline } from "../config/pipeline.js";
import { errorsOf, issue, warningsOf, type Issue } from "../errors/issue.js";
import type { Epic } from "../schemas/types.gen.js";
import type { Envelope } from "../schemas/interpret.js";
export type { Envelope };
import { EPIC_ID } from "../config/names.js";
import { deadlineDue, newEpic, nonOverridableOpen, pipelineOf, withEscalation } from "./epic-context.js";
import { stateValueOf, type EpicMachine } from "./epic-machine.js";
import type { MachineEvent, Note } from "./events.js";
import { decideStray } from "./decide-stray.js";
import { withRejection } from "./rejections.js";

export interface World {
  readonly pipeline: Pipeline;
  /** The machine of the epic's mode (the whole pipeline's when it has none). */
  machineFor(epic: Epic): EpicMachine;
  epic(id: string): Epic | undefined;
  /** Epics in progress whose current stage expects this artifact file name. */
  epicsAwaiting(file: string): Epic[];
  messageIdUsed(id: string): boolean;
}

export interface Draft {
  decision: string;
  epic_id?: string;
  iteration?: number;
  details: Record<string, unknown>;
}

export type Decision =
  | { kind: "commit"; drafts: Draft[]; epic?: Epic; messageId?: string }
  /** Not for now: an artifact for a later stage, or an epic-less file older than the stage. Not marked processed. */
  | { kind: "defer"; reason: string }
  /** A command that cannot be applied: nothing is logged, the person sees the issues. */
  | { kind: "refuse"; issues: Issue[] };

export interface ArtifactInput {
  type: "artifact";
  /** Path relative to the root, with forward slashes. */
  file: string;
  /** The artifact's file name (plan.json …). */
  name: string;
  /** The per-epic folder it was dropped in, if any. */
  folder?: string;
  sha256: string;
  /** Parsed, normalised document (absent when it did not parse). */
  doc?: unknown;
  issues: Issue[];
  mtime: string;
}

export interface MessageInput {
  type: "message";
  file: string;
  inbox: string;
  sha256: string;
  doc?: Envelope;
  issues: Issue[];
}

/** What a stray file says of itself, where it parses (strings of at most 64 characters, unchecked). */
export interface StraySays {
  from?: string;
  to?: string;
  epic_id?: string;
  agent?: string;
}

/** A file where the layout expects nothing (PROTOCOL §2): reported once per content, never acted on. */
export interface StrayInput {
  type: "stray";
  file: string;
  sha256: string;
  /** Why nothing reads it there. */
  reason: string;
  /** The path it was likely meant for, as far as its own path tells. */
  suggest?: string;
  says: StraySays;
}

export type CommandInput =
  | { type: "start"; epic_id: string; title: string; by: string; mode?: string }
  /** The daemon's deadline sweep: the epic's stage deadline may have passed. */
  | { type: "deadline"; epic_id: string }
  /** Raised by the daemon itself (a stage removed from the config, an agent that keeps failing). */
  | { type: "escalate"; epic_id: string; reason: string; detail: string; by: string; data?: Record<string, unknown> }
  | { type: "override"; epic_id: string; reason: string; to?: string; by: string }
  | { type: "cancel"; epic_id: string; reason: string; by: string };

export type Input = ArtifactInput | MessageInput | StrayInput | CommandInput;

export function decide(world: World, input: Input, now: string): Decision {
  switch (input.type) {
    case "artifact":
      return decideArtifact(world, input, now);
    case "message":
      return decideMessage(world, input, now);
    case "stray":
      return decideStray(world, input);
    default:
      return decideCommand(world, input, now);
  }
}

/** Feeds events through the machine; returns the decisions it noted and the resulting epic state. */
export function run(world: World, epic: Epic, events: MachineEvent[]): { notes: Note[]; epic: Epic } {
  const machine = world.machineFor(epic);
  let snapshot = machine.resolveState({ value: stateValueOf(epic), context: epic });
  const notes: Note[] = [];
  for (const event of events) {
    const [next, actions] = transition(machine, snapshot, event);
    for (const a of actions) {
      if (a.type !== "note") continue;
      const n = a.params as Note;
      if (n.decision) notes.push(n);
    }
    snapshot = next;
  }
  return { notes, epic: definedOnly(snapshot.context) };
}

function commit(epicBefore: Epic | undefined, first: Draft[], world: World, events: MachineEvent[], extra: Partial<Decision> = {}): Decision {
  if (!epicBefore) return { kind: "commit", drafts: first, ...extra } as Decision;
  const { notes, epic } = run(world, epicBefore, events);
  // Each note carries the iteration it happened in: a veto's rework bumps it mid-way.
  const drafts = [...first];
  let iteration = epicBefore.iteration;
  for (const n of notes) {
    if (n.iteration !== undefined) iteration = n.iteration;
    drafts.push({ decision: n.decision, epic_id: epic.epic_id, iteration, details: n.details });
  }
  return { kind: "commit", drafts, epic, ...extra } as Decision;
}

function reject(decision: "artifact_rejected" | "message_rejected", file: string, sha256: string, issues: Issue[], author: string | undefined, now: string, epic?: Epic, epicId?: string): Decision {
  const details: Record<string, unknown> = { file, sha256, errors: errorsOf(issues).map(slim) };
  const warnings = warningsOf(issues);
  if (warnings.length) details.warnings = warnings.map(slim);
  if (author) details.author = author;
  const draft: Draft = { decision, details };
  const id = epic?.epic_id ?? epicId;
  if (id !== undefined && EPIC_ID.test(id)) draft.epic_id = id;
  if (epic) draft.iteration = epic.iteration;
  // the epic remembers it, so status and report can say why it still waits (rejections.ts)
  const after = epic ? withRejection(epic, { file, decision, errors: errorsOf(issues), ...(author ? { author } : {}), now }) : undefined;
  return { kind: "commit", drafts: [draft], ...(after && after !== epic ? { epic: after } : {}) };
}

/** An Issue as it goes into the log and notices: without the file (the entry names it once). */
export function slim(i: Issue): Omit<Issue, "file"> {
  const { file: _f, ...rest } = i;
  return rest;
}

function decideArtifact(world: World, a: ArtifactInput, now: string): Decision {
  const { pipeline } = world;
  const stage = pipeline.stageOfArtifact(a.name);
  const author = stage?.owner;
  const doc = (a.doc ?? {}) as Record<string, unknown>;
  const docEpic = typeof doc.epic_id === "string" ? doc.epic_id : undefined;
  const known = (id: string | undefined) => (id !== undefined ? world.epic(id) : undefined);
  const rej = (issues: Issue[], epic?: Epic) => reject("artifact_rejected", a.file, a.sha256, [...issues, ...warningsOf(a.issues)], author, now, epic, epic ? undefined : (a.folder ?? docEpic));

  if (errorsOf(a.issues).length > 0) return rej(errorsOf(a.issues), known(a.folder ?? docEpic));
  if (!stage) return rej([issue("UNKNOWN_ARTIFACT", { found: a.name, expected: `one of ${pipeline.stages.flatMap((s) => s.artifacts).join(", ")}` })]);

  if (a.folder !== undefined && docEpic !== undefined && a.folder !== docEpic) {
    return rej([issue("EPIC_FOLDER_MISMATCH", { message: `file is in artifacts/${a.folder}/ but its epic_id is "${docEpic}"`, path: "/epic_id", expected: a.folder, found: docEpic })], known(a.folder));
  }
  let epic: Epic | undefined;
  let epicId = a.folder ?? docEpic;
  if (epicId === undefined) {
    // A flat file that names no epic belongs to the one epic that was waiting for it when it was
    // written: epics that entered the stage later cannot be its epic, so the answer never changes.
    const waiting = world.epicsAwaiting(a.name);
    const candidates = waiting.filter((e) => e.stage_entered_at <= a.mtime);
    if (candidates.length === 0) {
      return { kind: "defer", reason: waiting.length ? `${a.file} was written before ${waiting.map((e) => e.epic_id).join(", ")} entered the stage that needs it` : `no epic is waiting for ${a.name}` };
    }
    if (candidates.length > 1) return rej([issue("AMBIGUOUS_EPIC", { message: `${candidates.length} epics are waiting for ${a.name}`, expected: "exactly one", found: candidates.map((e) => e.epic_id).join(", "), fix: `Drop it in the per-epic layout instead: ${candidates.map((e) => `artifacts/${e.epic_id}/${a.name}`).join(" or ")}.` })]);
    epic = candidates[0]!;
    epicId = epic.epic_id;
  } else epic = world.epic(epicId);
  if (!epic) return rej([issue("UNKNOWN_EPIC", { message: `epic "${epicId}" is not known`, path: docEpic ? "/epic_id" : "", found: epicId })]);
  if (epic.status !== "in_progress") return rej([issue("EPIC_CLOSED", { message: `epic ${epic.epic_id} is ${epic.status}`, expected: "an epic in progress", found: epic.status })], epic);

  const P = pipelineOf(pipeline, epic);
  const here = P.stage(epic.stage)!;
  const mine = P.stage(stage.id);
  if (!mine) {
    return rej([issue("NOT_IN_MODE", { message: `${a.name} belongs to stage ${stage.id}, which epic ${epic.epic_id} does not run in mode ${epic.mode}`, expected: `an artifact of stage ${here.id}: ${here.artifacts.join(", ")}`, found: a.name, fix: `Mode ${epic.mode} runs ${P.stages.map((s) => s.id).join(" → ")}; drop ${here.artifacts.join(", ")}.` })], epic);
  }
  if (mine.index < here.index) {
    return rej([issue("WRONG_STAGE", { message: `${a.name} belongs to stage ${stage.id}, which epic ${epic.epic_id} has passed; it is at ${here.id}`, expected: `an artifact of stage ${here.id}: ${here.artifacts.join(", ")}`, found: a.name })], epic);
  }
  if (typeof doc.iteration === "number" && doc.iteration !== epic.iteration) {
    return rej([issue("WRONG_ITERATION", { message: `iteration ${doc.iteration} is not epic ${epic.epic_id}'s current iteration ${epic.iteration}`, path: "/iteration", expected: String(epic.iteration), found: String(doc.iteration), fix: `Set "iteration": ${epic.iteration} and drop the file again.` })], epic);
  }
  if (mine.index > here.index) return { kind: "defer", reason: `${a.name} is for stage ${stage.id}; epic ${epic.epic_id} is at ${here.id}` };
  if (typeof doc.iteration !== "number" && a.mtime < epic.stage_entered_at) {
    return { kind: "defer", reason: `${a.file} was written before epic ${epic.epic_id} entered ${here.id} in iteration ${epic.iteration}` };
  }
  // the same bytes written again (touched, or copied over themselves) while already counted here
  if (epic.received[a.name] === a.sha256) return { kind: "defer", reason: `${a.file} is already accepted for epic ${epic.epic_id} at ${here.id} in iteration ${epic.iteration}` };

  const spend = spendOf(doc);
  const accepted: MachineEvent = { type: "ARTIFACT", file: a.name, sha256: a.sha256, role: stage.owner, now, ...(spend ? { spend } : {}) };
  const events: MachineEvent[] = [accepted];
  if (a.name === "review.json" && doc.review_status !== "approved") {
    const subject = `review_${String(doc.review_status)}`;
    const findings = Array.isArray(doc.findings) ? (doc.findings as Array<Record<string, unknown>>) : [];
    const worst = findings.find((f) => f.severity === "critical") ?? findings.find((f) => f.severity === "major") ?? findings[0];
    const violation = typeof worst?.description === "string" ? worst.description : `review status ${String(doc.review_status)}`;
    accepted.verdict = { subject, violation };
    events.push({ type: "VETO", role: stage.owner, subject, blocking: true, violation, now });
  }
  const warnings = warningsOf(a.issues);
  const decision = commit(epic, [], world, events);
  if (decision.kind === "commit" && warnings.length) {
    const accept = decision.drafts.find((d) => d.decision === "artifact_accepted");
    if (accept) accept.details.warnings = warnings.map(slim);
  }
  if (decision.kind === "commit") {
    const accept = decision.drafts.find((d) => d.decision === "artifact_accepted");
    if (accept) accept.details.file = a.file;
  }
  return decision;
}

function decideMessage(world: World, m: MessageInput, now: string): Decision {
  const { pipeline } = world;
  const d = m.doc;
  const author = d && typeof d.from === "string" && pipeline.isRole(d.from) ? d.from : undefined;
  const epicIdOf = d && typeof d.epic_id === "string" ? d.epic_id : undefined;
  const rej = (issues: Issue[], epic?: Epic) => reject("message_rejected", m.file, m.sha256, [...issues, ...warningsOf(m.issues)], author, now, epic, epic ? undefined : epicIdOf);
  if (!d || errorsOf(m.issues).length > 0) return rej(errorsOf(m.issues), epicIdOf ? world.epic(epicIdOf) : undefined);

  if (!pipeline.isRole(m.inbox)) return rej([issue("UNKNOWN_ROLE", { message: `messages/inbox/${m.inbox}/ is not the inbox of a configured role`, found: m.inbox, expected: pipeline.roles.join(", ") })]);
  if (d.to !== m.inbox) return rej([issue("WRONG_INBOX", { message: `message to "${d.to}" is in ${m.inbox}'s inbox`, path: "/to", expected: m.inbox, found: d.to })]);
  if (!pipeline.isRole(d.from)) return rej([issue("UNKNOWN_ROLE", { message: `sender "${d.from}" is not a configured role`, path: "/from", expected: pipeline.roles.join(", "), found: d.from })]);
  if (!pipeline.isRole(d.to)) return rej([issue("UNKNOWN_ROLE", { message: `recipient "${d.to}" is not a configured role`, path: "/to", expected: pipeline.roles.join(", "), found: d.to })]);
  if (d.from === d.to) return rej([issue("SELF_MESSAGE", { path: "/from", expected: `a role other than ${d.to}`, found: d.from })]);
  const messageId = d.id ?? m.sha256;
  if (world.messageIdUsed(messageId)) return rej([issue("REPLAYED_MESSAGE", { message: `message id "${messageId}" was already used`, path: d.id ? "/id" : "", found: messageId })]);
  const epic = world.epic(d.epic_id);
  if (!epic) return rej([issue("UNKNOWN_EPIC", { message: `epic "${d.epic_id}" is not known`, path: "/epic_id", found: d.epic_id })]);
  if (epic.status !== "in_progress") return rej([issue("EPIC_CLOSED", { message: `epic ${epic.epic_id} is ${epic.status}`, found: epic.status })], epic);
  // The iteration just closed by a blocking veto: another blocking veto of it is still heard (two
  // routes at once: the earliest stage wins); the vetoing role's own approval of it is not.
  const closedBy = d.iteration === epic.iteration - 1 ? epic.open_vetoes.filter((v) => v.blocking && v.iteration === d.iteration) : [];
  const content = d.content ?? {};
  const late = d.type === "veto" && content.blocking !== false && closedBy.length > 0 ? closedBy[0]! : undefined;
  if (d.type === "approve" && closedBy.some((v) => v.from === d.from)) {
    return rej([issue("VETO_STANDS", { message: `${d.from} vetoed iteration ${d.iteration} of epic ${epic.epic_id}; an approval of the same iteration does not withdraw it`, path: "/iteration", expected: String(epic.iteration), found: String(d.iteration), fix: `Approve in iteration ${epic.iteration}, once the rework answers your veto.` })], epic);
  }
  if (late) {
    const at = pipelineOf(pipeline, epic).stage(late.stage) ?? pipeline.stage(late.stage);
    if (!at || !at.vetoes.includes(d.from)) {
      return rej([issue("VETO_NOT_ALLOWED", { message: `${d.from} may not veto epic ${epic.epic_id} at stage ${late.stage} (iteration ${d.iteration})`, path: "/from", expected: at?.vetoes.length ? `one of ${at.vetoes.join(", ")}` : "no role may veto this stage", found: d.from })], epic);
    }
  } else if (d.iteration !== undefined && d.iteration !== epic.iteration) {
    return rej([issue("WRONG_ITERATION", { message: `message is for iteration ${d.iteration}; epic ${epic.epic_id} is at iteration ${epic.iteration}`, path: "/iteration", expected: String(epic.iteration), found: String(d.iteration), fix: `Write iteration: ${epic.iteration} if the message still applies.` })], epic);
  }
  const stage = pipelineOf(pipeline, epic).stage(epic.stage)!;
  if (d.type === "veto" && !late && !stage.vetoes.includes(d.from)) {
    return rej([issue("VETO_NOT_ALLOWED", { message: `${d.from} may not veto epic ${epic.epic_id} at stage ${stage.id}`, path: "/from", expected: stage.vetoes.length ? `one of ${stage.vetoes.join(", ")}` : "no role may veto this stage", found: d.from })], epic);
  }
  const accepted: Draft = {
    decision: "message_accepted",
    epic_id: epic.epic_id,
    iteration: epic.iteration,
    details: { file: m.file, sha256: m.sha256, message_id: messageId, type: d.type, from: d.from, to: d.to, ...(d.subject ? { subject: d.subject } : {}) },
  };
  const warnings = warningsOf(m.issues);
  if (warnings.length) accepted.details.warnings = warnings.map(slim);
  const events: MachineEvent[] = [];
  if (d.type === "veto") {
    const violation = [content.violation, content.specifics].filter((x) => typeof x === "string").join(": ");
    events.push({ type: "VETO", role: d.from, subject: d.subject ?? "veto", blocking: content.blocking !== false, ...(violation ? { violation } : {}), now, ...(late ? { late: { iteration: late.iteration, stage: late.stage } } : {}) });
  } else if (d.type === "approve") {
    events.push({ type: "APPROVE", role: d.from, now, ...(d.subject ? { subject: d.subject } : {}) });
  }
  return commit(epic, [accepted], world, events, { messageId });
}

function decideCommand(world: World, c: CommandInput, now: string): Decision {
  const refuse = (i: Issue): Decision => ({ kind: "refuse", issues: [i] });
  if (!EPIC_ID.test(c.epic_id)) return refuse(issue("BAD_EPIC_ID", { found: JSON.stringify(c.epic_id) }));
  const epic = world.epic(c.epic_id);
  if (c.type === "start") {
    if (epic) return refuse(issue("EPIC_EXISTS", { message: `epic ${c.epic_id} already exists (${epic.status}, stage ${epic.stage})`, found: c.epic_id }));
    const P = world.pipeline.forMode(c.mode);
    if (!P) {
      const modes = Object.keys(world.pipeline.modes);
      return refuse(issue("BAD_MODE", { message: `mode "${c.mode}" is not configured`, expected: modes.length ? modes.join(", ") : "no modes are configured", found: String(c.mode), fix: modes.length ? `Use --mode ${modes.join(" or --mode ")}, or add the mode under modes: in consensus.yaml.` : "Add it under modes: in consensus.yaml, or start without --mode." }));
    }
    const first = P.stages[0]!;
    const fresh = newEpic(c.epic_id, c.title, first.id, now, c.mode, first.deadlineMs);
    return {
      kind: "commit",
      epic: fresh,
      drafts: [{ decision: "epic_started", epic_id: c.epic_id, iteration: 1, details: { title: c.title, by: c.by, stage: first.id, to: first.id, ...(c.mode ? { mode: c.mode, stages: P.stages.map((s) => s.id) } : {}), config_version: world.pipeline.version } }],
    };
  }
  if (!epic) return refuse(issue("UNKNOWN_EPIC", { message: `epic "${c.epic_id}" is not known`, found: c.epic_id }));
  if (c.type === "deadline") {
    if (epic.status !== "in_progress" || !deadlineDue(epic, now)) return { kind: "defer", reason: `no deadline of epic ${c.epic_id} is due` };
    return commit(epic, [], world, [{ type: "DEADLINE", now }]);
  }
  if (c.type === "escalate") {
    if (epic.status !== "in_progress") return refuse(issue("EPIC_CLOSED", { message: `epic ${c.epic_id} is ${epic.status}`, found: epic.status }));
    if (pipelineOf(world.pipeline, epic).stage(epic.stage)) return commit(epic, [], world, [{ type: "ESCALATE", reason: c.reason, detail: c.detail, now, ...(c.data ? { data: c.data } : {}) }]);
    // The epic's stage is gone from the config, so no machine has a state for it: escalate it the way
    // the machine's ESCALATE does (same entry, same state), which is all that can happen to it.
    const escalated = withEscalation(epic, c.reason, c.detail, now);
    return { kind: "commit", epic: escalated, drafts: [{ decision: "escalated", epic_id: epic.epic_id, iteration: epic.iteration, details: { reason: c.reason, stage: epic.stage, detail: c.detail, ...(c.data ?? {}) } }] };
  }
  if (!c.reason.trim()) return refuse(issue("REASON_REQUIRED"));
  if (c.type === "cancel") {
    if (epic.status === "promoted" || epic.status === "cancelled") return refuse(issue("EPIC_CLOSED", { message: `epic ${c.epic_id} is already ${epic.status}`, found: epic.status }));
    return commit(epic, [], world, [{ type: "CANCEL", by: c.by, reason: c.reason, now }]);
  }
  if (epic.status !== "escalated") return refuse(issue("NOT_ESCALATED", { message: `epic ${c.epic_id} is ${epic.status}, not escalated`, found: epic.status }));
  const P = pipelineOf(world.pipeline, epic);
  const to = c.to ?? epic.escalation?.stage ?? epic.stage;
  if (to !== "promoted" && !P.stage(to)) {
    return refuse(issue("BAD_STAGE", { message: `--to "${to}" is not a stage${epic.mode ? ` of mode ${epic.mode}` : ""}`, expected: [...P.stages.map((s) => s.id), "promoted"].join(", "), found: to }));
  }
  const locked = nonOverridableOpen(epic, P);
  if (to === "promoted" && locked.length) {
    const v = locked[0]!;
    return refuse(issue("NON_OVERRIDABLE_VETO", {
      message: `${v.from}'s veto "${v.subject}" (iteration ${v.iteration}, stage ${v.stage}) cannot be overridden by a person`,
      found: [...new Set(locked.map((x) => `${x.from}:${x.subject}`))].join(", "),
      expected: "no open non-overridable veto",
      fix: `Send the epic back for rework (consensus override ${epic.epic_id} --to ${P.vetoRoute(v.from, v.stage)} --reason …): the veto stays open until ${v.from} approves in a later iteration. Or cancel the epic.`,
    }));
  }
  return commit(epic, [], world, [{ type: "OVERRIDE", by: c.by, reason: c.reason, to, now }]);
}

/**
 * The processed marks of an input (PROTOCOL §3: once per content, across restarts): `key` is recorded
 * with its decision, and the input is a duplicate when `key` or any of `also` was recorded before.
 * A message or an artifact that names its epic is keyed by path and content (`path@sha256`). A file
 * with no epic_id inside (cicd.yaml, runbook.md, or any file that does not parse) counts once per
 * *write*: `path@sha256~mtime`, so a restart or a re-scan finds the same key whatever the epics are
 * doing by then, while the same bytes written again for a rework are a new input. `also` holds the key
 * the daemon recorded for such files before (per epic iteration), so a log written then is honoured.
 */
export function inputMarks(world: World, input: ArtifactInput | MessageInput): { key: string; also?: string[] } {
  const base = `${input.file}@${input.sha256}`;
  if (input.type === "message") return { key: base };
  const doc = input.doc as { epic_id?: unknown } | undefined;
  if (doc && typeof doc.epic_id === "string") return { key: base };
  const epic = input.folder !== undefined ? world.epic(input.folder) : onlyOne(world.epicsAwaiting(input.name));
  return { key: `${base}~${input.mtime}`, also: [epic ? `${base}#${epic.epic_id}/${epic.iteration}` : base] };
}

/** The key inputMarks records. */
export const inputKey = (world: World, input: ArtifactInput | MessageInput): string => inputMarks(world, input).key;

const onlyOne = <T>(xs: T[]): T | undefined => (xs.length === 1 ? xs[0] : undefined);

/** What an artifact reports its agent spent (cost_usd, tokens), if anything. */
function spendOf(doc: Record<string, unknown>): { cost_usd: number; tokens: number } | undefined {
  const cost = typeof doc.cost_usd === "number" && doc.cost_usd >= 0 ? doc.cost_usd : undefined;
  const tokens = Number.isInteger(doc.tokens) && (doc.tokens as number) >= 0 ? (doc.tokens as number) : undefined;
  return cost === undefined && tokens === undefined ? undefined : { cost_usd: cost ?? 0, tokens: tokens ?? 0 };
}

/** The state without keys set to undefined (how the machine removes one: xstate's assign merges). */
function definedOnly(epic: Epic): Epic {
  const out = { ...epic } as Record<string, unknown>;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as unknown as Epic;
}
