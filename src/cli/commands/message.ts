/** `consensus approve|veto EPIC --role R --subject S`: drops a well-formed message for a person. */
import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { dump } from "js-yaml";
import { writeAtomic } from "../../store/fs/atomic-write.js";
import { ROLE } from "../../config/names.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { layoutOf } from "../../store/fs/layout.js";
import { rootOf, whoAmI, type GlobalOptions } from "../context.js";
import { formatIssuesText } from "../output.js";
import { epicsOf, pipelineOf } from "../read-store.js";
import { pgUrlOf } from "../store-of.js";
import { processNowIfNoDaemon } from "../writer.js";

export async function dropMessage(g: GlobalOptions, type: "approve" | "veto", epicId: string, o: { role: string; subject: string; reason?: string; to?: string; nonBlocking?: boolean }): Promise<number> {
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
    msg.content = { violation: o.reason ?? o.subject, specifics: o.reason ?? `veto raised by a person for ${o.role}`, blocking: !o.nonBlocking };
  } else if (o.reason) msg.content = { note: o.reason };
  const rel = `messages/inbox/${to}/${id}.yaml`;
  const url = pgUrlOf(g);
  if (url) {
    // on a database store the message is an input row, decided like a bridged file
    const { submitRow } = await import("../pg-writer.js");
    const r = await submitRow(url, root, { file: { path: rel, bytes: new TextEncoder().encode(dump(msg, { lineWidth: 120 })), mtimeMs: Date.now() } }, whoAmI());
    if (!r.ok) {
      process.stderr.write(`${formatIssuesText(r.issues)}\n`);
      return 1;
    }
    process.stdout.write(`sent ${rel} (${r.via === "daemon" ? "applied by a running daemon" : "applied now"})\n`);
    return 0;
  }
  await mkdir(join(L.inbox, to), { recursive: true });
  await writeAtomic(join(root, rel), dump(msg, { lineWidth: 120 }));
  const how = await processNowIfNoDaemon(root, rel);
  process.stdout.write(`dropped ${rel} (${how === "daemon" ? "the running daemon will apply it" : "applied now"})\n`);
  return 0;
}
