/**
 * `consensus inbox ROLE`: what is addressed to a role, showing only genuine daemon notices — a notice
 * whose MAC does not verify with the role's notice keys (CONSENSUS_NOTICE_KEY, or derived from the
 * daemon key by whoever can read it), or that no decision of the daemon produced, is skipped and
 * counted, never shown. Messages from roles are listed with their status (in_force, resolved,
 * rejected, pending).
 */
import { ConsensusError, issue } from "../../errors/issue.js";
import { BusReader } from "../../transports/mcp/bus.js";
import { inboxOf, noticeKeysOf } from "../../transports/mcp/inbox.js";
import { keyringOf } from "../../transports/prove.js";
import { printable } from "../../report/plain-text.js";
import { rootOf, type GlobalOptions } from "../context.js";
import { pipelineOf } from "../read-store.js";

export async function inbox(g: GlobalOptions, role: string, o: { epic?: string; json?: boolean }): Promise<number> {
  const root = rootOf(g);
  const pipeline = await pipelineOf(g);
  if (!pipeline.isRole(role)) throw new ConsensusError(issue("UNKNOWN_ROLE", { message: `role "${role}" is not configured`, found: role, expected: pipeline.roles.join(", ") }), 2);
  const bus = new BusReader(root);
  const ring = await keyringOf(root);
  const keys = noticeKeysOf(role, process.env.CONSENSUS_NOTICE_KEY, ring, Date.now());
  const all = await inboxOf(role, bus, await bus.snapshot(), o.epic, keys, ring?.keysForFile());
  const shown = all.items.filter((i) => i.status !== "not_genuine");
  const forged = all.items.filter((i) => i.status === "not_genuine");
  const checked = keys ? "mac" : "log only";
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ role, items: shown, forged_skipped: forged.length, forged: forged.map((f) => ({ file: f.file, reason: f.reason })), notices_checked: checked }, null, 2)}\n`);
    return 0;
  }
  for (const i of shown) {
    const what = [i.kind, i.type, i.subject].filter(Boolean).join(" ");
    process.stdout.write(`${printable(`${i.status.padEnd(9)} ${i.file}  ${what}${i.from ? ` from ${i.from}` : ""}${i.epic_id ? ` (${i.epic_id}${i.iteration ? `, iteration ${i.iteration}` : ""})` : ""}`)}\n`);
  }
  if (!shown.length) process.stdout.write(`nothing in ${role}'s inbox${o.epic ? ` for ${o.epic}` : ""}\n`);
  if (forged.length) process.stderr.write(`${forged.length} forged notice${forged.length === 1 ? "" : "s"} skipped (never act on them): ${forged.map((f) => printable(`${f.file} (${f.reason ?? "not genuine"})`)).join("; ")}\n`);
  if (!keys) process.stderr.write("notices checked against the log only: no notice key (CONSENSUS_NOTICE_KEY) and the daemon key is not readable here\n");
  return 0;
}
