/**
 * The tools' input schemas: plain JSON Schema (draft-07 keywords only, which every MCP client reads),
 * shown to the model as written and checked by the same ajv as the bus's own schemas, so a bad call
 * gets the CLI's kind of error (path, expected, found, fix) instead of the SDK's one-line message.
 *
 * The SDK takes zod schemas: each tool gets an open zod object that accepts any arguments and carries
 * the JSON Schema as its metadata (zod puts metadata into the JSON Schema the SDK lists); the check
 * happens in check(), before the tool does anything.
 */
import { z } from "zod";
import type { Issue } from "../../errors/issue.js";
import { validateAgainst } from "./input-validator.js";

export type JsonSchema = Record<string, unknown>;

export interface ToolInput<T> {
  /** What registerTool takes as inputSchema. */
  readonly zod: z.ZodType<Record<string, unknown>>;
  /** Every problem with the arguments at once; none means they are a T. */
  check(args: unknown): { ok: true; value: T } | { ok: false; issues: Issue[] };
}

export function toolInput<T>(name: string, properties: Record<string, JsonSchema>, required: string[] = []): ToolInput<T> {
  const schema: JsonSchema = { type: "object", properties, required, additionalProperties: false };
  const withId = { $id: `https://schemas.consensus.dev/v1/mcp/${name}.input.json`, ...schema };
  return {
    zod: z.looseObject({}).meta(schema),
    check(args) {
      const issues = validateAgainst(withId, args ?? {});
      return issues.length ? { ok: false, issues } : { ok: true, value: args as T };
    },
  };
}

const NAME = "^[A-Za-z][A-Za-z0-9_-]{0,63}$";
export const epicId: JsonSchema = { type: "string", pattern: NAME, description: "The epic id, such as EP-001." };
export const role: JsonSchema = { type: "string", pattern: NAME, description: "A role named in consensus.yaml, such as planner, developer, quality, devops." };
export const fileName: JsonSchema = { type: "string", pattern: "^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$", description: "A file name without folders, such as plan.json, cicd.yaml or runbook.md." };
export const documentContent: JsonSchema = {
  type: ["string", "object"],
  description: "The whole document: its text (JSON, YAML or Markdown, as the file name says), or for a .json or .yaml file the object itself.",
};

export const vetoContent: JsonSchema = {
  type: "object",
  description: "The body. A veto needs violation and specifics; impact, requirement, suggestion and location help the receiver fix it; blocking false only logs it. Other types may carry any fields (a note, questions).",
  properties: {
    violation: { type: "string", minLength: 1, description: "The rule or requirement broken, e.g. Missing critical production requirement." },
    specifics: { type: "string", minLength: 1, description: "What exactly is wrong, e.g. No health check endpoint defined." },
    impact: { type: "string", minLength: 1, description: "What goes wrong if it ships as it is." },
    requirement: { type: "string", minLength: 1, description: "What must be true for the veto to be lifted." },
    suggestion: { type: "string", minLength: 1, description: "A suggested fix." },
    location: { type: "string", minLength: 1, description: "Where the problem is (file, line, component)." },
    blocking: { type: "boolean", description: "Whether the veto stops promotion and sends the epic back (default true)." },
  },
};

export type Content = string | Record<string, unknown>;
export interface ValidateArgs { content: Content; file?: string; kind?: string; epic_id?: string }
export interface ArtifactArgs { epic_id: string; file: string; content: Content }
export interface MessageArgs { epic_id: string; type: (typeof MESSAGE_TYPES)[number]; subject?: string; to?: string; iteration?: number; content?: Record<string, unknown>; action_needed?: string }
export interface LogArgs { epic_id?: string; decision?: string; limit?: number }
export interface TaskArgs {
  epic_id?: string;
  /** Include the text of every file to read (default false: paths only). */
  contents?: boolean;
  /** Include the JSON Schema of every file to produce (default true). */
  schemas?: boolean;
}

/** Each tool's input schema. */
export const MESSAGE_TYPES = ["approve", "veto", "request", "response", "info"] as const;

export const inputs = {
  task: toolInput<TaskArgs>("task", {
    epic_id: { ...epicId, description: "Only this epic (default: every epic in progress)." },
    contents: { type: "boolean", description: "Include the text of every file to read (default false: paths only; read them as resources or files)." },
    schemas: { type: "boolean", description: "Include the JSON Schema of every file to produce (default true)." },
  }),
  validate: toolInput<ValidateArgs>("validate", {
    content: documentContent,
    file: { ...fileName, description: "The file name it will have (plan.json, cicd.yaml, runbook.md …); says its kind and format. Give file or kind." },
    kind: { type: "string", pattern: "^[a-z][a-z0-9-]*$", description: "The schema kind instead of a file name: plan, implementation, review, deployment, cicd, runbook, message, …" },
    epic_id: { ...epicId, description: "Also check it against this epic as it stands now (stage, iteration); default: the document's own epic_id." },
  }, ["content"]),
  submit_artifact: toolInput<ArtifactArgs>("submit_artifact", {
    epic_id: epicId,
    file: { ...fileName, description: "The artifact's file name, one of your stage's (the task tool lists them): plan.json, implementation.json, review.json, deployment.json, cicd.yaml, runbook.md …" },
    content: documentContent,
  }, ["epic_id", "file", "content"]),
  send_message: toolInput<MessageArgs>("send_message", {
    epic_id: epicId,
    type: { enum: [...MESSAGE_TYPES], description: "approve (you approve this iteration; it also resolves your own open veto), veto (you block it: needs subject and content.violation and content.specifics), request, response or info." },
    subject: { type: "string", pattern: "^[A-Za-z0-9_.:-]{1,128}$", description: "Short snake_case topic, e.g. missing_health_check. Required for a veto: the same subject vetoed twice escalates the epic to a person." },
    to: { ...role, description: "The receiving role. Default: the owner of the stage a veto sends the epic back to, or of the epic's current stage." },
    iteration: { type: "integer", minimum: 1, description: "The iteration it is about (default: the epic's current one)." },
    content: vetoContent,
    action_needed: { type: "string", minLength: 1, description: "What the receiver should do, e.g. add_health_monitoring." },
  }, ["epic_id", "type"]),
  inbox: toolInput<{ epic_id?: string }>("inbox", { epic_id: { ...epicId, description: "Only this epic." } }),
  status: toolInput<{ epic_id?: string }>("status", { epic_id: { ...epicId, description: "Only this epic (default: all)." } }),
  log: toolInput<LogArgs>("log", {
    epic_id: { ...epicId, description: "Only this epic's entries." },
    decision: { type: "string", pattern: "^[a-z_]{1,64}$", description: "Only this decision (artifact_rejected, veto_recorded, stage_advanced …)." },
    limit: { type: "integer", minimum: 1, maximum: 1000, description: "At most this many, the latest (default 200)." },
  }),
};
