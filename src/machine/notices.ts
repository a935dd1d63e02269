/**
 * Notices beyond the stage notices (effects.ts): what an author is told about a file that nothing
 * reads or a file accepted with warnings, what a role is told about a message in its inbox that was
 * rejected, and what a stage notice says of the veto or override that caused it. Each derived from
 * the committed entry alone, like every effect. Pure.
 */
import type { Pipeline } from "../config/pipeline.js";
import type { LogEntry, Veto } from "../schemas/types.gen.js";
import type { Effect, NoticeDoc } from "./effects.js";

const pad = (n: number): string => String(n).padStart(8, "0");
type D = Record<string, unknown>;

/** An `info` notice about entry `e` for `role`, named `notice-<seq>-<epic>-<subject>.yaml`. */
export function infoNotice(e: LogEntry, role: string, subject: string, content: D): Effect {
  const seq = e.seq ?? 0;
  const notice: NoticeDoc = {
    id: `notice-${pad(seq)}`,
    from: "orchestrator",
    to: role,
    timestamp: e.timestamp,
    ...(e.epic_id ? { epic_id: e.epic_id } : {}),
    ...(e.iteration ? { iteration: e.iteration } : {}),
    type: "info",
    subject,
    content,
  };
  return { type: "notice", role, name: `notice-${pad(seq)}-${e.epic_id ?? "unknown"}-${subject}.yaml`, notice };
}

/** A configured role named by the entry's details under `key`, if any. */
export function roleIn(d: D, key: string, pipeline: Pipeline): string | undefined {
  const r = d[key];
  return typeof r === "string" && pipeline.isRole(r) ? r : undefined;
}

/** file_ignored: the author, when the file names one, is told where the file was meant to go. */
export function strayNotices(e: LogEntry, pipeline: Pipeline): Effect[] {
  const d = (e.details ?? {}) as D;
  const author = roleIn(d, "author", pipeline);
  if (!author) return [];
  return [infoNotice(e, author, "file_ignored", { file: d.file, sha256: d.sha256, reason: d.reason, ...(d.did_you_mean ? { did_you_mean: d.did_you_mean } : {}), fix: d.fix })];
}

/** An open veto as a notice shows it: who, what, why, what to do, and the file that raised it. */
export function vetoForNotice(v: Veto): Record<string, unknown> {
  const out: Record<string, unknown> = { from: v.from, subject: v.subject, iteration: v.iteration, stage: v.stage };
  for (const k of ["violation", "specifics", "impact", "requirement", "suggestion", "action_needed"] as const) if (v[k]) out[k] = v[k];
  if (v.file) out.veto_file = v.file;
  return out;
}

/** Why a stage was entered again: the veto that sent the epic back, or a person's override and its reason. */
export function reworkCause(d: D, vetoes: Array<Record<string, unknown>>): D {
  const veto = d.veto as { from?: unknown; subject?: unknown } | undefined;
  if (veto) {
    const v = vetoes.find((x) => x.from === veto.from && x.subject === veto.subject);
    return { veto: v ?? { from: veto.from, subject: veto.subject } };
  }
  const o = d.override as { by?: unknown; reason?: unknown } | undefined;
  if (o) return { override: { by: o.by, reason: o.reason, note: "A person overrode the epic to this stage (consensus override); it is not a veto. Do the stage's work for this iteration, taking the reason into account." } };
  return {};
}

/** An accepted file with warnings (a normalised value, a far timestamp): its author is told what to write next time. */
export function warningNotices(e: LogEntry, pipeline: Pipeline): Effect[] {
  const d = (e.details ?? {}) as D;
  if (!Array.isArray(d.warnings) || !d.warnings.length || typeof d.file !== "string") return [];
  const author = e.decision === "message_accepted" ? roleIn(d, "from", pipeline) : pipeline.stageOfArtifact(d.file.slice(d.file.lastIndexOf("/") + 1))?.owner;
  if (!author) return [];
  return [infoNotice(e, author, "accepted_with_warnings", { file: d.file, sha256: d.sha256, warnings: d.warnings, fix: "Nothing to redo: the file was accepted as read. Write these values as each warning says next time." })];
}

/**
 * A message rejected stays where it was written; the role whose inbox holds it is told it is not in
 * force (its sender got the rejection), so it can tell it from a message in force by this notice.
 */
export function notInForceNotices(e: LogEntry, pipeline: Pipeline): Effect[] {
  const d = (e.details ?? {}) as D;
  if (e.decision !== "message_rejected" || typeof d.file !== "string") return [];
  const m = /^messages\/inbox\/([^/]+)\/[^/]+$/.exec(d.file);
  const inbox = m?.[1];
  if (!inbox || !pipeline.isRole(inbox) || inbox === d.author) return [];
  const errors = Array.isArray(d.errors) ? (d.errors as Array<{ message?: unknown }>) : [];
  // no sender known (nothing was read: a link, a FIFO, a file over the cap): nobody else is told, so
  // the role whose inbox holds it gets every error with its fix
  const told = typeof d.author === "string" && pipeline.isRole(d.author);
  return [
    infoNotice(e, inbox, "message_not_in_force", {
      file: d.file,
      in_force: false,
      ...(typeof d.author === "string" ? { from: d.author } : {}),
      reason: errors.map((x) => String(x.message)).join("; ") || "rejected",
      ...(told ? {} : { errors: d.errors }),
      note: told
        ? "Do not act on this message: it was rejected and its sender told. It stays in your inbox; this notice is what marks it as not in force."
        : "Do not act on this message: it was rejected, and no sender could be told (none could be read from it). It stays in your inbox; this notice is what marks it as not in force, and its errors say how to clear it.",
    }),
  ];
}
