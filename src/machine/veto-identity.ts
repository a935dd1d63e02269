/**
 * When two vetoes are "the same" (PROTOCOL §6). Two questions, two answers:
 *
 * - a **copy** (an agent's retry): the same sender saying the same thing about the same epic and
 *   iteration, whatever its id, timestamp or file name — recorded once; the copy is logged as a
 *   duplicate. `copyKey` digests what it says (for a message: from, epic_id, iteration, type, subject,
 *   content, action_needed; for a review.json: the whole document but its timestamp).
 * - **raised again** (a later iteration): for a veto message, the same role and subject; for a
 *   review.json that is not approved, the same role and the same critical and major findings (all
 *   findings when none is critical or major). Raised again escalates the epic; a different finding
 *   is a new veto, and max_iterations stays the cap. `findingsKey` digests those findings.
 *
 * Pure (hashing is deterministic).
 */
import { createHash } from "node:crypto";
import type { Epic, SeenVeto } from "../schemas/types.gen.js";
import type { Decision, Draft } from "./decide.js";

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(",")}}`;
}

const digest = (s: string): string => createHash("sha256").update(s).digest("hex").slice(0, 16);

/** What a veto message says, without its id, timestamp, recipient or file name. */
export function messageCopyKey(m: { from?: unknown; epic_id?: unknown; iteration?: unknown; type?: unknown; subject?: unknown; content?: unknown; action_needed?: unknown }): string {
  return digest(canonical({ from: m.from, epic_id: m.epic_id, iteration: m.iteration, type: m.type, subject: m.subject, content: m.content ?? {}, action_needed: m.action_needed }));
}

/** What a review.json says, without its timestamp. */
export function reviewCopyKey(doc: Record<string, unknown>): string {
  const { timestamp: _t, ...rest } = doc;
  return digest(canonical(rest));
}

type Finding = { severity?: unknown; description?: unknown; file?: unknown };

/** A review's findings that carry its veto: the critical and major ones, else all of them. */
export function vetoFindings(doc: Record<string, unknown>): Finding[] {
  const all = Array.isArray(doc.findings) ? (doc.findings as Finding[]).filter((f) => f && typeof f === "object") : [];
  const grave = all.filter((f) => f.severity === "critical" || f.severity === "major");
  return grave.length ? grave : all;
}

/** The review's veto findings, in words: "critical: SQL injection in login (src/auth.ts); major: …". */
export function describeFindings(findings: Finding[]): string {
  return findings.map((f) => `${String(f.severity)}: ${String(f.description)}${typeof f.file === "string" ? ` (${f.file})` : ""}`).join("; ");
}

/** The findings a review's veto is about, independent of order, case and spacing; undefined without findings. */
export function findingsKey(doc: Record<string, unknown>): string | undefined {
  const fs = vetoFindings(doc);
  if (!fs.length) return undefined;
  const norm = (v: unknown) => (typeof v === "string" ? v.toLowerCase().replace(/\s+/g, " ").trim() : "");
  return digest(
    fs
      .map((f) => `${norm(f.severity)}|${norm(f.description)}|${norm(f.file)}`)
      .sort()
      .join("\n"),
  );
}

/**
 * A copy of a recorded veto: logged once as veto_duplicate, naming the file (and message id) that
 * recorded it; nothing else happens (no second open veto, no conflict, no notice).
 */
export function duplicateVeto(input: { file: string; sha256: string }, seen: SeenVeto, epic: Epic): Decision {
  const draft: Draft = {
    decision: "veto_duplicate",
    epic_id: epic.epic_id,
    iteration: epic.iteration,
    details: {
      file: input.file,
      sha256: input.sha256,
      from: seen.from,
      subject: seen.subject,
      duplicate_of: { ...(seen.file ? { file: seen.file } : {}), ...(seen.message_id ? { message_id: seen.message_id } : {}), ...(seen.sha256 ? { sha256: seen.sha256 } : {}), iteration: seen.iteration },
      reason: `the same veto again (${seen.from}: ${seen.subject}, iteration ${seen.iteration}): it is recorded once, and stays in force as recorded`,
    },
  };
  return { kind: "commit", drafts: [draft] };
}
