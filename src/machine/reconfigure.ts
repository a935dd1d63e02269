/**
 * A changed consensus.yaml must never strand an epic in a stage (or mode) the new config no longer
 * has: such epics are escalated, with the reason, so a person moves them on (`consensus override
 * EPIC --to STAGE`). Pure.
 */
import type { Pipeline } from "../config/resolve.js";
import type { Epic } from "../schemas/types.gen.js";

export interface Stranded {
  epic_id: string;
  reason: "stage_removed" | "mode_removed";
  detail: string;
}

export function strandedBy(next: Pipeline, epics: Iterable<Epic>): Stranded[] {
  const out: Stranded[] = [];
  for (const e of epics) {
    if (e.status !== "in_progress") continue;
    if (e.mode !== undefined && !next.forMode(e.mode)) {
      out.push({ epic_id: e.epic_id, reason: "mode_removed", detail: `the new consensus.yaml has no mode "${e.mode}"; modes now: ${Object.keys(next.modes).join(", ") || "none"}` });
      continue;
    }
    const p = next.forMode(e.mode) ?? next;
    if (!p.stage(e.stage)) {
      out.push({ epic_id: e.epic_id, reason: "stage_removed", detail: `the new consensus.yaml has no stage "${e.stage}"${e.mode ? ` in mode ${e.mode}` : ""}; stages now: ${p.stages.map((s) => s.id).join(", ")}` });
    }
  }
  return out;
}
