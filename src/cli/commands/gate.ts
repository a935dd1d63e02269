/**
 * `consensus gate EPIC [--require promoted|STAGE]`: the merge gate. Exit 0 only when the store
 * answers without doubts, the log verifies (the same check as `consensus log verify`), the store's
 * state is the one its verified log gives, the epic is promoted (or has reached STAGE), and no
 * blocking veto is open; 3 when the epic is not known; 1 for every other closed gate, with the reason.
 * Nothing read is trusted on its own, and nothing that fails to read is skipped.
 */
import { constants } from "node:fs";
import { existsSync } from "node:fs";
import { access, lstat, open, readFile, stat } from "node:fs/promises";
import { relative, resolve } from "node:path";
import { EPIC_ID } from "../../config/names.js";
import { ConsensusError, issue, shellArg } from "../../errors/issue.js";
import { ChainVerifier, unsealLine, type LineCheck } from "../../log/chain.js";
import { verifyCopy } from "../../log/copy-chain.js";
import { logMacCheck } from "../../store/fs/read-chain.js";
import { stateFileProblem } from "../../store/fs/state-file.js";
import { CAP, readGuardedText } from "../../store/fs/guarded-read.js";
import { KeyFileError, parseKeyFile } from "../../trust/key-file.js";
import { Keyring } from "../../trust/keyring.js";
import { formatGateText, judgeGate, type GateLogFacts, type GateRequirement, type GateStoreFacts, type GateVerdict } from "../../report/gate.js";
import type { Epic, LogEntry, StateFile } from "../../schemas/types.gen.js";
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
  requireMac?: boolean;
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
    const L = layoutOf(root);
    const problem = await busProblem(root);
    // only where the private area is really absent: one this user cannot read is asked, and fails closed
    const noPrivateArea = await lstat(L.dot).then(() => false, (e: NodeJS.ErrnoException) => e.code === "ENOENT");
    if (!problem && noPrivateArea && existsSync(L.log)) {
      // a CI checkout: the readable copy and state.json from git, no private area (never committed)
      facts = await askCommittedCopy(root, epic);
    } else {
      // one after the other: the state must not be read before the log it is checked against
      const log = await checkBusLog(root);
      facts = { log, store: problem ?? (await askStore(root, epic)) };
    }
  }
  const verdict = judgeGate({ epic, require, ...facts, ...(o.requireMac ? { requireMac: true } : {}) });
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
 * The one place the gate touches the store (a bus busProblem found none in): its state (what `status` reads, with what recovery
 * found on the way) and the epic as the log's own sealed daemon lines have it, read start to end.
 * Whatever goes wrong is an answer (`answered: false` with the reason), never an exception, so the
 * gate cannot open on a store it could not read.
 */
async function askStore(root: string, epic: string): Promise<GateStoreFacts> {
  try {
    const { epics, seq, findings } = await readEpics(root);
    const fromLog = await epicFromLog(root, epic);
    return { answered: true, ...(epics.has(epic) ? { epic: epics.get(epic)! } : {}), seq, findings, ...(fromLog.epic ? { logEpic: fromLog.epic } : {}), logSeq: fromLog.seq };
  } catch (e) {
    return { answered: false, reason: `reading the store failed: ${errText(e)}`, fix: "Run `consensus doctor`: it names what cannot be read and how to fix it." };
  }
}

/** Why `root` is not a bus this user can read (a failed store answer), or undefined. */
async function busProblem(root: string): Promise<GateStoreFacts | undefined> {
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
  return undefined;
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

/** The environment variable naming a copy of the daemon key (a CI secret) the gate checks MACs with. */
export const KEY_FILE_ENV = "CONSENSUS_KEY_FILE";
const MAX_COPY_KEY_BYTES = 64 * 1024;

/**
 * The gate's facts where there is no log of record (a CI checkout: `.consensus/` is never committed):
 * the committed readable copy's daemon lines verified (copy-chain.ts: the chain always; each line's
 * MAC when CONSENSUS_KEY_FILE names a copy of the daemon key), and the committed state.json, which
 * must be the state those verified lines give. The key's bytes are never printed. Whatever cannot be
 * read is an answer that closes the gate.
 */
async function askCommittedCopy(root: string, epic: string): Promise<{ log: GateLogFacts; store: GateStoreFacts }> {
  const L = layoutOf(root);
  const where = relative(process.cwd(), L.log) || L.log;
  const unreadable = (summary: string, fix: string): { log: GateLogFacts; store: GateStoreFacts } => ({
    log: { state: "unreadable", summary, fix, lastSeq: 0, source: "copy" },
    store: { answered: false, reason: summary, fix },
  });
  let check: LineCheck | undefined;
  let keyId: string | undefined;
  const keyFile = process.env[KEY_FILE_ENV];
  if (keyFile !== undefined && keyFile !== "") {
    try {
      // guarded: no link, no FIFO, capped (the CI job may run on a checkout the PR's author controls)
      const ring = new Keyring(parseKeyFile(await readGuardedText(keyFile, { maxBytes: MAX_COPY_KEY_BYTES }), keyFile));
      check = logMacCheck(ring);
      keyId = ring.current.id;
    } catch (e) {
      // the message names the file and what is wrong with it, never its bytes
      const why = e instanceof KeyFileError ? e.message : `${keyFile}: ${errText(e)}`;
      return unreadable(`the daemon key ${KEY_FILE_ENV} names cannot be used: ${why}`, `Point ${KEY_FILE_ENV} at a copy of the root's .consensus/keys/daemon.key (a CI secret written to a file), or unset it to check the chain alone.`);
    }
  }
  let text: string;
  try {
    // the PR's author controls this checkout: never through a link (/dev/zero, a runner's secret), capped
    text = await readGuardedText(L.log, { maxBytes: CAP.state });
  } catch (e) {
    return unreadable(`cannot read ${where}: ${errText(e)}`, `Check that ${where} is committed and readable by this user.`);
  }
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  if (lines[lines.length - 1] === "") lines.pop();
  const r = verifyCopy(lines, check, epic);
  const mac = check ? `every daemon line's MAC checked under key ${keyId}` : `MACs NOT checked (no daemon key: set ${KEY_FILE_ENV} to a copy of .consensus/keys/daemon.key given to CI as a secret): the chain alone is evidence, and anyone who can edit ${where} can re-hash it`;
  const log: GateLogFacts =
    r.daemonLines === 0 && r.ok
      ? { state: "empty", summary: `no daemon lines in ${where} (the committed readable copy; no log of record here): nothing to verify`, lastSeq: 0, source: "copy", macChecked: !!check }
      : r.ok
        ? { state: "intact", summary: `intact: the committed readable copy ${where} (no log of record here): chain intact over ${r.daemonLines} daemon lines (seq 1..${r.lastSeq}), ${r.agentLines} agents' lines skipped; ${mac}`, lastSeq: r.lastSeq, source: "copy", macChecked: !!check }
        : { state: "broken", summary: `broken: the committed readable copy ${where} (no log of record here), line ${r.broken!.line}: ${r.broken!.reason}`, fix: `The committed log was changed outside the daemon: restore ${where} from the branch the daemon's root commits (\`git checkout <base> -- ${shellArg(where)}\`), or commit the root's current copy again.`, lastSeq: r.lastSeq, source: "copy", macChecked: !!check };
  let state: StateFile;
  try {
    const got = stateFileProblem(await readGuardedText(L.state, { maxBytes: CAP.state }));
    if (!got.state) return { log, store: { answered: false, reason: `${relative(process.cwd(), L.state) || L.state} ${got.problem}`, fix: "Commit the root's current/state.json as the daemon wrote it (never edited by hand)." } };
    state = got.state;
  } catch (e) {
    return { log, store: { answered: false, reason: `cannot read ${L.state}: ${errText(e)}`, fix: "Commit current/state.json with the readable copy of the log: the gate checks one against the other." } };
  }
  const mine = Object.hasOwn(state.epics, epic) ? state.epics[epic] : undefined;
  return { log, store: { answered: true, ...(mine ? { epic: mine } : {}), seq: state.seq, findings: [], ...(r.epic ? { logEpic: r.epic } : {}), logSeq: r.lastSeq } };
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
  const warnings = v.checks.filter((c) => c.status === "warn").map((c) => `::warning title=${title}::${ghEscape(`${c.id}: ${c.found}. Fix: ${c.fix ?? "-"}`)}\n`).join("");
  if (v.open) return `${warnings}::notice title=${title}::${ghEscape(`open (requires ${v.require}): ${v.checks.map((c) => c.found).join("; ")}`)}\n`;
  return `${v.checks
    .filter((c) => c.status !== "pass")
    .map((c) => `::${c.status === "warn" ? "warning" : "error"} title=${title}::${ghEscape(`${c.id}: ${c.found}. Fix: ${c.fix ?? "-"}`)}`)
    .join("\n")}\n`;
}
