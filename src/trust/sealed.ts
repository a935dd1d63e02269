/**
 * Records the daemon and a person's command line hand each other through the private area — a request
 * (`.consensus/requests/<id>.json`) and its result (`<id>.result.json`) — sealed with the daemon key,
 * so a file an agent planted or edited there is told apart from a real one even when agents run as the
 * daemon's user. Pure: the keyring comes in as an argument.
 *
 * A sealed record is one JSON line: `{"v":1,"kind":"request"|"result","id":"<id>","body":"<JSON text>",
 * "mac":"<key id>.<hex>"}`. The MAC covers `kind \n id \n body`, so a request never
 * passes as a result, a record never passes under another id, and the body is checked as the exact bytes
 * it was sealed as (no re-serialising).
 */
import type { Keyring } from "./keyring.js";

/** request, result: person commands and their answers (MAC purpose "request"); rules: the rules in force (purpose "config"). */
export type SealedKind = "request" | "result" | "rules";

const purposeOf = (kind: SealedKind): "request" | "config" => (kind === "rules" ? "config" : "request");

/** A request id: what the file is named (`<id>.json`); the writer makes `<ms>-<uuid>`. */
export const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

const macData = (kind: SealedKind, id: string, body: string): string => `${kind}\n${id}\n${body}`;

/** The sealed record's text (one line, with its newline) for `body`, serialised with JSON.stringify. */
export function sealRecord(keyring: Keyring, kind: SealedKind, id: string, body: unknown): string {
  const text = JSON.stringify(body);
  return `${JSON.stringify({ v: 1, kind, id, body: text, mac: keyring.mac(purposeOf(kind), macData(kind, id, text)) })}\n`;
}

export type Opened = { ok: true; body: unknown } | { ok: false; reason: string };

/**
 * Checks a sealed record's text: its shape, that it is of `kind` and for `id`, and its MAC with any
 * key of the ring not retired. `body` is the parsed body, still unvalidated (check it against its
 * schema). Never throws on bad input: `reason` says what is wrong, for the report.
 */
export function openRecord(keyring: Keyring, kind: SealedKind, id: string, text: string): Opened {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return { ok: false, reason: "not a sealed record (a JSON object)" };
  const r = doc as Record<string, unknown>;
  if (r.v !== 1 || typeof r.body !== "string") return { ok: false, reason: 'not a sealed record: no {"v":1,"body":…,"mac":…}; it was not written by the consensus command line' };
  if (r.kind !== kind) return { ok: false, reason: `sealed as a ${JSON.stringify(r.kind)}, not a ${kind}` };
  if (r.id !== id) return { ok: false, reason: `sealed for id ${JSON.stringify(r.id)}, not ${id} (copied from another request?)` };
  const check = keyring.check(purposeOf(kind), macData(kind, id, r.body), r.mac);
  if (!check.ok) return { ok: false, reason: check.reason };
  try {
    return { ok: true, body: JSON.parse(r.body) };
  } catch {
    return { ok: false, reason: "the body is not JSON" };
  }
}

/**
 * The body of a sealed record WITHOUT checking its MAC, for a reader that cannot hold the key (a
 * read-only command run as another user, such as a CI gate): shape, kind and id are checked, the seal is
 * not. Never for anything that acts; the caller says the rules were not verified.
 */
export function unverifiedBody(kind: SealedKind, id: string, text: string): Opened {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  const r = (typeof doc === "object" && doc !== null ? doc : {}) as Record<string, unknown>;
  if (r.v !== 1 || r.kind !== kind || r.id !== id || typeof r.body !== "string") return { ok: false, reason: "not a sealed record" };
  try {
    return { ok: true, body: JSON.parse(r.body) };
  } catch {
    return { ok: false, reason: "the body is not JSON" };
  }
}
