/**
 * The task tool's answer: what this role should do now, per epic that waits for it (or that it may
 * veto at its current stage). For each: the stage and iteration; what to read (the epic's description
 * and the accepted artifacts of earlier stages, with their text on request); what to produce (file
 * names and their JSON Schemas); the approval asked of it; the open vetoes with their full content;
 * and its latest rejection with every error.
 */
import { createHash } from "node:crypto";
import { pipelineOf, waitingFor } from "../../machine/epic-context.js";
import { approvalsMet } from "../../config/resolve.js";
import { interpretMessage, kindOfArtifact } from "../../schemas/interpret.js";
import type { Epic } from "../../schemas/types.gen.js";
import { schemaOf } from "./schemas.js";
import type { DaemonEntry } from "../await-decision.js";
import type { McpBus, Snapshot } from "./bus.js";
import { errorsOfEntry } from "./results.js";
import type { TaskArgs } from "./inputs.js";

export async function taskOf(role: string, bus: McpBus, snap: Snapshot, args: TaskArgs): Promise<Record<string, unknown>> {
  const { pipeline, view } = snap;
  const epics = [...view.epics.values()].filter((e) => (args.epic_id ? e.epic_id === args.epic_id : e.status === "in_progress")).sort((a, b) => a.epic_id.localeCompare(b.epic_id));
  const entries = await bus.entries();
  const work: Array<Record<string, unknown>> = [];
  const elsewhere: Array<Record<string, unknown>> = [];
  for (const epic of epics) {
    const P = pipelineOf(pipeline, epic);
    const stage = P.stage(epic.stage);
    const waiting = waitingFor(epic, pipeline);
    const you: string[] = [];
    if (epic.status === "in_progress" && stage) {
      if (stage.owner === role && stage.artifacts.some((a) => epic.received[a] === undefined)) you.push("owner");
      if (stage.approvers.includes(role) && !epic.approvals.includes(role) && !approvalsMet(stage, epic.approvals)) you.push("approver");
      if (epic.open_vetoes.some((v) => v.from === role && v.blocking) && waiting.includes(role)) you.push("veto_open");
      if (stage.vetoes.includes(role)) you.push("may_veto");
    }
    const summary = { epic_id: epic.epic_id, title: epic.title, ...(epic.mode ? { mode: epic.mode } : {}), stage: epic.stage, status: epic.status, iteration: epic.iteration, waiting_for: waiting };
    if (!you.length || (you.length === 1 && you[0] === "may_veto" && !args.epic_id)) {
      elsewhere.push(summary);
      continue;
    }
    const produce = you.includes("owner")
      ? stage!.artifacts.filter((a) => epic.received[a] === undefined).map((file) => ({ file, kind: kindOfArtifact(file), submit_as: { epic_id: epic.epic_id, file }, schema_uri: `schema://${kindOfArtifact(file)}`, ...(args.schemas !== false ? { schema: schemaOf(kindOfArtifact(file)) } : {}) }))
      : [];
    const item: Record<string, unknown> = {
      ...summary,
      you,
      produce,
      received: Object.keys(epic.received),
      ...(you.includes("approver") ? { approve: { to: stage!.owner, how: `send_message {epic_id: "${epic.epic_id}", type: "approve", subject: "…"} once ${stage!.artifacts.join(", ")} are accepted; or a veto if they must not pass` } } : {}),
      read: await readList(bus, epic, snap, !!args.contents),
      open_vetoes: await vetoesOf(bus, epic, entries, !!args.contents),
    };
    const rejection = latestRejection(entries, epic, role);
    if (rejection) item.latest_rejection = rejection;
    item.next = nextStep(item, you, epic);
    work.push(item);
  }
  return { role, work, ...(elsewhere.length ? { not_waiting_for_you: elsewhere } : {}) };
}

function nextStep(item: Record<string, unknown>, you: string[], epic: Epic): string {
  const files = (item.produce as Array<{ file: string }>).map((p) => p.file);
  if (epic.status !== "in_progress") return `Nothing: epic ${epic.epic_id} is ${epic.status}.`;
  if (files.length) return `Read what is listed, then submit_artifact ${files.join(", ")} for ${epic.epic_id} with "iteration": ${epic.iteration}${item.latest_rejection ? ", fixing every error of the latest rejection" : ""}; or send_message a veto if the earlier work cannot be built on.`;
  if (you.includes("approver")) return `Check the accepted work, then send_message an approve (or a veto) for ${epic.epic_id} iteration ${epic.iteration}.`;
  if (you.includes("veto_open")) return `Your veto holds ${epic.epic_id}: send_message an approve once the rework answers it, or a veto with the same subject to escalate.`;
  return `Nothing required: you may veto ${epic.epic_id} at ${epic.stage} if its work breaks a rule you own.`;
}

/** The epic's description and the latest accepted version of each earlier stage's artifacts. */
async function readList(bus: McpBus, epic: Epic, snap: Snapshot, contents: boolean): Promise<Array<{ path: string; content?: string }>> {
  const P = pipelineOf(snap.pipeline, epic);
  const here = P.stage(epic.stage);
  const earlier = new Set(P.stages.filter((s) => !here || s.index < here.index).flatMap((s) => s.artifacts));
  const latest = new Map<string, string>();
  for (const p of await bus.published(epic.epic_id)) if (earlier.has(p.file)) latest.set(p.file, p.path);
  const all = [`epics/${epic.epic_id}/epic.md`, ...latest.values()];
  const there = await Promise.all(all.map((p) => bus.exists(p)));
  const paths = all.filter((_p, i) => there[i]);
  return Promise.all(paths.map(async (path) => (contents ? { path, content: (await bus.text(path)) ?? "" } : { path })));
}

/** Open vetoes with what the vetoing role wrote: the veto message's content (if its file still holds the accepted bytes) or the archived artifact that vetoed. */
async function vetoesOf(bus: McpBus, epic: Epic, entries: readonly DaemonEntry[], contents: boolean): Promise<Array<Record<string, unknown>>> {
  return Promise.all(
    epic.open_vetoes.map(async (v) => {
      const out: Record<string, unknown> = { ...v };
      const msg = [...entries].reverse().find((e) => {
        const d = (e.details ?? {}) as Record<string, unknown>;
        return e.decision === "message_accepted" && e.epic_id === epic.epic_id && e.iteration === v.iteration && d.type === "veto" && d.from === v.from && d.subject === v.subject;
      });
      const d = (msg?.details ?? {}) as { file?: string; sha256?: string };
      if (d.file && d.sha256) {
        out.message = d.file;
        const text = await bus.text(d.file);
        if (text !== undefined && createHash("sha256").update(text).digest("hex") === d.sha256) {
          const m = interpretMessage(d.file, new TextEncoder().encode(text), d.file.split("/")[2] ?? "");
          if (m.doc?.content) out.content = m.doc.content;
          if (m.doc?.action_needed) out.action_needed = m.doc.action_needed;
        }
        return out;
      }
      // A veto raised by an artifact (a review.json that is not approved): the artifact is the content.
      const art = [...entries].reverse().find((e) => e.decision === "artifact_accepted" && e.epic_id === epic.epic_id && e.iteration === v.iteration && v.stage === (e.details as { stage?: unknown }).stage);
      const file = (art?.details as { file?: string } | undefined)?.file;
      if (file) {
        const path = `archive/${epic.epic_id}/${v.iteration}/${file.slice(file.lastIndexOf("/") + 1)}`;
        out.artifact = path;
        if (contents) out.artifact_content = (await bus.text(path)) ?? "";
      }
      return out;
    }),
  );
}

/** This role's latest rejected input for the epic in its current iteration, with every error. */
function latestRejection(entries: readonly DaemonEntry[], epic: Epic, role: string): Record<string, unknown> | undefined {
  const e = [...entries].reverse().find((x) => (x.decision === "artifact_rejected" || x.decision === "message_rejected") && x.epic_id === epic.epic_id && (x.iteration === undefined || x.iteration === epic.iteration) && (x.details as { author?: unknown }).author === role);
  if (!e) return undefined;
  const file = String((e.details as { file?: unknown }).file ?? "");
  const later = entries.some((x) => x.seq > e.seq && (x.decision === "artifact_accepted" || x.decision === "message_accepted") && (x.details as { file?: unknown }).file === file);
  if (later) return undefined;
  return { seq: e.seq, timestamp: e.timestamp, decision: e.decision, file, errors: errorsOfEntry(e.details, file) };
}
