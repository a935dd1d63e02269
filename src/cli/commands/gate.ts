/**
 * `consensus gate EPIC [--require promoted|STAGE]`: the merge gate. Exit 0 only when the store
 * answers without doubts, the log verifies (the same check as `consensus log verify`), the store's
 * state is the one its verified log gives, the epic is promoted (or has reached STAGE), and no
 * blocking veto is open; 3 when the epic is not known; 1 for every other closed gate, with the reason.
 * Nothing read is trusted on its own, and nothing that fails to read is skipped.
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { readRules } from "../../store/fs/rules.js";
import { EPIC_ID } from "../../config/names.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { unsealLine } from "../../log/chain.js";
import { formatGateText, judgeGate, type GateRequirement, type GateStoreFacts, type GateVerdict } from "../../report/gate.js";
import type { Epic } from "../../schemas/types.gen.js";
import { FsStore } from "../../store/fs/fs-store.js";
import { layoutOf } from "../../store/fs/layout.js";
import { explicitRoot, rootOf, type GlobalOptions } from "../context.js";
import { ghEscape, ghProp } from "../output.js";
import { checkBusLog } from "./log.js";
import { readEpics } from "./status.js";

export interface GateOptions {
  require: string;
  format: "text" | "json" | "github";
}

export async function gate(g: GlobalOptions, epic: string, o: GateOptions): Promise<number> {
  if (!EPIC_ID.test(epic)) throw new ConsensusError(issue("BAD_EPIC_ID", { found: JSON.stringify(epic) }), 2);
  // a root named explicitly is asked even when it is not a bus: the gate then fails closed, saying why
  const root = explicitRoot(g) ?? rootOf(g);
  const require = await requirementOf(root, o.require);
  // one after the other: the state must not be read before the log it is checked against
  const log = await checkBusLog(root);
  const store = await askStore(root, epic);
  const verdict = judgeGate({ epic, require, store, log });
  process.stdout.write(o.format === "json" ? `${JSON.stringify(verdict, null, 2)}\n` : o.format === "github" ? formatGateGithub(verdict) : formatGateText(verdict));
  return verdict.exit;
}

async function requirementOf(root: string, what: string): Promise<GateRequirement> {
  if (what === "promoted") return { kind: "promoted" };
  const pipeline = await readRules(layoutOf(root));
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
  let seq = 0;
  let found: Epic | undefined;
  for await (const { raw, entry } of store.readEntries()) {
    if (!entry || entry.agent !== "orchestrator" || typeof entry.seq !== "number" || !unsealLine(raw)) continue;
    seq = entry.seq;
    if (entry.state?.epic_id === epic) found = entry.state;
  }
  return found ? { epic: found, seq } : { seq };
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
