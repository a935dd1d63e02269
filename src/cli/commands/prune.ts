/**
 * `consensus prune [--older-than 30d] [--dry-run]`: removes the notices and agent logs of epics
 * promoted or cancelled before that age — never the decision log, archives, artifacts, messages agents
 * wrote, or state. Each epic's removal is a person's command: decided (a `pruned` entry naming every
 * file and who ran it), committed, then done by the entry's effect, so it is logged before anything
 * goes. `--dry-run` lists what would go and changes nothing.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { isDerivedFileOf } from "../../machine/effects.js";
import type { Epic } from "../../schemas/types.gen.js";
import { layoutOf } from "../../store/fs/layout.js";
import { plural, printable } from "../../report/plain-text.js";
import { rootOf, whoAmI, type GlobalOptions } from "../context.js";
import { formatIssuesText } from "../output.js";
import { applyCommand } from "../writer.js";
import { readEpics } from "./status.js";

export async function prune(g: GlobalOptions, o: { olderThan: number; dryRun?: boolean }): Promise<number> {
  const root = rootOf(g);
  const before = new Date(Date.now() - o.olderThan).toISOString();
  const { epics } = await readEpics(root);
  const finished = [...epics.values()].filter((e) => (e.status === "promoted" || e.status === "cancelled") && e.updated_at <= before).sort((a, b) => a.epic_id.localeCompare(b.epic_id));
  const plan: Array<{ epic: Epic; files: string[] }> = [];
  for (const epic of finished) {
    const files = await derivedFilesOf(root, epic.epic_id);
    if (files.length) plan.push({ epic, files });
  }
  if (!plan.length) {
    process.stdout.write(`nothing to prune: no epic promoted or cancelled before ${before} has notices or agent logs left\n`);
    return 0;
  }
  for (const { epic, files } of plan) {
    const notices = files.filter((f) => f.startsWith("messages/")).length;
    process.stdout.write(`${printable(`${epic.epic_id} (${epic.status} ${epic.updated_at}): ${plural(notices, "notice")}, ${plural(files.length - notices, "agent log")}`)}\n`);
    if (o.dryRun) for (const f of files) process.stdout.write(`  ${printable(f)}\n`);
  }
  if (o.dryRun) {
    process.stdout.write(`dry run: nothing removed (${plural(plan.reduce((n, p) => n + p.files.length, 0), "file")} of ${plural(plan.length, "epic")} would go)\n`);
    return 0;
  }
  let failed = 0;
  for (const { epic, files } of plan) {
    const r = await applyCommand(root, { type: "prune", epic_id: epic.epic_id, before, files, by: whoAmI() });
    if (r.ok === true) process.stdout.write(`pruned ${epic.epic_id} (${r.entries.map((e) => `#${e.seq} ${e.decision}`).join(", ")}${r.via === "daemon" ? "; by the running daemon" : ""})\n`);
    else if (r.ok === false) {
      failed++;
      process.stderr.write(`${formatIssuesText(r.issues)}\n`);
    }
  }
  return failed ? 1 : 0;
}

/** An epic's notices in every inbox and its agents' output files, relative to the root (isDerivedFileOf). */
async function derivedFilesOf(root: string, epicId: string): Promise<string[]> {
  const L = layoutOf(root);
  const list = (dir: string) => readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const role of await list(L.inbox)) for (const n of await list(join(L.inbox, role))) out.push(`messages/inbox/${role}/${n}`);
  for (const it of await list(join(L.agentLogs, epicId))) for (const n of await list(join(L.agentLogs, epicId, it))) out.push(`logs/agents/${epicId}/${it}/${n}`);
  return out.filter((f) => isDerivedFileOf(epicId, f)).sort();
}
