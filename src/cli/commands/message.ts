/**
 * `consensus approve|veto EPIC --role R --subject S`: a person's message, dropped well-formed into the
 * addressee's inbox, and its verdict: accepted (exit 0) or rejected with the reason (exit 1), whether a
 * daemon decides it or, with none running, this command does. `--no-wait` only drops it.
 */
import { randomUUID } from "node:crypto";
import { dump } from "js-yaml";
import { ROLE } from "../../config/names.js";
import { ConsensusError, issue, type Issue, shellArg } from "../../errors/issue.js";
import { layoutOf } from "../../store/fs/layout.js";
import { summary } from "../../log/summary.js";
import { printable } from "../../report/plain-text.js";
import { personAs, rootOf, whoAmI, type GlobalOptions } from "../context.js";
import { placeClaim } from "../../transports/placement.js";
import { keyringOf } from "../../transports/prove.js";
import { formatIssuesText } from "../output.js";
import { dropAndDecide } from "../writer.js";
import { epicsOf, pipelineOf } from "../read-store.js";
import { pgUrlOf } from "../store-of.js";

export async function dropMessage(g: GlobalOptions, type: "approve" | "veto", epicId: string, o: { role: string; subject: string; reason?: string; to?: string; nonBlocking?: boolean; as?: string; wait: boolean; timeout: number }): Promise<number> {
  const root = rootOf(g);
  const L = layoutOf(root);
  const pipeline = await pipelineOf(g);
  if (!ROLE.test(o.role) || !pipeline.isRole(o.role)) throw new ConsensusError(issue("UNKNOWN_ROLE", { message: `--role ${o.role} is not a configured role`, found: o.role, expected: pipeline.roles.join(", ") }));
  const { epics } = await epicsOf(g);
  const epic = epics.get(epicId);
  if (!epic) throw new ConsensusError(issue("UNKNOWN_EPIC", { message: `epic ${epicId} is not known`, found: epicId }), 3);
  const owner = pipeline.stage(epic.stage)?.owner;
  const to = o.to ?? (owner && owner !== o.role ? owner : pipeline.roles.find((r) => r !== o.role)!);
  if (!pipeline.isRole(to)) throw new ConsensusError(issue("UNKNOWN_ROLE", { message: `--to ${to} is not a configured role`, found: to }));
  const now = new Date().toISOString();
  const id = `${type}-${now.replace(/[:.]/g, "")}-${randomUUID().slice(0, 8)}`;
  const msg: Record<string, unknown> = { id, from: o.role, to, timestamp: now, epic_id: epicId, iteration: epic.iteration, type, subject: o.subject };
  if (type === "veto") {
    const as = personAs(o.as);
    msg.content = { violation: o.reason ?? o.subject, specifics: `raised by ${whoAmI()}${as ? ` (as ${as})` : ""} for the ${o.role} role`, blocking: !o.nonBlocking };
  } else if (o.reason) msg.content = { note: o.reason };
  const rel = `messages/inbox/${to}/${id}.yaml`;
  const url = pgUrlOf(g);
  if (url) {
    // on a database store the message is an input row, decided like a bridged file
    const { submitRow } = await import("../pg-writer.js");
    const r = await submitRow(url, root, { file: { path: rel, bytes: new TextEncoder().encode(dump(msg, { lineWidth: 120 })), mtimeMs: Date.now() } }, whoAmI(), o.timeout);
    if (r.ok !== true) {
      if (r.ok === false) process.stderr.write(`${formatIssuesText(r.issues)}\n`);
      return 1;
    }
    const by = r.via === "daemon" ? "by a running daemon" : "decided now";
    // anything but an acceptance is a refusal (message_rejected, or input_failed), as on a folder store below
    const head = r.entries[0];
    if (head && head.decision !== "message_accepted") {
      const errors = (head.errors ?? []).map((i) => ({ ...i, file: rel }));
      process.stderr.write(`${errors.length ? `${formatIssuesText(errors)}\n` : ""}${type} rejected (${by}):\n${r.entries.map((e) => `  #${e.seq} ${e.decision}`).join("\n")}\n`);
      return 1;
    }
    process.stdout.write(`${type} accepted (${by})\n`);
    return 0;
  }
  const text = dump(msg, { lineWidth: 120 });
  // A person who can read the daemon key signs the claim beside it: the daemon records the command as
  // theirs (the OS user owning the file, and --as beside it), not as an unverified drop (issue 15).
  const keyring = await keyringOf(root);
  const as = personAs(o.as);
  if (keyring) await placeClaim(root, rel, text, { transport: "cli", role: o.role, person: { ...(as ? { as } : {}), keyring } });
  const v = await dropAndDecide(root, rel, text, { wait: o.wait, timeoutMs: o.timeout });
  if (!o.wait) {
    process.stdout.write(`dropped ${rel} (${v.via === "daemon" ? "the running daemon will decide it" : "decided now"}; see \`consensus log --epic ${shellArg(epicId)}\`)\n`);
    return 0;
  }
  if (!v.decided) {
    process.stderr.write(`${printable(`${type} for ${epicId} not decided: ${v.reason}`)}\n`);
    return 1;
  }
  const head = v.entries[0];
  // anything but an acceptance is a refusal (message_rejected, or input_failed: the daemon could not decide it)
  const rejected = head?.decision !== "message_accepted";
  const lines = v.entries.map((e) => `  #${e.seq} ${printable(summary(e))}`).join("\n");
  const by = v.via === "daemon" ? " by the running daemon" : "";
  if (rejected) {
    const errors = ((head?.details as { errors?: Issue[] } | undefined)?.errors ?? []).map((i) => ({ ...i, file: rel }));
    process.stderr.write(`${errors.length ? `${formatIssuesText(errors)}\n` : ""}${type} rejected${by}:\n${lines}\n`);
    return 1;
  }
  process.stdout.write(`${type} accepted${by}:\n${lines}\n`);
  return 0;
}
