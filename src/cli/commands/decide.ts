/** `consensus override` and `consensus cancel`: a person's decision, with a reason and a name. */
import { ConsensusError, issue } from "../../errors/issue.js";
import { whoAmI, type GlobalOptions } from "../context.js";
import { formatIssuesText } from "../output.js";
import { applyCommandOn } from "../writer.js";

async function apply(g: GlobalOptions, cmd: Parameters<typeof applyCommandOn>[1], done: string): Promise<number> {
  const r = await applyCommandOn(g, cmd);
  if (!r.ok) {
    process.stderr.write(`${formatIssuesText(r.issues)}\n`);
    return 1;
  }
  process.stdout.write(`${done} (${r.entries.map((e) => `#${e.seq} ${e.decision}`).join(", ")})\n`);
  return 0;
}

export async function override(g: GlobalOptions, epic: string, o: { reason: string; to?: string }): Promise<number> {
  if (!o.reason.trim()) throw new ConsensusError(issue("REASON_REQUIRED"));
  return apply(g, { type: "override", epic_id: epic, reason: o.reason, by: whoAmI(), ...(o.to ? { to: o.to } : {}) }, `overrode ${epic}`);
}

export async function cancel(g: GlobalOptions, epic: string, o: { reason: string }): Promise<number> {
  if (!o.reason.trim()) throw new ConsensusError(issue("REASON_REQUIRED"));
  return apply(g, { type: "cancel", epic_id: epic, reason: o.reason, by: whoAmI() }, `cancelled ${epic}`);
}
