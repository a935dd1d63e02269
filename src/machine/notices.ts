/**
 * Notices beyond the stage notices (effects.ts): what an author is told about a file that nothing
 * reads, a file accepted with warnings, a veto copy, and what a role is told about a message to it
 * that was rejected. Each derived from the committed entry alone, like every effect. Pure.
 */
import type { Pipeline } from "../config/pipeline.js";
import type { LogEntry } from "../schemas/types.gen.js";
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
