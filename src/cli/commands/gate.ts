/**
 * `consensus gate EPIC [--require promoted|STAGE]`: the merge gate. Exit 0 only when the store
 * answers without doubts, the log verifies (the same check as `consensus log verify`), the store's
 * state is the one its verified log gives, the epic is promoted (or has reached STAGE), and no
 * blocking veto is open; 3 when the epic is not known; 1 for every other closed gate, with the reason.
 * Nothing read is trusted on its own, and nothing that fails to read is skipped.
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { EPIC_ID } from "../../config/names.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { ChainVerifier, unsealLine } from "../../log/chain.js";
import { formatGateText, judgeGate, type GateLogFacts, type GateRequirement, type GateStoreFacts, type GateVerdict } from "../../report/gate.js";
import type { Epic, LogEntry } from "../../schemas/types.gen.js";
import { FsStore } from "../../store/fs/fs-store.js";
import { layoutOf } from "../../store/fs/layout.js";
import { redact } from "../../store/pg/connect.js";
import type { Store } from "../../store/port.js";
import { explicitRoot, rootOf, type GlobalOptions } from "../context.js";
import { ghEscape, ghProp } from "../output.js";
import { openPgReadOnly, pipelineOf } from "../read-store.js";
import { pgUrlOf } from "../store-of.js";
import { checkBusLog } from "./log.js";
import { readEpics } from "./status.js";

export interface GateOptions {
  require: string;
  format: "text" | "json" | "github";
}

export async function gate(g: GlobalOptions, epic: string, o: GateOptions): Promise<number> {
  if (!EPIC_ID.test(epic)) throw new ConsensusError(issue("BAD_EPIC_ID", { found: JSON.stringify(epic) }), 2);
  const url = pgUrlOf(g);
  const require = await requirementOf(g, o.require);
  let facts: { log: GateLogFacts; store: GateStoreFacts };
  if (url !== undefined) facts = await askDatabase(url, epic);
  else {
    // a root named explicitly (or a folder --store) is asked even when it is not a bus: the gate then fails closed, saying why
    const folder = g.store ?? process.env.CONSENSUS_STORE;
    const root = folder ? resolve(folder) : (explicitRoot(g) ?? rootOf(g));
    // one after the other: the state must not be read before the log it is checked against
    const log = await checkBusLog(root);
    facts = { log, store: await askStore(root, epic) };
  }
  const verdict = judgeGate({ epic, require, ...facts });
  process.stdout.write(o.format === "json" ? `${JSON.stringify(verdict, null, 2)}\n` : o.format === "github" ? formatGateGithub(verdict) : formatGateText(verdict));
  return verdict.exit;
}

async function requirementOf(g: GlobalOptions, what: string): Promise<GateRequirement> {
  if (what === "promoted") return { kind: "promoted" };
  const pipeline = await pipelineOf(g);
  const order = pipeline.stages.map((s) => s.id);
  if (!order.includes(what)) throw new ConsensusError(issue("BAD_STAGE", { message: `--require ${what}: not a stage of this pipeline`, expected: `promoted or one of ${order.join(", ")}`, found: what, fix: `Pass --require promoted or a stage id (${order.join(", ")}).` }), 2);
  return { kind: "stage", stage: what, order };
}

/**
 * The one place the gate touches the store: its state (what `status` reads, with what recovery
 * found on the way) and the epic as the log's own sealed daemon lines have it, read start to end.
 * Whatever goes wrong is an answer (`answered: false` with the reason), never an exception, so the
 * gate cannot open on a store it could not read.
 */
async function askStore(root: string, epic: string): Promise<GateStoreFacts> {
  const notABus = (reason: string): GateStoreFacts => ({ answered: false, reason, fix: "Pass --root DIR (or set CONSENSUS_ROOT) to the bus folder, and run the gate as a user who can read it." });
  try {
    if (!(await stat(root)).isDirectory()) return notABus(`${root} is not a folder`);
    await access(root, constants.R_OK | constants.X_OK);
  } catch (e) {
    return notABus(`${root}: ${errText(e)}`);
  }
  try {
    await access(layoutOf(root).config, constants.R_OK);
  } catch (e) {
    return notABus(`not a consensus bus: ${layoutOf(root).config}: ${errText(e)}`);
  }
  try {
    const { epics, seq, findings } = await readEpics(root);
    const fromLog = await epicFromLog(root, epic);
    return { answered: true, ...(epics.has(epic) ? { epic: epics.get(epic)! } : {}), seq, findings, ...(fromLog.epic ? { logEpic: fromLog.epic } : {}), logSeq: fromLog.seq };
  } catch (e) {
    return { answered: false, reason: `reading the store failed: ${errText(e)}`, fix: "Run `consensus doctor`: it names what cannot be read and how to fix it." };
  }
}

/** The epic's last state carried by a sealed daemon line, and the last such line's seq. */
async function epicFromLog(root: string, epic: string): Promise<{ epic?: Epic; seq: number }> {
  const store = new FsStore(layoutOf(root), { readOnly: true });
  const fold = new EpicFromLog(epic);
  for await (const l of store.readEntries()) fold.push(l);
  return fold.result();
}

/** Folds a log's lines into the epic's last state carried by a sealed daemon line, and the last such line's seq. */
class EpicFromLog {
  private seq = 0;
  private found: Epic | undefined;
  constructor(private readonly epic: string) {}

  push({ raw, entry }: { raw: string; entry?: LogEntry }): void {
    if (!entry || entry.agent !== "orchestrator" || typeof entry.seq !== "number" || !unsealLine(raw)) return;
    this.seq = entry.seq;
    if (entry.state?.epic_id === this.epic) this.found = entry.state;
  }

  result(): { epic?: Epic; seq: number } {
    return this.found ? { epic: this.found, seq: this.seq } : { seq: this.seq };
  }
}

/** Reads of a database whose log moved between them (daemons appending) are made again, up to this many times. */
const DB_READS = 3;

/**
 * The gate's facts from a PostgreSQL store, through the store port: the log read once start to end
 * (checked as `log verify` checks it, and the epic as its sealed daemon lines have it), then the
 * state as `status` reads it. Daemons may append between the two reads: then both are read again.
 * A database that cannot be reached or read is an answer (`answered: false`, the log unreadable).
 */
async function askDatabase(url: string, epic: string): Promise<{ log: GateLogFacts; store: GateStoreFacts }> {
  const where = `the log of ${redact(url)}`;
  const failed = (e: unknown, doing: string): { log: GateLogFacts; store: GateStoreFacts } => {
    const reason = `${doing} ${redact(url)} failed: ${errText(e)}`;
    const fix = "Check --store / CONSENSUS_STORE and that the database answers (`consensus doctor --store URL`).";
    return { log: { state: "unreadable", summary: `cannot read ${where}: ${errText(e)}`, fix, lastSeq: 0 }, store: { answered: false, reason, fix } };
  };
  let store: Store;
  try {
    store = await openPgReadOnly(url, { epicsOnly: true });
  } catch (e) {
    return failed(e, "connecting to");
  }
  try {
    for (let attempt = 1; ; attempt++) {
      const chain = new ChainVerifier();
      const fold = new EpicFromLog(epic);
      for await (const l of store.readEntries()) {
        chain.push(l.raw);
        fold.push(l);
      }
      const r = chain.result();
      const log: GateLogFacts =
        r.lines === 0
          ? { state: "empty", summary: `no entries in ${where}: nothing to verify`, lastSeq: 0 }
          : r.ok
            ? { state: "intact", summary: `intact: ${r.lines} lines, ${r.daemonLines} daemon entries (seq 1..${r.lastSeq}), ${r.agentLines} agent lines; head ${r.head.slice(0, 16)}…`, lastSeq: r.lastSeq }
            : { state: "broken", summary: `broken: ${where}:${r.broken!.line}: ${r.broken!.reason}`, fix: `Restore the database from a backup (pg_dump); lines before ${r.broken!.line} chain correctly (last good seq ${r.lastSeq}).`, lastSeq: r.lastSeq };
      const { view, findings } = await store.recover();
      const fromLog = fold.result();
      const facts: GateStoreFacts = { answered: true, ...(view.epics.has(epic) ? { epic: view.epics.get(epic)! } : {}), seq: view.seq, findings, ...(fromLog.epic ? { logEpic: fromLog.epic } : {}), logSeq: fromLog.seq };
      if (view.seq === log.lastSeq || log.state !== "intact" || attempt === DB_READS) return { log, store: facts };
    }
  } catch (e) {
    return failed(e, "reading");
  } finally {
    await store.close();
  }
}

const errText = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message ?? String(e);

/** GitHub Actions workflow commands: an error annotation per failed check, a notice when open. */
export function formatGateGithub(v: GateVerdict): string {
  const title = ghProp(`consensus gate ${v.epic}`);
  if (v.open) return `::notice title=${title}::${ghEscape(`open (requires ${v.require}): ${v.checks.map((c) => c.found).join("; ")}`)}\n`;
  return `${v.checks
    .filter((c) => c.status !== "pass")
    .map((c) => `::error title=${title}::${ghEscape(`${c.id}: ${c.found}. Fix: ${c.fix ?? "-"}`)}`)
    .join("\n")}\n`;
}
