/**
 * A tool's arguments → the input the daemon will see: the artifact at artifacts/<epic>/<file>, or the
 * message in the receiver's inbox, interpreted from the very bytes that will be placed; or why this
 * role cannot send it (a refusal, with path, expected, found and fix). validate answers the same
 * questions without placing anything. Nothing here writes.
 */
import { createHash, randomUUID } from "node:crypto";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { dump } from "js-yaml";
import { errorsOf, issue, type Issue } from "../../errors/issue.js";
import { decide } from "../../machine/decide.js";
import { pipelineOf } from "../../machine/epic-context.js";
import { formatOf } from "../../schemas/parse.js";
import { interpretArtifact, interpretAs, interpretMessage, kindOfArtifact } from "../../schemas/interpret.js";
import { hasSchema } from "../../schemas/registry.js";
import type { Epic } from "../../schemas/types.gen.js";
import { classifyPath } from "../files/classify.js";
import type { McpContext, Snapshot } from "./bus.js";
import type { ArtifactArgs, MessageArgs, ValidateArgs } from "./inputs.js";
import type { Offer } from "./offer.js";
import { errorsOfEntry, refused } from "./results.js";
import { schemaKinds } from "./schemas.js";

const sha256Of = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

export type Built<T> = T | { refusal: CallToolResult };

const now = (ctx: McpContext): Date => ctx.clock?.() ?? new Date();

/** The artifact as the daemon will see it, or why it cannot be submitted by this role. */
export function artifactOf(ctx: McpContext, snap: Snapshot, a: ArtifactArgs): Built<Offer> {
  const rel = `artifacts/${a.epic_id}/${a.file}`;
  const c = classifyPath(rel);
  if (c.kind !== "artifact") return { refusal: refused([issue("UNSAFE_PATH", { message: `${a.file} is not a file name the bus reads`, path: "/file", found: a.file, expected: "a plain file name such as plan.json" })]) };
  const stage = snap.pipeline.stageOfArtifact(a.file);
  const mine = ownArtifacts(snap, ctx.role);
  if (!stage) return { refusal: refused([issue("UNKNOWN_ARTIFACT", { message: `${a.file} is not an artifact of any stage`, path: "/file", found: a.file, expected: mine.length ? `one of ${mine.join(", ")}` : `one of ${snap.pipeline.stages.flatMap((s) => s.artifacts).join(", ")}` })]) };
  if (stage.owner !== ctx.role) {
    return { refusal: refused([issue("ROLE_MISMATCH", { message: `${a.file} is ${stage.owner}'s artifact (stage ${stage.id}); this session speaks for ${ctx.role}`, path: "/file", expected: mine.length ? `one of ${mine.join(", ")}` : `no artifact: ${ctx.role} owns no stage`, found: a.file })]) };
  }
  const bytes = bytesOf(a.file, a.content);
  if ("refusal" in bytes) return bytes;
  if (bytes.length > snap.pipeline.maxFileBytes) return { refusal: refused([issue("FILE_TOO_LARGE", { message: `${a.file} would be ${bytes.length} bytes, over the cap of ${snap.pipeline.maxFileBytes}`, path: "/content", found: `${bytes.length} bytes`, expected: `at most ${snap.pipeline.maxFileBytes} bytes` })]) };
  const r = interpretArtifact(a.file, bytes);
  const input = { type: "artifact" as const, transport: "mcp" as const, file: rel, name: a.file, folder: a.epic_id, sha256: sha256Of(bytes), issues: r.issues, mtime: now(ctx).toISOString(), ...(r.doc !== undefined ? { doc: r.doc } : {}) };
  return { rel, bytes, input };
}

/** The artifacts of the stages this role owns, in pipeline order. */
const ownArtifacts = (snap: Snapshot, role: string): string[] => snap.pipeline.stages.filter((s) => s.owner === role).flatMap((s) => s.artifacts);

/** The bytes of a document: text as given; an object as JSON (.json) or YAML (.yaml, .yml). */
function bytesOf(file: string, content: string | Record<string, unknown>): Uint8Array | { refusal: CallToolResult } {
  if (typeof content === "string") return new TextEncoder().encode(content);
  const format = formatOf(file);
  if (format === "json") return new TextEncoder().encode(`${JSON.stringify(content, null, 2)}\n`);
  if (format === "yaml") return new TextEncoder().encode(dump(content, { lineWidth: 120, noRefs: true }));
  return { refusal: refused([issue("SCHEMA", { message: `${file} is text: content must be a string`, path: "/content", expected: "a string (the Markdown text)", found: "an object", fix: "Pass the document's text as content." })]) };
}

/** The message as the daemon will see it in the receiver's inbox, or why it cannot be sent. */
export function messageOf(ctx: McpContext, snap: Snapshot, a: MessageArgs): Built<Offer> {
  const epic = snap.view.epics.get(a.epic_id);
  if (!epic) return { refusal: refused([issue("UNKNOWN_EPIC", { message: `epic "${a.epic_id}" is not known`, path: "/epic_id", found: a.epic_id, fix: "Check the id with the status tool." })]) };
  if (!snap.pipeline.isRole(ctx.role)) return { refusal: refused([issue("UNKNOWN_ROLE", { message: `this session's role ${ctx.role} is not configured`, found: ctx.role, expected: snap.pipeline.roles.join(", ") })]) };
  const to = a.to ?? defaultRecipient(snap, epic, ctx.role, a.type);
  if (!snap.pipeline.isRole(to)) return { refusal: refused([issue("UNKNOWN_ROLE", { message: `recipient "${to}" is not a configured role`, path: "/to", found: to, expected: snap.pipeline.roles.join(", ") })]) };
  const at = now(ctx);
  const id = `${a.type}-${at.toISOString().replace(/[:.]/g, "")}-${randomUUID().slice(0, 8)}`;
  const msg: Record<string, unknown> = { id, from: ctx.role, to, timestamp: at.toISOString(), epic_id: a.epic_id, iteration: a.iteration ?? epic.iteration, type: a.type };
  if (a.subject !== undefined) msg.subject = a.subject;
  if (a.content !== undefined) msg.content = a.content;
  if (a.action_needed !== undefined) msg.action_needed = a.action_needed;
  const rel = `messages/inbox/${to}/${id}.yaml`;
  const bytes = new TextEncoder().encode(dump(msg, { lineWidth: 120, noRefs: true }));
  const m = interpretMessage(`${id}.yaml`, bytes, to);
  const input = { type: "message" as const, transport: "mcp" as const, file: rel, inbox: to, sha256: sha256Of(bytes), issues: m.issues, ...(m.doc ? { doc: m.doc } : {}) };
  return { rel, bytes, input };
}

/** A veto goes to the owner of the stage it sends the epic back to; anything else to the current stage's owner (if that is not the sender). */
function defaultRecipient(snap: Snapshot, epic: Epic, from: string, type: string): string {
  const P = pipelineOf(snap.pipeline, epic);
  const owner = P.stage(epic.stage)?.owner;
  const back = type === "veto" ? P.stage(P.vetoRoute(from, epic.stage))?.owner : undefined;
  return [back, owner, ...snap.pipeline.roles].find((r): r is string => r !== undefined && r !== from) ?? from;
}

/** validate: schema problems, then (for an artifact or message of a known epic) what the daemon would say now. */
export function validateDocument(ctx: McpContext, snap: Snapshot, a: ValidateArgs): Issue[] {
  const name = a.file ?? (a.kind === "message" ? "message.yaml" : a.kind === "runbook" ? "runbook.md" : a.kind === "cicd" ? "cicd.yaml" : a.kind ? `${a.kind}.json` : undefined);
  if (!name) return [issue("UNKNOWN_ARTIFACT", { message: "cannot tell what kind of document this is", path: "", expected: "file (plan.json …) or kind (plan, message …)", found: "neither", fix: "Pass file with the name the document will have, or kind." })];
  const kind = a.kind ?? kindOfArtifact(name);
  if (!hasSchema(kind)) return [issue("UNKNOWN_ARTIFACT", { message: `no schema for ${kind}`, path: a.kind ? "/kind" : "/file", found: kind, expected: `one of ${schemaKinds().filter((k) => k !== "common").join(", ")}` })];
  const bytes = bytesOf(name, a.content);
  if ("refusal" in bytes) return (bytes.refusal.structuredContent as { issues: Issue[] }).issues;
  if (kind === "message") {
    const m = interpretMessage(name.endsWith(".json") ? name : "message.yaml", bytes, typeof a.content === "object" && typeof a.content.to === "string" ? a.content.to : "any");
    if (!m.doc || errorsOf(m.issues).length) return m.issues;
    const d = decide(snap.world, { type: "message", file: `messages/inbox/${m.doc.to}/${name}`, inbox: m.doc.to, sha256: sha256Of(bytes), issues: m.issues, doc: m.doc }, now(ctx).toISOString());
    return [...m.issues, ...(d.kind === "commit" && d.drafts[0]?.decision === "message_rejected" ? errorsOfEntry(d.drafts[0].details, name) : [])];
  }
  const format = formatOf(name) ?? (kind === "runbook" ? "md" : kind === "cicd" ? "yaml" : "json");
  const r = interpretAs(kind, format, bytes);
  const epic = a.epic_id ?? (r.doc && typeof (r.doc as { epic_id?: unknown }).epic_id === "string" ? (r.doc as { epic_id: string }).epic_id : undefined);
  const stage = snap.pipeline.stageOfArtifact(name);
  if (!epic || !stage || errorsOf(r.issues).length) return r.issues;
  const extra: Issue[] = [];
  if (stage.owner !== ctx.role) extra.push(issue("ROLE_MISMATCH", { message: `${name} is ${stage.owner}'s artifact; this session speaks for ${ctx.role}`, path: "", found: ctx.role, expected: stage.owner }));
  const d = decide(snap.world, { type: "artifact", file: `artifacts/${epic}/${name}`, name, folder: epic, sha256: sha256Of(bytes), issues: r.issues, mtime: now(ctx).toISOString(), ...(r.doc !== undefined ? { doc: r.doc } : {}) }, now(ctx).toISOString());
  if (d.kind === "defer") extra.push(issue("WRONG_STAGE", { message: `not now: ${d.reason}`, found: name, fix: "Submit it when the epic is at its stage (the task tool says when)." }));
  if (d.kind === "commit" && d.drafts[0]?.decision === "artifact_rejected") extra.push(...errorsOf(errorsOfEntry(d.drafts[0].details, name)));
  return [...r.issues, ...extra];
}
