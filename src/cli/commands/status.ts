/** `consensus status [EPIC] [--json]`: exit 0 promoted, 1 escalated/cancelled, 2 in progress, 3 not found. */
import { load, CORE_SCHEMA } from "js-yaml";
import { resolvePipeline, type Pipeline } from "../../config/resolve.js";
import { statusOf, type EpicStatus } from "../../report/epic-status.js";
import { describeRejection } from "../../machine/rejections.js";
import type { ConsensusConfig, Epic } from "../../schemas/types.gen.js";
import { FsStore } from "../../store/fs/fs-store.js";
import type { Recovery } from "../../store/port.js";
import { layoutOf } from "../../store/fs/layout.js";
import { readConfigText } from "../../store/fs/config-file.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { rootOf, type GlobalOptions } from "../context.js";
import { formatTable, printable } from "../../report/plain-text.js";
import { epicsOf, pipelineOf } from "../read-store.js";
import { pgUrlOf } from "../store-of.js";

export { statusOf, type EpicStatus };

/** The state as of the log's last line: checkpoint plus the tail, read-only, no lock; and what recovery found on the way. */
export async function readEpics(root: string): Promise<{ epics: Map<string, Epic>; seq: number; findings: Recovery["findings"] }> {
  const store = new FsStore(layoutOf(root), { readOnly: true, epicsOnly: true });
  const { view, findings } = await store.recover();
  return { epics: view.epics, seq: view.seq, findings };
}

/** status does not validate the config (validate does); it only needs stage owners. */
async function readPipelineQuick(g: GlobalOptions): Promise<Pipeline | undefined> {
  try {
    if (pgUrlOf(g)) return await pipelineOf(g);
    const c = load(await readConfigText(layoutOf(rootOf(g)).config), { schema: CORE_SCHEMA }) as ConsensusConfig;
    return resolvePipeline(c, "");
  } catch {
    return undefined;
  }
}

export const exitFor = (s: Epic["status"]): number => (s === "promoted" ? 0 : s === "in_progress" ? 2 : 1);

export async function status(g: GlobalOptions, epic: string | undefined, o: { json?: boolean }): Promise<number> {
  const root = rootOf(g);
  const [{ epics }, pipeline] = await Promise.all([epicsOf(g), readPipelineQuick(g)]);
  if (epic !== undefined) {
    const e = epics.get(epic);
    if (!e) {
      if (o.json) process.stdout.write(`${JSON.stringify({ epic_id: epic, status: "not_found" })}\n`);
      throw new ConsensusError(issue("NOT_FOUND", { message: `epic ${epic} is not known in ${pgUrlOf(g) ? "the store" : root}`, found: epic, fix: "Check the id with `consensus status`, or start it with `consensus start`." }), 3);
    }
    const s = statusOf(e, pipeline);
    process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : `${table([s])}\n`);
    return exitFor(e.status);
  }
  const all = [...epics.values()].sort((a, b) => a.epic_id.localeCompare(b.epic_id)).map((e) => statusOf(e, pipeline));
  if (o.json) process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
  else process.stdout.write(all.length ? `${table(all)}\n` : `${printable(`no epics yet in ${root}`)}; start one with: consensus start EP-001 --title "…"\n`);
  return 0;
}

function table(rows: EpicStatus[]): string {
  const withSpend = rows.some((r) => r.spend);
  const withDeadline = rows.some((r) => r.deadline);
  const head = ["EPIC", "STAGE", "STATUS", "ITER", "WAITING FOR", "OPEN VETOES", ...(withDeadline ? ["DUE"] : []), ...(withSpend ? ["SPEND / BUDGET"] : []), "UPDATED"];
  const body = rows.map((r) => [
    r.epic_id,
    r.stage + (r.mode ? ` [${r.mode}]` : ""),
    r.status + (r.escalation ? ` (${r.escalation.reason})` : ""),
    String(r.iteration),
    (r.waiting_for.join(",") || "-") + (r.last_rejection ? ` (last drop: ${describeRejection(r.last_rejection)})` : ""),
    r.open_vetoes.map((v) => `${v.from}:${v.subject}@${v.iteration}`).join(" ") || "-",
    ...(withDeadline ? [r.deadline ? `${r.deadline.at}${r.deadline.reminded ? " (reminded)" : ""}` : "-"] : []),
    ...(withSpend ? [r.spend ? spendText(r.spend) : "-"] : []),
    r.updated_at,
  ]);
  return formatTable(head, body);
}

function spendText(s: NonNullable<EpicStatus["spend"]>): string {
  const cost = `$${s.cost_usd.toFixed(2)}${s.budget?.cost_usd !== undefined ? `/$${s.budget.cost_usd}` : ""}`;
  const tokens = `${s.tokens}${s.budget?.tokens !== undefined ? `/${s.budget.tokens}` : ""} tok`;
  return `${cost} ${tokens}`;
}
