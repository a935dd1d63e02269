/**
 * The MCP server for one role (one session): the bus as tools an agent calls, with the verdict in the
 * same turn, and as resources it reads. Built with the official SDK (McpServer); the transports
 * (stdio.ts, http.ts) only connect it. Every tool reads the bus afresh and checks its arguments
 * (inputs.ts) before it does anything; every refusal is an isError result with path, expected, found
 * and fix. Nothing here decides: submit_artifact and send_message place files that the engine decides
 * with the same decide() as a dropped file (offer.ts).
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { dump } from "js-yaml";
import { agentsDirOf } from "../../agents/read-definitions.js";
import { ConsensusError, errorsOf, issue, type Issue } from "../../errors/issue.js";
import { formatIssuesText } from "../../errors/issue-text.js";
import { pipelineOf } from "../../machine/epic-context.js";
import { decide } from "../../machine/decide.js";
import { statusOf } from "../../report/epic-status.js";
import { formatOf } from "../../schemas/parse.js";
import { interpretArtifact, interpretAs, interpretMessage, kindOfArtifact } from "../../schemas/interpret.js";
import { hasSchema } from "../../schemas/registry.js";
import { createHash } from "node:crypto";
import { classifyPath } from "../files/classify.js";
import { BusReader, type McpContext, type Snapshot } from "./bus.js";
import { inboxOf } from "./inbox.js";
import { documentContent, epicId, fileName, role as roleSchema, toolInput, vetoContent, type ToolInput } from "./inputs.js";
import { offer } from "./offer.js";
import { answered, errorsOfEntry, refused } from "./results.js";
import { schemaKinds, schemaOf } from "./schemas.js";
import { taskOf, type TaskArgs } from "./task.js";

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const version = (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
const sha256Of = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

const MESSAGE_TYPES = ["approve", "veto", "request", "response", "info"] as const;

const inputs = {
  task: toolInput<TaskArgs>("task", {
    epic_id: { ...epicId, description: "Only this epic (default: every epic in progress)." },
    contents: { type: "boolean", description: "Include the text of every file to read (default false: paths only; read them as resources or files)." },
    schemas: { type: "boolean", description: "Include the JSON Schema of every file to produce (default true)." },
  }),
  validate: toolInput<{ content: string | Record<string, unknown>; file?: string; kind?: string; epic_id?: string }>("validate", {
    content: documentContent,
    file: { ...fileName, description: "The file name it will have (plan.json, cicd.yaml, runbook.md …); says its kind and format. Give file or kind." },
    kind: { type: "string", pattern: "^[a-z][a-z0-9-]*$", description: "The schema kind instead of a file name: plan, implementation, review, deployment, cicd, runbook, message, …" },
    epic_id: { ...epicId, description: "Also check it against this epic as it stands now (stage, iteration); default: the document's own epic_id." },
  }, ["content"]),
  submit_artifact: toolInput<{ epic_id: string; file: string; content: string | Record<string, unknown> }>("submit_artifact", {
    epic_id: epicId,
    file: { ...fileName, description: "The artifact's file name, one of your stage's (the task tool lists them): plan.json, implementation.json, review.json, deployment.json, cicd.yaml, runbook.md …" },
    content: documentContent,
  }, ["epic_id", "file", "content"]),
  send_message: toolInput<{ epic_id: string; type: (typeof MESSAGE_TYPES)[number]; subject?: string; to?: string; iteration?: number; content?: Record<string, unknown>; action_needed?: string }>("send_message", {
    epic_id: epicId,
    type: { enum: [...MESSAGE_TYPES], description: "approve (you approve this iteration; it also resolves your own open veto), veto (you block it: needs subject and content.violation and content.specifics), request, response or info." },
    subject: { type: "string", pattern: "^[A-Za-z0-9_.:-]{1,128}$", description: "Short snake_case topic, e.g. missing_health_check. Required for a veto: the same subject vetoed twice escalates the epic to a person." },
    to: { ...roleSchema, description: "The receiving role. Default: the owner of the stage a veto sends the epic back to, or of the epic's current stage." },
    iteration: { type: "integer", minimum: 1, description: "The iteration it is about (default: the epic's current one)." },
    content: vetoContent,
    action_needed: { type: "string", minLength: 1, description: "What the receiver should do, e.g. add_health_monitoring." },
  }, ["epic_id", "type"]),
  inbox: toolInput<{ epic_id?: string }>("inbox", { epic_id: { ...epicId, description: "Only this epic." } }),
  status: toolInput<{ epic_id?: string }>("status", { epic_id: { ...epicId, description: "Only this epic (default: all)." } }),
  log: toolInput<{ epic_id?: string; decision?: string; limit?: number }>("log", {
    epic_id: { ...epicId, description: "Only this epic's entries." },
    decision: { type: "string", pattern: "^[a-z_]{1,64}$", description: "Only this decision (artifact_rejected, veto_recorded, stage_advanced …)." },
    limit: { type: "integer", minimum: 1, maximum: 1000, description: "At most this many, the latest (default 200)." },
  }),
};

export interface ConsensusMcp {
  server: McpServer;
  /** Resolves once no tool call is running (a transport closing waits for this: a placement is never cut short). */
  idle(): Promise<void>;
}

export function createMcpServer(ctx: McpContext): ConsensusMcp {
  const bus = new BusReader(ctx.root);
  const running = new Set<Promise<unknown>>();
  const server = new McpServer(
    { name: "consensus", version },
    {
      instructions: `The consensus bus for role ${ctx.role}. Call task first: it says what each epic waits for from you, what to read and what to produce (with JSON Schemas). validate checks a document; submit_artifact and send_message place your work and return the daemon's verdict in the same call. Every refusal says what is wrong, where, and the fix.`,
    },
  );

  /** Checks the arguments, reads the bus, runs the tool; a ConsensusError becomes a refusal. */
  const tool = <T>(name: keyof typeof inputs & string, title: string, description: string, run: (args: T, snap: Snapshot) => Promise<CallToolResult>, readOnly = true) => {
    const input = inputs[name] as unknown as ToolInput<T>;
    server.registerTool(name, { title, description, inputSchema: input.zod, annotations: { readOnlyHint: readOnly, idempotentHint: readOnly, openWorldHint: false } }, async (args) => {
      const checked = input.check(args);
      if (!checked.ok) return refused(checked.issues);
      const call = (async () => {
        try {
          return await run(checked.value, await bus.snapshot());
        } catch (e) {
          if (e instanceof ConsensusError) return refused(e.issues);
          throw e;
        }
      })();
      running.add(call);
      try {
        return await call;
      } finally {
        running.delete(call);
      }
    });
  };

  tool<TaskArgs>("task", "What to do now", `What role ${ctx.role} should do now: per epic waiting for it, the stage, iteration, what to read, what to produce (file names and JSON Schemas), open vetoes with their full content, and the latest rejection with its errors.`, async (a, snap) => answered(await taskOf(ctx.role, bus, snap, a)));

  tool<{ content: string | Record<string, unknown>; file?: string; kind?: string; epic_id?: string }>("validate", "Check a document", "Checks a document against its schema and, when it names an epic, against the epic as it stands (stage, iteration, who may send it): every problem at once, each with path, expected, found and fix. Places nothing.", async (a, snap) => {
    const issues = validateDocument(ctx, snap, a);
    const errors = errorsOf(issues).length;
    const data = { valid: errors === 0, errors, warnings: issues.length - errors, issues };
    return { content: [{ type: "text", text: `${errors === 0 ? "valid" : "invalid"}: ${errors} error(s), ${issues.length - errors} warning(s)${issues.length ? `\n${formatIssuesText(issues)}` : ""}` }], structuredContent: data };
  });

  tool<{ epic_id: string; file: string; content: string | Record<string, unknown> }>("submit_artifact", "Submit an artifact", `Submits one of ${ctx.role}'s artifacts for an epic: validated first (nothing is placed if it would be rejected), then written atomically to artifacts/<epic_id>/<file>, and the daemon's verdict returned: accepted and where the epic went, or rejected and why.`, async (a, snap) => {
    const built = artifactOf(ctx, snap, a);
    return "refusal" in built ? built.refusal : offer(ctx, bus, snap, built);
  }, false);

  tool<Parameters<typeof messageOf>[2]>("send_message", "Send a message", `Sends a message from ${ctx.role}: approve, veto (with its content), request, response or info. Validated and checked against the epic first, placed in the receiver's inbox, and the daemon's verdict returned (a veto that would not count is refused here, with the reason).`, async (a, snap) => {
    const built = messageOf(ctx, snap, a);
    return "refusal" in built ? built.refusal : offer(ctx, bus, snap, built);
  }, false);

  tool<{ epic_id?: string }>("inbox", "Your inbox", `The messages and notices addressed to ${ctx.role}, each marked in_force, resolved, rejected (with its errors), pending, or not_genuine (a notice no log entry produced: ignore it).`, async (a, snap) => answered(await inboxOf(ctx.role, bus, snap, a.epic_id)));

  tool<{ epic_id?: string }>("status", "Where epics stand", "What `consensus status --json` prints: per epic its stage, status, iteration, the roles it waits for, open vetoes, escalation, spend, deadline.", async (a, snap) => {
    if (a.epic_id !== undefined) {
      const e = snap.view.epics.get(a.epic_id);
      if (!e) return refused([issue("UNKNOWN_EPIC", { message: `epic ${a.epic_id} is not known`, path: "/epic_id", found: a.epic_id, fix: "Call status without epic_id to list the epics." })]);
      return answered({ epics: [statusOf(e, snap.pipeline)] });
    }
    return answered({ epics: [...snap.view.epics.values()].sort((x, y) => x.epic_id.localeCompare(y.epic_id)).map((e) => statusOf(e, snap.pipeline)) });
  });

  tool<{ epic_id?: string; decision?: string; limit?: number }>("log", "The decision log", "What `consensus log --epic E --json` prints: the decision log's entries (the daemon's and agents' own), filtered, the latest last.", async (a) => {
    const out: unknown[] = [];
    for await (const { entry } of bus.store.readEntries()) {
      if (!entry || (a.epic_id && entry.epic_id !== a.epic_id) || (a.decision && entry.decision !== a.decision)) continue;
      out.push(entry);
    }
    const limit = a.limit ?? 200;
    return answered({ entries: out.slice(-limit), ...(out.length > limit ? { omitted: out.length - limit } : {}) });
  });

  registerResources(server, ctx, bus);
  return { server, idle: async () => void (await Promise.allSettled([...running])) };
}

type Built<T> = T | { refusal: CallToolResult };

const now = (ctx: McpContext): Date => ctx.clock?.() ?? new Date();

/** The artifact as the daemon will see it, or why it cannot be submitted by this role. */
function artifactOf(ctx: McpContext, snap: Snapshot, a: { epic_id: string; file: string; content: string | Record<string, unknown> }): Built<Parameters<typeof offer>[3]> {
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
function messageOf(ctx: McpContext, snap: Snapshot, a: { epic_id: string; type: (typeof MESSAGE_TYPES)[number]; subject?: string; to?: string; iteration?: number; content?: Record<string, unknown>; action_needed?: string }): Built<Parameters<typeof offer>[3]> {
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
function defaultRecipient(snap: Snapshot, epic: NonNullable<ReturnType<Snapshot["view"]["epics"]["get"]>>, from: string, type: string): string {
  const P = pipelineOf(snap.pipeline, epic);
  const owner = P.stage(epic.stage)?.owner;
  const back = type === "veto" ? P.stage(P.vetoRoute(from, epic.stage))?.owner : undefined;
  return [back, owner, ...snap.pipeline.roles].find((r): r is string => r !== undefined && r !== from) ?? from;
}

/** validate: schema problems, then (for an artifact or message of a known epic) what the daemon would say now. */
function validateDocument(ctx: McpContext, snap: Snapshot, a: { content: string | Record<string, unknown>; file?: string; kind?: string; epic_id?: string }): Issue[] {
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

/** schema://<kind>, the role's prompt, and each epic's accepted artifacts. */
function registerResources(server: McpServer, ctx: McpContext, bus: BusReader): void {
  server.registerResource(
    "schema",
    new ResourceTemplate("schema://{kind}", { list: async () => ({ resources: schemaKinds().map((k) => ({ uri: `schema://${k}`, name: `${k} schema`, mimeType: "application/schema+json" })) }) }),
    { title: "JSON Schemas of the bus", description: "The JSON Schema (2020-12) of each artifact and message kind; common holds the shared definitions the others $ref.", mimeType: "application/schema+json" },
    async (uri, vars) => {
      const s = schemaOf(String(vars.kind));
      if (!s) throw new ConsensusError(issue("NOT_FOUND", { message: `no schema ${uri.href}`, found: String(vars.kind), expected: schemaKinds().join(", ") }));
      return { contents: [{ uri: uri.href, mimeType: "application/schema+json", text: JSON.stringify(s, null, 2) }] };
    },
  );

  server.registerResource("prompt", `prompt://${ctx.role}`, { title: `The ${ctx.role} prompt`, description: `How the ${ctx.role} role works on this bus (agents/${ctx.role}.md).`, mimeType: "text/markdown" }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: "text/markdown", text: await readFile(await promptPath(ctx, bus), "utf8") }],
  }));

  server.registerResource(
    "artifact",
    new ResourceTemplate("archive://{epic_id}/{iteration}/{file}", {
      list: async () => {
        const { view } = await bus.snapshot();
        const all = await Promise.all([...view.epics.keys()].sort().map((id) => bus.published(id)));
        return { resources: all.flat().map((p) => ({ uri: `archive://${p.path.slice("archive/".length)}`, name: p.path, mimeType: mimeOf(p.file) })) };
      },
    }),
    { title: "Accepted artifacts", description: "Each epic's accepted artifacts, per iteration, exactly as accepted (archive/<epic>/<iteration>/<file>)." },
    async (uri, vars) => {
      const [id, it, file] = [String(vars.epic_id), String(vars.iteration), String(vars.file)];
      const c = classifyPath(`artifacts/${id}/${file}`);
      const text = c.kind === "artifact" && /^\d+$/.test(it) ? await bus.text(`archive/${id}/${it}/${file}`) : undefined;
      if (text === undefined) throw new ConsensusError(issue("NOT_FOUND", { message: `no accepted artifact at ${uri.href}`, found: uri.href, fix: "List the resources, or call task, for the accepted artifacts." }));
      return { contents: [{ uri: uri.href, mimeType: mimeOf(file), text }] };
    },
  );
}

const mimeOf = (file: string): string => (file.endsWith(".json") ? "application/json" : file.endsWith(".md") ? "text/markdown" : "application/yaml");

/** The role's prompt: consensus.yaml's agents.<role>.prompt, else agents/<role>.md beside the bus, else the packaged one. */
async function promptPath(ctx: McpContext, bus: BusReader): Promise<string> {
  const { pipeline } = await bus.snapshot();
  const configured = pipeline.agents.get(ctx.role)?.prompt;
  const candidates = [configured ? join(dirname(resolve(ctx.root)), configured) : undefined, join(agentsDirOf(ctx.root), `${ctx.role}.md`), join(packageRoot, "agents", `${ctx.role}.md`)];
  const found = candidates.find((p): p is string => p !== undefined && existsSync(p));
  if (!found) throw new ConsensusError(issue("NOT_FOUND", { message: `no prompt for role ${ctx.role}`, found: candidates.filter(Boolean).join(", "), fix: `Write agents/${ctx.role}.md beside the consensus/ folder.` }));
  return found;
}
