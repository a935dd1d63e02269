/**
 * What a decision touches, and whether another writer's entries touched the same: the fence between
 * daemons sharing one store. An entry belongs to its epic (entries about no epic to the epic "");
 * it may consume an input mark and use up ids (a message id, a signature's nonce). Pure.
 */
import { usedIdsOf } from "../../log/replay.js";
import type { LogEntry } from "../../schemas/types.gen.js";

export interface Touched {
  epics: Set<string>;
  inputs: Set<string>;
  messageIds: Set<string>;
}

export const epicKeyOf = (e: Pick<LogEntry, "epic_id" | "state">): string => e.epic_id ?? e.state?.epic_id ?? "";

export function touchedBy(entries: Iterable<LogEntry>): Touched {
  const t: Touched = { epics: new Set(), inputs: new Set(), messageIds: new Set() };
  for (const e of entries) {
    t.epics.add(epicKeyOf(e));
    if (e.state) t.epics.add(e.state.epic_id);
    if (e.input) t.inputs.add(e.input);
    for (const id of usedIdsOf(e)) t.messageIds.add(id);
  }
  return t;
}

/** The epics (and "" for epic-less entries) both touch, plus a marker for a shared input or message id. */
export function clashes(ours: Touched, theirs: Touched): string[] {
  const out = [...ours.epics].filter((e) => theirs.epics.has(e));
  const shared = [...ours.inputs].some((i) => theirs.inputs.has(i)) || [...ours.messageIds].some((m) => theirs.messageIds.has(m));
  if (shared && !out.length) out.push(...ours.epics);
  return out;
}
