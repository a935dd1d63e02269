/**
 * The merge gate's verdict (`consensus gate EPIC`). Pure: what the store and the log said in, one
 * verdict out.
 *
 * The gate opens only on positive evidence: the store answered without doubts, the log verifies, the
 * store's state is the state its verified log gives, the epic is where the gate requires it, and no
 * blocking veto is open. Each of the five is a check that must be present and pass; anything that
 * could not be read is a failed check, never a skipped one.
 */
import { fail, pass, warn, type CheckResult } from "./check.js";
import type { Epic } from "../schemas/types.gen.js";

/** What `log verify` found (the same function answers both). */
export interface GateLogFacts {
  state: "intact" | "empty" | "broken" | "unreadable";
  summary: string;
  fix?: string;
  /** Last daemon seq the chain covers. */
  lastSeq: number;
  /** What was verified: the log of record (the default), or the committed readable copy (no log of record at hand: CI). */
  source?: "record" | "copy";
  /** For the copy: whether each daemon line's MAC was checked under the daemon key. */
  macChecked?: boolean;
}

export type GateStoreFacts =
  | { answered: false; reason: string; fix: string }
  | {
      answered: true;
      /** The epic as the store's state has it (checkpoint plus the log after it), if known. */
      epic?: Epic;
      /** The seq that state is at. */
      seq: number;
      /** The epic as the log's own daemon lines have it, read start to end, and the last seq read. */
      logEpic?: Epic;
      logSeq: number;
      /** What the store's recovery found on the way: any of them is a doubt. */
      findings: ReadonlyArray<{ decision: string; details: Record<string, unknown> }>;
    };

/** "promoted", or a stage the epic must have reached (in the pipeline's order) with no blocking veto open. */
export type GateRequirement = { kind: "promoted" } | { kind: "stage"; stage: string; order: readonly string[] };

export interface GateFacts {
  epic: string;
  require: GateRequirement;
  store: GateStoreFacts;
  log: GateLogFacts;
  /** The copy's daemon lines must have had their MACs checked (`--require-mac`); otherwise an unchecked MAC is a warning. */
  requireMac?: boolean;
}

export const GATE_CHECKS = ["store", "log", "state", "epic", "vetoes"] as const;

export interface GateVerdict {
  epic: string;
  require: string;
  open: boolean;
  /** 0 open; 3 the epic is not known (and nothing else is wrong); 1 every other closed gate. */
  exit: 0 | 1 | 3;
  checks: CheckResult[];
}

const requirementText = (r: GateRequirement): string => (r.kind === "promoted" ? "promoted" : `stage ${r.stage} reached`);

/** The fields the verdict rests on: the store's state and the log's must agree on these. */
const judged = (e: Epic | undefined): string => (e ? JSON.stringify([e.status, e.stage, e.iteration, e.open_vetoes.map((v) => [v.from, v.subject, v.iteration, v.blocking])]) : "unknown");
const describe = (e: Epic | undefined): string => (e ? `${e.status} at ${e.stage}, iteration ${e.iteration}` : "not known");

const ABOVE = "Fix the failed check above first.";

function storeCheck(s: GateStoreFacts): CheckResult {
  if (!s.answered) return fail("store", `the store did not answer: ${s.reason}`, s.fix);
  if (s.findings.length > 0) {
    const why = s.findings.map((f) => `${f.decision}: ${String(f.details.reason ?? JSON.stringify(f.details))}`).join("; ");
    return fail("store", `the store answered with doubts: ${why}`, "Run `consensus doctor` and `consensus log verify`; a checkpoint or log the daemon had to repair is rewritten by the next `consensus watch --once`.");
  }
  return pass("store", `answered: state at seq ${s.seq}`);
}

const MAC_FIX = "Give CI a copy of the daemon key: store .consensus/keys/daemon.key as a CI secret, write it to a file readable only by the job, and set CONSENSUS_KEY_FILE to that file (docs/security.md).";

function logCheck(l: GateLogFacts, requireMac: boolean): CheckResult {
  if (l.state === "intact" && l.source === "copy" && !l.macChecked) {
    return requireMac ? fail("log", `${l.summary}; --require-mac was given`, MAC_FIX) : warn("log", l.summary, MAC_FIX);
  }
  if (l.state === "intact") return pass("log", l.summary);
  if (l.state === "empty") return fail("log", `${l.summary}: no log records a decision`, "Run the gate against the bus that holds the epic's log (--root DIR, CONSENSUS_ROOT).");
  return fail("log", l.summary, l.fix ?? "Run `consensus log verify` and restore the log from a backup.");
}

function stateCheck(s: GateStoreFacts, l: GateLogFacts): CheckResult {
  if (!s.answered) return fail("state", "not checked: the store did not answer", ABOVE);
  if (l.state !== "intact") return fail("state", "not checked: the log does not verify", ABOVE);
  if (s.seq !== l.lastSeq || s.logSeq !== l.lastSeq) {
    return fail("state", `the store's state is at seq ${s.seq}, its log's daemon lines end at seq ${s.logSeq}, and the verified chain at seq ${l.lastSeq}: they must be one`, "Run the gate again once the daemon is idle; if it persists, run `consensus doctor`.");
  }
  if (judged(s.epic) !== judged(s.logEpic)) {
    return fail("state", `the store's state says ${describe(s.epic)} but the log's own lines say ${describe(s.logEpic)}`, "The checkpoint or state was changed outside the daemon: run `consensus doctor`; the daemon rebuilds state from the log.");
  }
  return pass("state", `the store's state is the state its verified log gives (seq ${s.seq})`);
}

function epicCheck(f: GateFacts): CheckResult {
  if (!f.store.answered) return fail("epic", `${f.epic}: not checked: the store did not answer`, ABOVE);
  const e = f.store.epic;
  if (!e) return fail("epic", `${f.epic} is not known`, "Check the epic id (`consensus status`); the branch name or label names it in CI.");
  const r = f.require;
  if (e.status === "promoted") return pass("epic", `${e.epic_id} is promoted (iteration ${e.iteration})`);
  if (e.status !== "in_progress") {
    const why = e.escalation ? ` (${e.escalation.reason})` : "";
    return fail("epic", `${e.epic_id} is ${e.status}${why} at ${e.stage}, iteration ${e.iteration}`, e.status === "escalated" ? "A person decides: `consensus override EPIC --reason R` or `consensus cancel EPIC --reason R`." : "A cancelled epic never opens the gate; start a new epic for this work.");
  }
  if (r.kind === "stage") {
    const at = r.order.indexOf(e.stage);
    const want = r.order.indexOf(r.stage);
    if (at >= 0 && want >= 0 && at >= want) return pass("epic", `${e.epic_id} is at ${e.stage} (iteration ${e.iteration}), at or past ${r.stage}`);
    return fail("epic", `${e.epic_id} is at ${e.stage} (iteration ${e.iteration}), before ${r.stage}`, "Wait for the pipeline to reach the stage; `consensus status EPIC` shows whom it waits for.");
  }
  return fail("epic", `${e.epic_id} is in progress at ${e.stage}, iteration ${e.iteration}: not promoted`, "Wait for promotion; `consensus status EPIC` shows whom it waits for.");
}

function vetoCheck(f: GateFacts): CheckResult {
  if (!f.store.answered || !f.store.epic) return fail("vetoes", "not checked: the epic's state is not known", ABOVE);
  const open = f.store.epic.open_vetoes.filter((v) => v.blocking !== false);
  if (open.length === 0) return pass("vetoes", "no blocking veto is open");
  return fail("vetoes", `open blocking veto${open.length > 1 ? "es" : ""}: ${open.map((v) => `${v.from}:${v.subject}@${v.iteration}`).join(", ")}`, "The vetoing role approves in a later iteration once the rework answers it (`consensus status EPIC`).");
}

export function judgeGate(f: GateFacts): GateVerdict {
  const checks = [storeCheck(f.store), logCheck(f.log, f.requireMac === true), stateCheck(f.store, f.log), epicCheck(f), vetoCheck(f)];
  // a warning (the copy's MACs not checked) is said, and does not close the gate; anything else short of a pass does
  const sound = (c: CheckResult): boolean => c.status === "pass" || c.status === "warn";
  const open = GATE_CHECKS.every((id) => checks.some((c) => c.id === id && sound(c))) && checks.every(sound);
  // "not known" gets status's exit code only when everything else was read and is sound
  const onlyUnknown = !open && f.store.answered && !f.store.epic && checks.every((c) => sound(c) || c.id === "epic" || c.id === "vetoes");
  return { epic: f.epic, require: requirementText(f.require), open, exit: open ? 0 : onlyUnknown ? 3 : 1, checks };
}

export function formatGateText(v: GateVerdict): string {
  const width = Math.max(...v.checks.map((c) => c.id.length));
  const lines = [`consensus gate ${v.epic} (requires ${v.require}): ${v.open ? "open" : "closed"}`];
  for (const c of v.checks) {
    lines.push(`  ${c.status === "pass" ? "pass" : c.status === "warn" ? "WARN" : "FAIL"}  ${c.id.padEnd(width)}  ${c.found}`);
    if (c.fix && c.status !== "pass") lines.push(`        ${" ".repeat(width)}  fix: ${c.fix}`);
  }
  return `${lines.join("\n")}\n`;
}

