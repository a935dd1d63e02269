/**
 * An epic remembers its latest rejected drop, so `status` and `report` can say "the review.json quality
 * dropped was rejected: …" instead of only "waiting for quality to drop review.json". Pure.
 */
import type { Issue } from "../errors/issue.js";
import type { Epic } from "../schemas/types.gen.js";

export type Rejection = NonNullable<Epic["last_rejection"]>;

const MAX_ERRORS = 3;
const cut = (s: string, n = 300): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The epic with `last_rejection` set (only while it is in progress: a closed epic waits for nothing). */
export function withRejection(epic: Epic, r: { file: string; decision: Rejection["decision"]; errors: Issue[]; author?: string; now: string }): Epic {
  if (epic.status !== "in_progress") return epic;
  const last: Rejection = {
    file: r.file,
    decision: r.decision,
    at: r.now,
    stage: epic.stage,
    iteration: epic.iteration,
    ...(r.author ? { author: r.author } : {}),
    errors: r.errors.slice(0, MAX_ERRORS).map((i) => ({ code: i.code, message: cut(i.message), ...(i.path ? { path: i.path } : {}), ...(i.fix ? { fix: cut(i.fix) } : {}) })),
  };
  return { ...epic, last_rejection: last };
}

/** The latest rejection if it still explains the wait: same stage and iteration, and that file not accepted since. */
export function currentRejection(epic: Epic): Rejection | undefined {
  const r = epic.last_rejection;
  if (!r || epic.status !== "in_progress" || r.stage !== epic.stage || r.iteration !== epic.iteration) return undefined;
  const name = r.file.slice(r.file.lastIndexOf("/") + 1);
  return r.decision === "artifact_rejected" && epic.received[name] !== undefined ? undefined : r;
}

/** "review.json rejected at 10:02:11Z: [WRONG_ITERATION] /iteration iteration 1 is not … (fix: …)". */
export function describeRejection(r: Rejection): string {
  const name = r.file.slice(r.file.lastIndexOf("/") + 1);
  const first = r.errors[0];
  const what = first ? `[${first.code}] ${first.path ? `${first.path} ` : ""}${first.message}${first.fix ? ` (fix: ${first.fix})` : ""}` : "no error recorded";
  const more = r.errors.length > 1 ? ` and ${r.errors.length - 1} more` : "";
  return `${name}${r.author ? ` from ${r.author}` : ""} rejected at ${r.at.slice(11, 19)}Z: ${what}${more}`;
}
