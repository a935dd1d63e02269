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
import { validateAgainst } from "../../schemas/registry.js";

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
