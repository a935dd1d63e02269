/**
 * Every schema in schemas/, compiled at build time (validators.gen.ts, by scripts/gen-validators.mjs),
 * and ajv's errors turned into Issues a person can act on: file, JSON path, what was expected, what was
 * found, and a fix — every error at once, not just the first. No process loads ajv's compiler: loading
 * it and compiling the config schema was the largest part of a command's or the daemon's start.
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import { formatFound, issue, type Issue } from "../errors/issue.js";
import * as compiled from "./validators.gen.js";

export const SCHEMA_BASE = "https://schemas.consensus.dev/v1/";

const validators = compiled as unknown as Record<string, ValidateFunction | undefined>;
/** schemas/<kind>.schema.json's validator in validators.gen.ts (dashes become underscores). */
const compiledOf = (kind: string): ValidateFunction | undefined => (Object.hasOwn(validators, kind.replace(/-/g, "_")) ? validators[kind.replace(/-/g, "_")] : undefined);

export function hasSchema(kind: string): boolean {
  return compiledOf(kind) !== undefined;
}

function validator(kind: string): ValidateFunction {
  const v = compiledOf(kind);
  if (!v) throw new Error(`no schema for kind "${kind}" (schemas/${kind}.schema.json, compiled into validators.gen.ts)`);
  return v;
}

/** Validates a value against schemas/<kind>.schema.json; returns every problem as an Issue. */
export function validateKind(kind: string, value: unknown): Issue[] {
  const v = validator(kind);
  if (v(value)) return [];
  return (v.errors ?? []).filter(isUseful).map(toIssue);
}

/** The schema (or the part of one) a $ref URL names: the document by its $id, then the JSON Pointer after #. */
function schemaAt(documents: ReadonlyMap<string, unknown>, href: string): unknown {
  const [base, pointer = ""] = href.split("#") as [string, string?];
  let node: unknown = documents.get(base);
  for (const raw of pointer.split("/").slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    node = node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}

/** ajv's errors for a value as Issues (every useful one), for validators compiled elsewhere (the MCP tools' inputs). */
export function issuesOfErrors(errors: readonly ErrorObject[] | null | undefined): Issue[] {
  return (errors ?? []).filter(isUseful).map(toIssue);
}

// "if" only repeats what its "then" errors say; under a failing "contains", ajv reports every item
// that did not match, which says nothing the contains error does not.
const isUseful = (e: ErrorObject): boolean => e.keyword !== "if" && !e.schemaPath.includes("/contains/");

const where = (p: string): string => (p === "" ? "the document" : p);

export function toIssue(e: ErrorObject): Issue {
  const p = e.params as Record<string, unknown>;
  const desc = (e.parentSchema as { description?: string } | undefined)?.description;
  switch (e.keyword) {
    case "required": {
      const path = `${e.instancePath}/${String(p.missingProperty)}`;
      return issue("SCHEMA", { message: `missing required field "${String(p.missingProperty)}"`, path, expected: "a value", found: "nothing", fix: `Add "${String(p.missingProperty)}" to ${where(e.instancePath)}.` });
    }
    case "type":
      return issue("SCHEMA", { message: `wrong type at ${where(e.instancePath)}`, path: e.instancePath, expected: String(p.type), found: `${typeName(e.data)} ${formatFound(e.data)}`, fix: `Change ${where(e.instancePath)} to a${/^[aeiou]/.test(String(p.type)) ? "n" : ""} ${String(p.type)}.` });
    case "enum":
    case "const": {
      const allowed = e.keyword === "enum" ? (p.allowedValues as unknown[]) : [p.allowedValue];
      return issue("SCHEMA", { message: `value not allowed at ${where(e.instancePath)}`, path: e.instancePath, expected: `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`, found: formatFound(e.data), fix: `Set ${where(e.instancePath)} to ${allowed.map((a) => JSON.stringify(a)).join(" or ")}.` });
    }
    case "format":
      return issue("SCHEMA", { message: `bad ${String(p.format)} at ${where(e.instancePath)}`, path: e.instancePath, expected: p.format === "date-time" ? "an RFC 3339 timestamp" : `format ${String(p.format)}`, found: formatFound(e.data), fix: p.format === "date-time" ? `Write a timestamp with a zone, such as "2026-11-21T10:00:00Z".` : `Write ${where(e.instancePath)} as a ${String(p.format)}.` });
    case "minItems":
      return issue("SCHEMA", { message: `too few items at ${where(e.instancePath)}`, path: e.instancePath, expected: `at least ${String(p.limit)} item(s)`, found: `${Array.isArray(e.data) ? e.data.length : 0}`, fix: `Add at least ${String(p.limit)} item(s) to ${where(e.instancePath)}${desc ? ` (${desc})` : ""}.` });
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return issue("SCHEMA", { message: `number out of range at ${where(e.instancePath)}`, path: e.instancePath, expected: `${String(p.comparison)} ${String(p.limit)}`, found: formatFound(e.data), fix: `Make ${where(e.instancePath)} ${String(p.comparison)} ${String(p.limit)}.` });
    case "pattern":
      return issue("SCHEMA", { message: `value does not match the expected pattern at ${where(e.instancePath)}`, path: e.instancePath, expected: `text matching ${String(p.pattern)}`, found: formatFound(e.data), fix: `Rewrite ${where(e.instancePath)} to match ${String(p.pattern)}.` });
    case "minLength":
    case "maxLength":
      return issue("SCHEMA", { message: `text length out of range at ${where(e.instancePath)}`, path: e.instancePath, expected: `${e.keyword === "minLength" ? "at least" : "at most"} ${String(p.limit)} characters`, found: formatFound(e.data), fix: `Change the length of ${where(e.instancePath)}.` });
    case "contains":
      return issue("SCHEMA", { message: `${where(e.instancePath)} lacks a required item${desc ? `: ${desc}` : ""}`, path: e.instancePath, expected: desc ?? "a matching item", found: formatFound(e.data), fix: desc ? `Add ${lowerFirst(desc)} to ${where(e.instancePath)}.` : `Add the missing item to ${where(e.instancePath)}.` });
    case "additionalProperties":
      return issue("SCHEMA", { message: `unknown field "${String(p.additionalProperty)}" at ${where(e.instancePath)}`, path: `${e.instancePath}/${String(p.additionalProperty)}`, expected: "no such field", found: String(p.additionalProperty), fix: `Remove "${String(p.additionalProperty)}" or check its spelling.` });
    case "minProperties":
      return issue("SCHEMA", { message: `${where(e.instancePath)} is empty`, path: e.instancePath, expected: `at least ${String(p.limit)} entr${p.limit === 1 ? "y" : "ies"}`, found: formatFound(e.data), fix: `Add at least ${String(p.limit)} entr${p.limit === 1 ? "y" : "ies"} to ${where(e.instancePath)}.` });
    default:
      return issue("SCHEMA", { message: `${where(e.instancePath)} ${e.message ?? "is not valid"}`, path: e.instancePath, expected: desc ?? e.message ?? "a valid value", found: formatFound(e.data), fix: `Edit ${where(e.instancePath)} so it ${e.message ?? "is valid"}.` });
  }
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);
function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

type SchemaNode = Record<string, unknown>;

/**
 * Fields the schema does not know (`validate --strict`): agents add fields, which is allowed, but a
 * misspelt optional field is silently ignored unless someone points at it. `documents`: every schema
 * by its $id (readSchemaDocuments()).
 */
export function unknownFields(kind: string, value: unknown, documents: ReadonlyMap<string, unknown>): Issue[] {
  const out: Issue[] = [];
  const deref = (s: unknown, base: string): { s: SchemaNode; base: string } | undefined => {
    if (!s || typeof s !== "object") return undefined;
    const node = s as SchemaNode;
    if (typeof node.$ref === "string") {
      const href = new URL(node.$ref, base).href;
      const target = schemaAt(documents, href);
      return target && typeof target === "object" ? deref(target, href.split("#")[0]!) : undefined;
    }
    return { s: node, base: typeof node.$id === "string" ? node.$id : base };
  };
  const propsOf = (s: unknown, base: string, acc: Map<string, { s: unknown; base: string }>, open: { v: boolean }): void => {
    const d = deref(s, base);
    if (!d) return;
    const props = d.s.properties as Record<string, unknown> | undefined;
    if (props) for (const [k, v] of Object.entries(props)) if (!acc.has(k)) acc.set(k, { s: v, base: d.base });
    if (d.s.additionalProperties && typeof d.s.additionalProperties === "object") open.v = true;
    if (d.s.patternProperties) open.v = true;
    for (const key of ["allOf", "anyOf", "oneOf"]) for (const sub of (d.s[key] as unknown[] | undefined) ?? []) propsOf(sub, d.base, acc, open);
    for (const key of ["then", "else"]) if (d.s[key]) propsOf(d.s[key], d.base, acc, open);
  };
  const walk = (s: unknown, base: string, v: unknown, path: string): void => {
    const d = deref(s, base);
    if (!d || v === null || typeof v !== "object") return;
    if (Array.isArray(v)) {
      if (d.s.items) v.forEach((x, i) => walk(d.s.items, d.base, x, `${path}/${i}`));
      return;
    }
    const props = new Map<string, { s: unknown; base: string }>();
    const open = { v: false };
    propsOf(d.s, d.base, props, open);
    if (props.size === 0) return;
    for (const [k, x] of Object.entries(v)) {
      const p = props.get(k);
      if (p) walk(p.s, p.base, x, `${path}/${k}`);
      else if (!open.v) out.push(issue("UNKNOWN_FIELD", { message: `field "${k}" is not in the ${kind} schema`, path: `${path}/${k}`, found: k, expected: `one of ${[...props.keys()].join(", ")}` }));
    }
  };
  const url = `${SCHEMA_BASE}${kind}.schema.json`;
  walk({ $ref: url }, url, value, "");
  return out;
}
