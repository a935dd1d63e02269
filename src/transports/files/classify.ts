/**
 * What a path under the root is, from its name alone (no stat, no read): an artifact drop (flat or
 * per-epic), a message in an inbox, a request to the daemon, a file the layout does not expect there
 * (a stray: reported once per content, with the path it was probably meant for), or something to
 * leave alone (part of the layout, the daemon's own, or an editor's temporary). Hostile names — `..`,
 * absolute paths, control characters, ids that are not ids — are refused here. Pure.
 */
import { issue, type Issue } from "../../errors/issue.js";
import { EPIC_ID, NOTICE_PREFIX, ROLE, isIgnoredName } from "../../config/names.js";
import { describeLookalikes, lookalikes } from "../../schemas/lookalike.js";
import type { Pipeline } from "../../config/resolve.js";

export type Classified =
  | { kind: "artifact"; rel: string; name: string; folder?: string }
  | { kind: "message"; rel: string; name: string; inbox: string }
  | { kind: "request"; rel: string; id: string }
  | { kind: "ignored"; rel: string; reason: string }
  /** Not where the layout expects anything; `suggest` is the path it was likely meant for. */
  | { kind: "stray"; rel: string; reason: string; suggest?: string }
  | { kind: "invalid"; rel: string; issue: Issue; author?: string };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const MESSAGE_EXT = /\.(ya?ml|json)$/i;

/**
 * Where an epic's artifacts for a stage can be dropped (root-relative): in the epic's own folder and
 * flat in artifacts/ (PROTOCOL §2). What a stage entry's rescan looks at, on either store.
 */
export function stageDropPaths(rules: Pick<Pipeline, "stage">, epicId: string, stageId: string): string[] {
  return (rules.stage(stageId)?.artifacts ?? []).flatMap((a) => [`artifacts/${epicId}/${a}`, `artifacts/${a}`]);
}

/** `rel` is relative to the root, with forward slashes. */
export function classifyPath(rel: string): Classified {
  if (rel.startsWith("/") || /^[A-Za-z]:/.test(rel)) return invalid(rel, "absolute path");
  const parts = rel.split("/");
  if (parts.some((p) => p === ".." || p === "." || p === "")) return invalid(rel, "path with '..', '.' or an empty segment");
  if (parts.some((p) => CONTROL.test(p))) return invalid(rel, "control character in the name");
  // a name that is not UTF-8 arrives with U+FFFD in place of its bytes: it cannot be opened by this name
  if (parts.some((p) => p.includes("\uFFFD"))) return { kind: "invalid", rel, issue: issue("UNSAFE_PATH", { message: "unsafe path: the name is not valid UTF-8 (U+FFFD stands where its bytes could not be decoded)", found: JSON.stringify(rel), expected: "a UTF-8 name", file: rel, fix: "Rename it to a UTF-8 name (`convmv -f latin1 -t utf8 --notest FILE`; `ls -b` shows its bytes), or delete it." }) };
  const name = parts[parts.length - 1]!;
  if (parts.some(isIgnoredName) && !(parts[0] === ".consensus" && parts[1] === "requests" && parts.length === 3 && !isIgnoredName(name))) {
    return { kind: "ignored", rel, reason: "dot-file, temporary or editor file" };
  }
  const [top, a, b, c] = parts;
  if (top === "artifacts") {
    if (parts.length === 2) return { kind: "artifact", rel, name: a! };
    if (parts.length === 3) {
      if (!EPIC_ID.test(a!)) return { kind: "invalid", rel, issue: badFolder(a!, rel) };
      return { kind: "artifact", rel, name: b!, folder: a! };
    }
    return stray(rel, "artifacts nest one folder deep at most (artifacts/<EPIC>/<file>)", EPIC_ID.test(a!) ? `artifacts/${a}/${name}` : undefined);
  }
  if (top === "messages" && a === "inbox") {
    if (parts.length === 3) return stray(rel, "a message lies in messages/inbox/ itself, not in a role's inbox");
    if (parts.length !== 4) return stray(rel, "messages go in messages/inbox/<role>/<file>, one folder deep", ROLE.test(b!) ? `messages/inbox/${b}/${name}` : undefined);
    if (!ROLE.test(b!)) return { kind: "invalid", rel, issue: issue("BAD_ROLE", { message: `inbox folder ${JSON.stringify(b)} is not a valid role name`, found: b!, file: rel }) };
    if (c!.startsWith(NOTICE_PREFIX)) return { kind: "ignored", rel, reason: "the daemon's own notice" };
    if (!MESSAGE_EXT.test(c!)) return { kind: "invalid", rel, author: b, issue: issue("UNSAFE_PATH", { message: `message file ${c} is not .yaml, .yml or .json`, found: c!, expected: "a .yaml, .yml or .json file", fix: "Rename the message to end in .yaml, .yml or .json.", file: rel }) };
    return { kind: "message", rel, name: c!, inbox: b! };
  }
  if (top === ".consensus") {
    if (a === "requests" && parts.length === 3 && b!.endsWith(".json") && !b!.endsWith(".result.json")) return { kind: "request", rel, id: b!.slice(0, -".json".length) };
    return { kind: "ignored", rel, reason: "the daemon's private area" };
  }
  if (top === "messages") {
    if (parts.length === 3 && ROLE.test(a!)) return stray(rel, "messages/<role>/ is not an inbox", `messages/inbox/${a}/${name}`);
    return stray(rel, "messages go in messages/inbox/<role>/<file>");
  }
  if (DAEMON_AREAS.has(top!)) return { kind: "ignored", rel, reason: "written by the daemon" };
  if (parts.length === 1 && LAYOUT_FILES.has(name)) return { kind: "ignored", rel, reason: "part of the layout" };
  if (top === "epics") {
    if (parts.length === 3 && name === "epic.md") return { kind: "ignored", rel, reason: "an epic's description" };
    return stray(rel, "epics/<EPIC>/ holds the epic's epic.md; drops go to artifacts/ and messages/inbox/<role>/", parts.length === 3 && EPIC_ID.test(a!) ? `artifacts/${a}/${name}` : undefined);
  }
  return stray(rel, parts.length === 1 ? "the root holds the layout's folders, consensus.yaml and README.md" : `${top}/ is not part of the layout`, nestedDrop(parts));
}

/** Folders only the daemon writes: never read as drops, never reported. */
const DAEMON_AREAS = new Set(["current", "archive", "logs"]);
/** Files at the root that belong there. */
const LAYOUT_FILES = new Set(["consensus.yaml", "README.md"]);

/** An epic folder whose name is not an id; a look-alike character is named with its code point and the ASCII id suggested. */
function badFolder(name: string, rel: string): Issue {
  const { chars, suggestion } = lookalikes(name);
  const shown = JSON.stringify(name).slice(1, -1);
  if (!chars.length) return issue("BAD_EPIC_ID", { message: `folder artifacts/${shown}/ is not a valid epic id`, found: name, file: rel });
  return issue("LOOKALIKE", {
    message: `folder artifacts/${shown}/ has ${chars.length === 1 ? "a character" : "characters"} that only look like ASCII: ${describeLookalikes(chars)}`,
    found: name,
    file: rel,
    ...(suggestion !== undefined && EPIC_ID.test(suggestion) ? { expected: suggestion, fix: `Drop it in artifacts/${suggestion}/ (plain ASCII).` } : {}),
  });
}

function stray(rel: string, reason: string, suggest?: string): Classified {
  return { kind: "stray", rel, reason, ...(suggest !== undefined ? { suggest } : {}) };
}

/**
 * A drop one folder off: the part of the path from its last `artifacts/` or `messages/` segment on,
 * when that part is a drop (`consensus/artifacts/EP-001/plan.json` → `artifacts/EP-001/plan.json`).
 */
function nestedDrop(parts: string[]): string | undefined {
  for (let i = parts.length - 2; i > 0; i--) {
    if (parts[i] !== "artifacts" && parts[i] !== "messages") continue;
    const tail = parts.slice(i).join("/");
    const k = classifyPath(tail).kind;
    return k === "artifact" || k === "message" ? tail : undefined;
  }
  return undefined;
}

function invalid(rel: string, what: string): Classified {
  return { kind: "invalid", rel, issue: issue("UNSAFE_PATH", { message: `unsafe path: ${what}`, found: JSON.stringify(rel), file: rel }) };
}
