/**
 * A file's bytes → the document decide() works on: parse, normalise, validate against its kind's
 * schema, and for messages accept the compact JSON form. Pure; every problem comes back as an Issue.
 */
import { issue, type Issue } from "../errors/issue.js";
import { formatOf, parseDocument } from "./parse.js";
import { normaliseDocument } from "./normalise.js";
import { hasSchema, validateKind } from "./registry.js";
import { placeholderIssues } from "./placeholders.js";
import { describeLookalikes, lookalikes } from "./lookalike.js";
import type { CompactMessage, Message } from "./types.gen.js";

/** A message in the envelope form of PROTOCOL §5; the compact form, which has no iteration, is converted to it. */
export type Envelope = Pick<Message, "id" | "from" | "to" | "timestamp" | "epic_id" | "type" | "subject" | "content" | "action_needed"> & { iteration?: number };

export interface Interpreted<T = unknown> {
  doc?: T;
  issues: Issue[];
}

/** The schema kind of an artifact file name: plan.json → plan, cicd.yaml → cicd, runbook.md → runbook. */
export const kindOfArtifact = (name: string): string => name.replace(/\.(json|ya?ml|md)$/i, "");

export function interpretArtifact(name: string, bytes: Uint8Array): Interpreted {
  const format = formatOf(name);
  if (!format) return { issues: [issue("UNKNOWN_ARTIFACT", { message: `${name} is not a .json, .yaml or .md file`, found: name })] };
  return interpretAs(kindOfArtifact(name), format, bytes);
}

export function interpretAs(kind: string, format: "json" | "yaml" | "md", bytes: Uint8Array): Interpreted {
  const parsed = parseDocument(bytes, format);
  if (parsed.value === undefined) return { issues: parsed.issues };
  const issues = [...parsed.issues];
  let value: unknown = parsed.value;
  if (format !== "md") {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return { issues: [...issues, issue("NOT_AN_OBJECT", { path: "", found: Array.isArray(value) ? "an array" : JSON.stringify(value)?.slice(0, 40) ?? "nothing" })] };
    }
    const n = normaliseDocument(value);
    value = n.value;
    issues.push(...n.issues);
  }
  if (!hasSchema(kind)) return { issues: [...issues, issue("UNKNOWN_ARTIFACT", { message: `no schema for ${kind} (schemas/${kind}.schema.json)`, found: kind })] };
  issues.push(...validateKind(kind, value));
  return { doc: value, issues: format === "md" ? issues : refined(value as Record<string, unknown>, issues) };
}

/** The identifying fields a look-alike character breaks: ids, roles, subjects. */
const ID_FIELDS = ["epic_id", "epic", "from", "to", "r", "subject", "id", "agent"];

/**
 * The schema's errors said in the terms of their cause: a template word copied from a prompt
 * (placeholders.ts), a character that only looks like ASCII (lookalike.ts). Those replace the schema's
 * own error for the same field.
 */
export function refined(doc: Record<string, unknown>, issues: Issue[]): Issue[] {
  const found = [...placeholderIssues(doc)];
  for (const key of ID_FIELDS) {
    const v = doc[key];
    if (typeof v !== "string" || found.some((i) => i.path === `/${key}`)) continue;
    const { chars, suggestion } = lookalikes(v);
    if (!chars.length) continue;
    found.push(
      issue("LOOKALIKE", {
        message: `${key} ${JSON.stringify(v)} has ${chars.length === 1 ? "a character" : `${chars.length} characters`} that only look${chars.length === 1 ? "s" : ""} like ASCII: ${describeLookalikes(chars)}`,
        path: `/${key}`,
        found: JSON.stringify(v),
        expected: suggestion !== undefined ? JSON.stringify(suggestion) : "plain ASCII",
        ...(suggestion !== undefined ? { fix: `Write ${JSON.stringify(suggestion)} (plain ASCII).` } : {}),
      }),
    );
  }
  if (!found.length) return issues;
  const covered = new Set(found.map((i) => i.path));
  return [...issues.filter((i) => !(i.code === "SCHEMA" && i.path !== undefined && covered.has(i.path))), ...found];
}

const COMPACT_TYPES: Record<CompactMessage["st"], Envelope["type"]> = {
  request: "request",
  response: "response",
  veto: "veto",
  approval: "approve",
  status: "info",
  handoff: "info",
  planning: "info",
};

/** A message in either form, as the envelope of PROTOCOL §5. `inbox` is the folder it was found in. */
export function interpretMessage(name: string, bytes: Uint8Array, inbox: string): Interpreted<Envelope> {
  const format = formatOf(name);
  if (format !== "json" && format !== "yaml") return { issues: [issue("UNSAFE_PATH", { message: `${name} is not a .yaml, .yml or .json message`, found: name })] };
  const parsed = parseDocument(bytes, format);
  if (parsed.value === undefined) return { issues: parsed.issues };
  const v = parsed.value as Record<string, unknown>;
  if (v && typeof v === "object" && !Array.isArray(v) && "st" in v && !("type" in v)) {
    const issues = refined(v, [...parsed.issues, ...validateKind("message-compact", v)]);
    if (issues.some((i) => i.severity === "error")) return { issues };
    return { doc: fromCompact(v as CompactMessage, inbox), issues };
  }
  const r = interpretAs("message", format, bytes);
  return { ...(r.doc !== undefined ? { doc: r.doc as Envelope } : {}), issues: r.issues };
}

export function fromCompact(c: CompactMessage, inbox: string): Envelope {
  const type = COMPACT_TYPES[c.st];
  const d = String(c.d);
  const timestamp = /T/.test(d) ? d : `${d}T00:00:00Z`;
  const subject = c.subject ?? (type === "veto" ? slug(c.sm[0]) : undefined);
  const env: Envelope = {
    from: c.r,
    to: inbox,
    timestamp,
    epic_id: c.epic,
    type,
    content: {
      violation: c.sm.join("; "),
      specifics: c.sm[0],
      ...(c.nx ? { next_actions: c.nx } : {}),
      ...(c.artifacts ? { artifacts: c.artifacts } : {}),
    },
  };
  if (c.i !== undefined) env.iteration = c.i;
  if (subject) env.subject = subject;
  return env;
}

const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 48) || "veto";
