/**
 * What a path under the root is, from its name alone (no stat, no read): an artifact drop (flat or
 * per-epic), a message in an inbox, a request to the daemon, or something to leave alone. Hostile
 * names — `..`, absolute paths, control characters, ids that are not ids — are refused here. Pure.
 */
import { issue, type Issue } from "../../errors/issue.js";
import { EPIC_ID, NOTICE_PREFIX, ROLE, isIgnoredName } from "../../config/names.js";

export type Classified =
  | { kind: "artifact"; rel: string; name: string; folder?: string }
  | { kind: "message"; rel: string; name: string; inbox: string }
  | { kind: "request"; rel: string; id: string }
  | { kind: "ignored"; rel: string; reason: string }
  | { kind: "invalid"; rel: string; issue: Issue; author?: string };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const MESSAGE_EXT = /\.(ya?ml|json)$/i;

/** `rel` is relative to the root, with forward slashes. */
export function classifyPath(rel: string): Classified {
  if (rel.startsWith("/") || /^[A-Za-z]:/.test(rel)) return invalid(rel, "absolute path");
  const parts = rel.split("/");
  if (parts.some((p) => p === ".." || p === "." || p === "")) return invalid(rel, "path with '..', '.' or an empty segment");
  if (parts.some((p) => CONTROL.test(p))) return invalid(rel, "control character in the name");
  const name = parts[parts.length - 1]!;
  if (parts.some(isIgnoredName) && !(parts[0] === ".consensus" && parts[1] === "requests" && parts.length === 3 && !isIgnoredName(name))) {
    return { kind: "ignored", rel, reason: "dot-file, temporary or editor file" };
  }
  const [top, a, b, c] = parts;
  if (top === "artifacts") {
    if (parts.length === 2) return { kind: "artifact", rel, name: a! };
    if (parts.length === 3) {
      if (!EPIC_ID.test(a!)) return { kind: "invalid", rel, issue: issue("BAD_EPIC_ID", { message: `folder artifacts/${JSON.stringify(a).slice(1, -1)}/ is not a valid epic id`, found: a!, file: rel }) };
      return { kind: "artifact", rel, name: b!, folder: a! };
    }
    return invalid(rel, "artifacts nest one folder deep at most (artifacts/<EPIC>/<file>)");
  }
  if (top === "messages" && a === "inbox") {
    if (parts.length !== 4) return invalid(rel, "messages go in messages/inbox/<role>/<file>");
    if (!ROLE.test(b!)) return { kind: "invalid", rel, issue: issue("BAD_ROLE", { message: `inbox folder ${JSON.stringify(b)} is not a valid role name`, found: b!, file: rel }) };
    if (c!.startsWith(NOTICE_PREFIX)) return { kind: "ignored", rel, reason: "the daemon's own notice" };
    if (!MESSAGE_EXT.test(c!)) return { kind: "invalid", rel, author: b, issue: issue("UNSAFE_PATH", { message: `message file ${c} is not .yaml, .yml or .json`, found: c!, expected: "a .yaml, .yml or .json file", fix: "Rename the message to end in .yaml, .yml or .json.", file: rel }) };
    return { kind: "message", rel, name: c!, inbox: b! };
  }
  if (top === ".consensus" && a === "requests" && parts.length === 3 && b!.endsWith(".json") && !b!.endsWith(".result.json")) {
    return { kind: "request", rel, id: b!.slice(0, -".json".length) };
  }
  return { kind: "ignored", rel, reason: "not a watched location" };
}

function invalid(rel: string, what: string): Classified {
  return { kind: "invalid", rel, issue: issue("UNSAFE_PATH", { message: `unsafe path: ${what}`, found: JSON.stringify(rel), file: rel }) };
}
