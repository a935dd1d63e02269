/**
 * Template words copied from a prompt instead of the value they stand for — the seed prompts write
 * `"iteration": "current"`, `"timestamp": "ISO-8601"`, `"epic_id": "EP-XXX"` — recognised as such, so
 * the error says what to write instead. Pure.
 */
import { issue, type Issue } from "../errors/issue.js";
import { escapePointer } from "./parse.js";

const TEMPLATE = /^\s*([<{[(]\s*[\w .-]*\w[\w .-]*\s*[>}\])]|\$\{?\w+\}?)\s*$/;
const WORDS: Record<string, RegExp> = {
  iteration: /^\s*(current( iteration)?|n|iteration|the current iteration|latest|next|x+)\s*$/i,
  timestamp: /^\s*(iso[- ]?8601|rfc[- ]?3339|now|timestamp|date|datetime|current time|yyyy-mm-dd.*|.*hh:mm(:ss)?.*)\s*$/i,
  epic_id: /^\s*(ep-?x+|ep-?\?+|epic(_id)?|from (the )?\w+|the epic( id)?|ep-?n+|x+)\s*$/i,
};
const FIELDS: Record<string, keyof typeof WORDS> = { iteration: "iteration", i: "iteration", timestamp: "timestamp", d: "timestamp", epic_id: "epic_id", epic: "epic_id" };

const FIX: Record<keyof typeof WORDS, string> = {
  iteration: "Write the epic's current iteration as an integer: the `iteration` of the notice that asked for the work, or of `consensus status EPIC --json`.",
  timestamp: "Write the time you write the file, RFC 3339 with a zone: `date -u +%Y-%m-%dT%H:%M:%SZ`.",
  epic_id: "Write the epic's id: the notice's `epic_id`, which is also the name of its folder under artifacts/.",
};

/** A PLACEHOLDER error for each top-level field that holds a template word instead of a value. */
export function placeholderIssues(doc: Record<string, unknown>): Issue[] {
  const out: Issue[] = [];
  for (const [key, kind] of Object.entries(FIELDS)) {
    const v = doc[key];
    if (typeof v !== "string" || !(WORDS[kind]!.test(v) || TEMPLATE.test(v))) continue;
    out.push(issue("PLACEHOLDER", { message: `${key} is the placeholder ${JSON.stringify(v)}, not a value`, path: `/${escapePointer(key)}`, found: JSON.stringify(v), expected: kind === "iteration" ? "an integer ≥ 1" : kind === "timestamp" ? "an RFC 3339 timestamp with a zone" : "an epic id such as EP-001", fix: FIX[kind] }));
  }
  return out;
}
