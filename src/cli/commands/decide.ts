/** `consensus override` and `consensus cancel`: a person's decision, with a reason and a name; the verdict is awaited. */
import { ConsensusError, issue, shellArg } from "../../errors/issue.js";
import { personAs, rootOf, whoAmI, type GlobalOptions } from "../context.js";
import { formatIssuesText } from "../output.js";
import { applyCommandOn } from "../writer.js";

interface WaitFlags {
  /** commander's --no-wait: false when given. */
  wait: boolean;
  timeout: number;
}

async function apply(g: GlobalOptions, cmd: Parameters<typeof applyCommandOn>[1], o: WaitFlags, done: string): Promise<number> {
  const root = rootOf(g);
  const r = await applyCommandOn(g, cmd, { wait: o.wait, timeoutMs: o.timeout });
  if (r.ok === "queued") {
    process.stdout.write(`handed ${cmd.type} ${cmd.epic_id} to the running daemon (--no-wait); see \`consensus log --epic ${shellArg(cmd.epic_id)}\` for its verdict\n`);
    return 0;
  }
  if (!r.ok) {
    process.stderr.write(`${formatIssuesText(r.issues)}\n${cmd.type} ${cmd.epic_id} refused${r.via === "daemon" ? " by the running daemon" : ""}\n`);
    return 1;
  }
  process.stdout.write(`${done} (${r.entries.map((e) => `#${e.seq} ${e.decision}`).join(", ")}${r.via === "daemon" ? "; applied by the running daemon" : ""})\n`);
  return 0;
}

export async function override(g: GlobalOptions, epic: string, o: { reason: string; to?: string; as?: string } & WaitFlags): Promise<number> {
  if (!o.reason.trim()) throw new ConsensusError(issue("REASON_REQUIRED"));
  const as = personAs(o.as);
  return apply(g, { type: "override", epic_id: epic, reason: o.reason, by: whoAmI(), ...(as ? { as } : {}), ...(o.to ? { to: o.to } : {}) }, o, `overrode ${epic}`);
}

export async function cancel(g: GlobalOptions, epic: string, o: { reason: string; as?: string } & WaitFlags): Promise<number> {
  if (!o.reason.trim()) throw new ConsensusError(issue("REASON_REQUIRED"));
  const as = personAs(o.as);
  return apply(g, { type: "cancel", epic_id: epic, reason: o.reason, by: whoAmI(), ...(as ? { as } : {}) }, o, `cancelled ${epic}`);
}
