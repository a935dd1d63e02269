/**
 * Stage deadlines are data in each epic's state (deadline.at), never in-memory timers: the daemon only
 * keeps one timer, for the earliest deadline of the view, and on expiry feeds a `deadline` input per
 * overdue epic through decide() like any other input. After a restart the timer is re-armed from the
 * recovered state, and an expiry that passed while nothing ran fires at once. Pure helpers.
 */
import type { Epic } from "../schemas/types.gen.js";

/** The earliest pending deadline (ms since the epoch) of the epics in progress. */
export function earliestDeadline(epics: Iterable<Epic>): number | undefined {
  let min: number | undefined;
  for (const e of epics) {
    if (e.status !== "in_progress" || !e.deadline) continue;
    const at = Date.parse(e.deadline.at);
    if (min === undefined || at < min) min = at;
  }
  return min;
}

/** Epics whose deadline has passed at `nowMs`. */
export function overdue(epics: Iterable<Epic>, nowMs: number): string[] {
  const out: string[] = [];
  for (const e of epics) if (e.status === "in_progress" && e.deadline && Date.parse(e.deadline.at) <= nowMs) out.push(e.epic_id);
  return out;
}

/** setTimeout cannot wait longer than this; a later deadline is re-checked after it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
