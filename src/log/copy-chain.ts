/**
 * Verifies the daemon's lines in the readable copy of the log (current/decision_log.jsonl) where the
 * log of record is not at hand: a CI checkout has the copy from git, never `.consensus/` (PROTOCOL,
 * "The merge gate"). Pure: the copy's lines in, a chain result out.
 *
 * Only the daemon's sealed lines are the record. They must number 1, 2, 3… without a gap and chain:
 * each line's hash is SHA-256(previous hash + the agents' lines the daemon recorded before it + its
 * body). Agents' lines are skipped (anyone can append one: they are not the record) except where the
 * daemon recorded them: a transaction ending in `agent_lines_recorded` names the copy's line numbers it
 * took (`details.lines`), and those lines' text is what its first line chained. A log adopted from an
 * older root chained the agents' lines that stood just before each daemon line; those are tried too.
 * Any other line that claims to be the daemon's (a forged or edited one) breaks the chain.
 *
 * Given `check` (the daemon key's MAC check), every daemon line must also carry a MAC that checks, so a
 * line correctly re-hashed by someone without the key fails; without it, only the chain is evidence.
 */
import { chainHash, claimsDaemon, GENESIS, unsealLine, type ChainBreak, type ChainResult, type LineCheck } from "./chain.js";
import type { Epic, LogEntry } from "../schemas/types.gen.js";

export interface CopyChainResult extends ChainResult {
  /** Whether every daemon line's MAC was checked (a check was given). */
  macChecked: boolean;
  /** The epic's last state a verified daemon line carries (when `epic` was asked). */
  epic?: Epic;
}

interface Sealed {
  line: number;
  entry: LogEntry & { seq: number; txn?: unknown };
  body: string;
  hash: string;
  mac?: string;
  signed: string;
  /** Agents' lines between the previous daemon line and this one, each with its newline. */
  before: string;
}

/** `lines`: the copy's lines in order (1-based line n is lines[n-1]), without newlines. */
export function verifyCopy(lines: readonly string[], check?: LineCheck, epic?: string): CopyChainResult {
  const sealed: Sealed[] = [];
  let before = "";
  let agentLines = 0;
  let broken: ChainBreak | undefined;
  for (let i = 0; i < lines.length && !broken; i++) {
    const text = lines[i]!;
    const s = unsealLine(text);
    let entry: Sealed["entry"] | undefined;
    if (s) {
      try {
        const v = JSON.parse(s.body) as Sealed["entry"];
        if (typeof v === "object" && v !== null && typeof v.seq === "number") entry = v;
      } catch {
        entry = undefined;
      }
    }
    if (s && entry) {
      sealed.push({ line: i + 1, entry, body: s.body, hash: s.hash, ...(s.mac !== undefined ? { mac: s.mac } : {}), signed: s.signed, before });
      before = "";
    } else if (claimsDaemon(text)) {
      broken = { line: i + 1, reason: "a line that claims to be the daemon's but is not one of its sealed lines (no hash, or not valid JSON): forged or edited" };
    } else {
      if (text.trim() !== "") agentLines++;
      before += `${text}\n`;
    }
  }
  let head = GENESIS;
  let seq = 0;
  let found: Epic | undefined;
  let anchored = false;
  for (let i = 0; i < sealed.length && !broken; i++) {
    const l = sealed[i]!;
    if (l.entry.seq !== seq + 1) {
      broken = { line: l.line, reason: `sequence number ${l.entry.seq} where ${seq + 1} was due (a daemon line was removed, inserted or reordered)` };
      break;
    }
    const recorded = recordedBefore(sealed, i, lines);
    const candidates = recorded !== undefined ? [recorded] : ["", l.before];
    if (!candidates.some((f) => chainHash(head, f, l.body) === l.hash)) {
      broken = { line: l.line, reason: `hash does not match: this daemon line, or the agents' lines it recorded, was edited (last good seq ${seq})` };
      break;
    }
    if (check) {
      const c = l.mac === undefined ? false : check(l.signed, l.mac);
      if (c === true) anchored = true;
      if (c === false || (c === "old" && anchored)) {
        broken = { line: l.line, reason: l.mac === undefined ? "no MAC: the line was not sealed by the daemon (forged)" : c === "old" ? "sealed with a key no longer in force, after lines sealed with the current one (forged)" : "the MAC does not check under the daemon key: the line was made without it (forged, or the key given is not this root's)" };
        break;
      }
    }
    head = l.hash;
    seq = l.entry.seq;
    if (epic !== undefined && l.entry.state?.epic_id === epic) found = l.entry.state;
  }
  // "old" seals are believed only before a line the key in force sealed: a copy none of whose lines
  // the given key sealed is not evidence (another root's key, or a log forged under made-up key ids)
  if (!broken && check && seq > 0 && !anchored) {
    const last = sealed.find((l) => l.entry.seq === seq)!;
    broken = { line: last.line, reason: "no daemon line is sealed by a key the given key file holds in force: the key is not this root's current daemon key, or the lines are forged" };
  }
  return { ok: !broken, lines: lines.length, daemonLines: seq, agentLines, lastSeq: seq, head, macChecked: check !== undefined, ...(broken ? { broken } : {}), ...(found ? { epic: found } : {}) };
}

/**
 * The agents' lines chained into sealed[i] when it opens a transaction that records agents' lines (its
 * last entry is `agent_lines_recorded`): the copy's lines it names, each with its newline. Undefined
 * when it does not (or names lines the copy does not have: then "" and the lines before are tried,
 * and a wrong guess breaks the chain).
 */
function recordedBefore(sealed: readonly Sealed[], i: number, lines: readonly string[]): string | undefined {
  const n = sealed[i]!.entry.txn;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || i + n > sealed.length) return undefined;
  const last = sealed[i + n - 1]!.entry;
  if (last.decision !== "agent_lines_recorded") return undefined;
  const ranges = (last.details as { lines?: unknown } | undefined)?.lines;
  if (!Array.isArray(ranges)) return undefined;
  let out = "";
  for (const r of ranges) {
    if (!Array.isArray(r) || r.length !== 2 || !Number.isInteger(r[0]) || !Number.isInteger(r[1])) return undefined;
    const [from, to] = r as [number, number];
    if (from < 1 || to > lines.length || to < from) return undefined;
    for (let k = from; k <= to; k++) out += `${lines[k - 1]!}\n`;
  }
  return out;
}
