/**
 * decide(world, input, now) → the decisions for one input, as log-entry drafts, plus the epic's new
 * state. Pure: the world (config, machine, current epics, used message ids) and the time come in as
 * arguments; nothing is written. The daemon makes the drafts durable first and derives effects from
 * the committed entries afterwards (effects.ts), so a crash in between is repaired by re-running them.
 */
import type { Pipeline } from "../config/pipeline.js";
import { errorsOf, formatFound, issue, warningsOf, type Issue } from "../errors/issue.js";
import type { Epic } from "../schemas/types.gen.js";
import type { Envelope } from "../schemas/interpret.js";
export type { Envelope };
import { EPIC_ID } from "../config/names.js";
import { deadlineDue, newEpic, nonOverridableOpen, pipelineOf, withEscalation } from "./epic-context.js";
import { stateValueOf, stepEpic, type EpicMachine } from "./epic-machine.js";
import { isDerivedFileOf } from "./effects.js";
import type { MachineEvent, Note } from "./events.js";
import { decideStray } from "./decide-stray.js";
import { decideArtifact } from "./decide-artifact.js";
import { decideMessage } from "./decide-message.js";
import { withRejection } from "./rejections.js";
import { proofNoteOf, proofRecord, type Proof } from "./authority.js";
export type { Proof };
import { decideRefusedRequest, type RefusedRequestInput } from "./decide-request.js";

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

/**
 * How an input reached the bus: a file dropped into a drop zone, a call to the MCP server (which places
 * the same file), or a person's command. Recorded in the details of the entry that names the input, so
 * the log tells them apart; decide() itself never looks at it.
 */
export type Transport = "files" | "mcp" | "cli";

export interface ArtifactInput {
  type: "artifact";
  transport?: Transport;
  /** Path relative to the root, with forward slashes. */
  file: string;
  /** The artifact's file name (plan.json …); empty for the epic's folder itself (artifacts/<folder>, a link refused unread). */
  name: string;
  /** The per-epic folder it was dropped in, if any. */
  folder?: string;
  sha256: string;
  /** Parsed, normalised document (absent when it did not parse). */
  doc?: unknown;
  issues: Issue[];
  mtime: string;
  /** Who wrote it, as far as the shell could prove (authority.ts); absent: unverified. */
  proof?: Proof;
}

export interface MessageInput {
  type: "message";
  transport?: Transport;
  file: string;
  inbox: string;
  sha256: string;
  doc?: Envelope;
  issues: Issue[];
  /** Who wrote it, as far as the shell could prove (authority.ts); absent: unverified. */
  proof?: Proof;
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

/** Commands carry a transport when a person sent them (start, override, cancel); the daemon's own (deadline, escalate) none. */
export type CommandInput = (
  | { type: "start"; epic_id: string; title: string; by: string; mode?: string }
  /** The daemon's deadline sweep: the epic's stage deadline may have passed. */
  | { type: "deadline"; epic_id: string }
  /** Raised by the daemon itself (a stage removed from the config, an agent that keeps failing). */
  | { type: "escalate"; epic_id: string; reason: string; detail: string; by: string; data?: Record<string, unknown> }
  /** by: the OS user who ran it; as: the name they gave (--as), shown beside it, never instead. */
  | { type: "override"; epic_id: string; reason: string; to?: string; by: string; as?: string }
  | { type: "cancel"; epic_id: string; reason: string; by: string; as?: string }
  /** A person clears a finished epic's derived files (its notices, its agents' output) finished before `before`. */
  | { type: "prune"; epic_id: string; before: string; files: string[]; by: string }
) & { transport?: Transport };

export type Input = ArtifactInput | MessageInput | StrayInput | CommandInput | RefusedRequestInput;

export function decide(world: World, input: Input, now: string): Decision {
  const d =
    input.type === "artifact" ? decideArtifact(world, input, now) : input.type === "message" ? decideMessage(world, input, now) : input.type === "stray" ? decideStray(world, input) : input.type === "request_refused" ? decideRefusedRequest(input) : decideCommand(world, input, now);
  const t = "transport" in input && input.transport && d.kind === "commit" ? withTransport(d, input.transport) : d;
  return t.kind === "commit" ? withIdentity(t, input) : t;
}

/** The entry naming an artifact or message records who proved to write it (or "unverified"); a person's command, the name they gave. */
function withIdentity(d: Extract<Decision, { kind: "commit" }>, input: Input): Decision {
  const [first, ...rest] = d.drafts;
  if (!first) return d;
  if (input.type === "artifact" || input.type === "message") {
    if (first.decision === "veto_duplicate") return d;
    const note = proofNoteOf(input.proof);
    return { ...d, drafts: [{ ...first, details: { ...first.details, proof: proofRecord(input.proof), ...(note ? { proof_note: { ...note } } : {}) } }, ...rest] };
  }
  if ((input.type === "override" || input.type === "cancel") && input.as) return { ...d, drafts: [{ ...first, details: { ...first.details, as: input.as } }, ...rest] };
  return d;
}

/** The first draft of a decision names its input (accepted, rejected, started, overridden …): it records the transport. */
function withTransport(d: Extract<Decision, { kind: "commit" }>, transport: Transport): Decision {
  const [first, ...rest] = d.drafts;
  if (!first) return d;
  return { ...d, drafts: [{ ...first, details: { ...first.details, transport } }, ...rest] };
}

/** Feeds events through the machine; returns the decisions it noted and the resulting epic state. */
export function run(world: World, epic: Epic, events: MachineEvent[]): { notes: Note[]; epic: Epic } {
  const machine = world.machineFor(epic);
  let snapshot = machine.resolveState({ value: stateValueOf(epic), context: epic });
  const notes: Note[] = [];
  for (const event of events) {
    const [next, actions] = stepEpic(machine, snapshot, event);
    for (const a of actions) {
      if (a.type !== "note") continue;
      const n = a.params as Note;
      if (n.decision) notes.push(n);
    }
    snapshot = next;
  }
  return { notes, epic: definedOnly(snapshot.context) };
}

/** Runs the events through the machine after `first`, and commits what it noted with the state it reached. */
export function commit(epicBefore: Epic | undefined, first: Draft[], world: World, events: MachineEvent[], extra: Partial<Decision> = {}): Decision {
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

/** A rejection: one entry with every error (and warning), the author named; the epic remembers it (rejections.ts). */
export function reject(decision: "artifact_rejected" | "message_rejected", file: string, sha256: string, issues: Issue[], author: string | undefined, now: string, epic?: Epic, epicId?: string): Decision {
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
  if (c.type === "prune") return decidePrune(epic, c);
  if (!c.reason.trim()) return refuse(issue("REASON_REQUIRED"));
  // security.people: only the listed OS users may override or cancel (the OS user, never the --as name)
  const people = world.pipeline.proof.people[c.type];
  if (people && !people.includes(c.by)) {
    return refuse(issue("PERSON_NOT_ALLOWED", { message: `OS user ${c.by}${c.as ? ` (as ${c.as})` : ""} may not ${c.type} (rule: security.people.${c.type})`, found: c.by, expected: `one of ${people.join(", ") || "nobody"}`, fix: `Ask ${people.join(" or ") || "a listed person"} to run it, or add ${c.by} to security.people.${c.type} in consensus.yaml.` }));
  }
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
 * `consensus prune`: only an epic promoted or cancelled before `before`, and only its derived files
 * (notices, agents' output: isDerivedFileOf). The entry names every file; its effect removes them.
 */
function decidePrune(epic: Epic, c: Extract<CommandInput, { type: "prune" }>): Decision {
  const refuse = (i: Issue): Decision => ({ kind: "refuse", issues: [i] });
  if (epic.status !== "promoted" && epic.status !== "cancelled") return refuse(issue("EPIC_NOT_FINISHED", { message: `epic ${epic.epic_id} is ${epic.status}`, found: epic.status, expected: "promoted or cancelled" }));
  if (!(epic.updated_at <= c.before)) return refuse(issue("EPIC_NOT_FINISHED", { message: `epic ${epic.epic_id} finished at ${epic.updated_at}, after ${c.before}`, found: epic.updated_at, expected: `before ${c.before}`, fix: "Prune it later, or pass a shorter --older-than." }));
  const files = Array.isArray(c.files) ? c.files : [];
  const bad = files.find((f) => typeof f !== "string" || !isDerivedFileOf(epic.epic_id, f));
  if (bad !== undefined) return refuse(issue("UNSAFE_PATH", { message: `prune may remove only notices and agent logs of ${epic.epic_id}`, found: formatFound(bad) }));
  return { kind: "commit", drafts: [{ decision: "pruned", epic_id: epic.epic_id, iteration: epic.iteration, details: { by: c.by, before: c.before, status: epic.status, finished_at: epic.updated_at, files } }] };
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

/** The state without keys set to undefined (how the machine removes one: xstate's assign merges). */
function definedOnly(epic: Epic): Epic {
  const out = { ...epic } as Record<string, unknown>;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as unknown as Epic;
}
