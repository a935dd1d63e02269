/**
 * A request file (.consensus/requests/<id>.json) the daemon will not act on. One the command line
 * sealed but that does not hold a valid command (an older or newer CLI) is refused like any command:
 * its author waits for the answer. One that is not sealed with the daemon key — planted or edited by
 * someone other than a person's command line, such as an agent — is never acted on and never answered:
 * a `request_refused` entry reports it once per content. Pure.
 */
import type { Issue } from "../errors/issue.js";
import type { Decision } from "./decide.js";

export interface RefusedRequestInput {
  type: "request_refused";
  /** The request's path under the root. */
  file: string;
  sha256: string;
  /** Why it is refused, in words ("the MAC does not match: …"). */
  reason: string;
  issues: Issue[];
  /** true: sealed by the command line (answered with the issues); false: forged (reported). */
  sealed: boolean;
}

export function decideRefusedRequest(r: RefusedRequestInput): Decision {
  if (r.sealed) return { kind: "refuse", issues: r.issues };
  return {
    kind: "commit",
    drafts: [{
      decision: "request_refused",
      details: {
        file: r.file,
        sha256: r.sha256,
        reason: r.reason,
        errors: r.issues.map(({ file: _f, ...rest }) => rest),
        fix: r.issues[0]?.fix ?? "Give person commands with the consensus command line.",
      },
    }],
  };
}
