/**
 * The decision log's hash chain and seals (PROTOCOL §7, "Trust"). Pure.
 *
 * A daemon line is its JSON body with `"hash"` appended, then (in the log of record,
 * `.consensus/log.jsonl`) `"mac"`: `{…body…,"hash":"<64 hex>","mac":"<key id>.<64 hex>"}`. The hash is
 * SHA-256(previous daemon hash + every raw line agents appended since + this body), so editing,
 * inserting or deleting any line — the daemon's or an agent's — breaks the chain at the next daemon
 * line; anyone can check it without a key. The MAC is HMAC-SHA-256 under the daemon key's "log"
 * sub-key of the line up to and including the hash (the text before `,"mac"`): only the daemon can make
 * it, so a line correctly re-hashed by someone without the key is still told apart (forged).
 * Verifying strips hash and MAC textually (no re-serialisation, so no ambiguity about key order).
 */
import { hash } from "node:crypto";

export const GENESIS = "0".repeat(64);
const SEAL_SUFFIX = /,"hash":"([0-9a-f]{64})"(?:,"mac":"([^"\\]{0,200})")?\}$/;

export function chainHash(prev: string, foreign: string, body: string): string {
  // one-shot over the concatenation: the same digest as three updates, without a Hash object per
  // line (2.8 µs instead of 4.4 µs for a 900-byte line; recovery hashes every line: issue 17.4)
  return hash("sha256", prev + foreign + body, "hex");
}

/** Makes a MAC tag of the text it is given (Keyring.mac bound to the "log" purpose). */
export type LineMac = (signed: string) => string;
/**
 * Checks a MAC tag of a text: true (made by a key in force), false (forged), or "old": made by a key
 * the ring no longer holds or has retired. Lines are sealed in key order, so an "old" line is believed
 * only before the first line sealed by a key in force (history from before a rotation) and while the
 * chain holds; after it, "old" is forged.
 */
export type LineCheck = (signed: string, mac: string) => boolean | "old";

/**
 * Seals a daemon entry body (a JSON object text without hash) into its log line; with `mac`, the line
 * also carries the MAC of everything before it.
 */
export function sealLine(body: string, prev: string, foreign: string, mac?: LineMac): { line: string; hash: string } {
  const hash = chainHash(prev, foreign, body);
  const signed = `${body.slice(0, -1)},"hash":"${hash}"`;
  return { line: mac ? `${signed},"mac":"${mac(signed)}"}` : `${signed}}`, hash };
}

/**
 * Splits a line that claims to be the daemon's into its body, hash and MAC (and the text the MAC
 * covers); undefined for lines that do not claim to be the daemon's (agents' lines).
 */
export function unsealLine(line: string): { body: string; hash: string; mac?: string; signed: string } | undefined {
  if (!line.startsWith("{") || !line.includes('"agent":"orchestrator"')) return undefined;
  const m = SEAL_SUFFIX.exec(line);
  if (!m) return undefined;
  const signed = `${line.slice(0, m.index)},"hash":"${m[1]!}"`;
  return { body: `${line.slice(0, m.index)}}`, hash: m[1]!, ...(m[2] !== undefined ? { mac: m[2] } : {}), signed };
}

/**
 * Whether a line claims to be the daemon's: it names the orchestrator as its agent, however it is
 * spaced or escaped, or carries a chain hash. Such a line is either the daemon's (sealed) or forged.
 */
export function claimsDaemon(text: string): boolean {
  if (unsealLine(text)) return true;
  if (/"agent"\s*:\s*"orchestrator"/.test(text) || /"hash"\s*:\s*"[0-9a-f]{64}"/.test(text)) return true;
  try {
    const v = JSON.parse(text) as { agent?: unknown; hash?: unknown };
    return typeof v === "object" && v !== null && (v.agent === "orchestrator" || v.hash !== undefined);
  } catch {
    return false;
  }
}

/**
 * The chain hashes of a run of log lines, checked apart from everything else (issue 17.4: in a worker
 * thread, beside a RecordReader with deferHashes that takes them unchecked). Each line that unsealLine
 * takes for the daemon's must carry chainHash(the previous such line's stated hash, or the start head;
 * the raw lines since that it does not take; its body). Nothing else is looked at (no seq, no JSON, no
 * MAC: the reader checks those), so this holds on at least every line the reader took unchecked.
 * Push lines (without their newline) in order; `firstBroken` is the first line (1-based, counted on
 * from `lines`) where it does not hold. Pure.
 */
export class StatedChainCheck {
  /** The first line whose stated hash is not its chain hash; lines after it are not looked at. */
  firstBroken?: number;

  constructor(
    private head: string,
    private foreign: string,
    private lineNo: number,
  ) {}

  push(line: string): void {
    this.lineNo++;
    if (this.firstBroken !== undefined) return;
    const s = unsealLine(line);
    if (!s) {
      this.foreign += `${line}\n`;
      return;
    }
    if (chainHash(this.head, this.foreign, s.body) !== s.hash) {
      this.firstBroken = this.lineNo;
      return;
    }
    this.head = s.hash;
    this.foreign = "";
  }
}

export interface ChainResult {
  ok: boolean;
  lines: number;
  daemonLines: number;
  agentLines: number;
  lastSeq: number;
  head: string;
  broken?: ChainBreak;
}

export interface ChainBreak {
  /** 1-based line number in the file. */
  line: number;
  reason: string;
}

/**
 * Streaming verifier: push every line (without its newline) in order. Lines that claim to be the
 * daemon's must chain and number without a gap (and, given `check`, carry a MAC that checks); other
 * lines are agents' and are carried into the next daemon hash.
 */
export class ChainVerifier {
  private head = GENESIS;
  private seq = 0;
  private foreign = "";
  private lineNo = 0;
  private daemonLines = 0;
  private agentLines = 0;
  /** A line sealed by a key in force was seen: "old" seals after it are forged. */
  private anchored = false;
  broken?: ChainBreak;

  constructor(private readonly check?: LineCheck) {}

  push(line: string): void {
    this.lineNo++;
    if (this.broken) return;
    const sealed = unsealLine(line);
    if (!sealed) {
      // Not a sealed daemon line (an agent's line, or a torn write): its bytes are chained into the
      // next daemon hash, so it cannot be altered or slipped in later without breaking the chain.
      this.agentLines++;
      this.foreign += `${line}\n`;
      return;
    }
    let seq: unknown;
    try {
      seq = (JSON.parse(sealed.body) as { seq?: unknown }).seq;
    } catch {
      this.broken = { line: this.lineNo, reason: "an orchestrator line that is not valid JSON" };
      return;
    }
    if (seq !== this.seq + 1) {
      this.broken = { line: this.lineNo, reason: `sequence number ${String(seq)} where ${this.seq + 1} was due (a line was removed, inserted or reordered)` };
      return;
    }
    const expect = chainHash(this.head, this.foreign, sealed.body);
    if (expect !== sealed.hash) {
      this.broken = { line: this.lineNo, reason: `hash does not match: this line, or a line after seq ${this.seq}, was edited` };
      return;
    }
    if (this.check) {
      const c = sealed.mac === undefined ? false : this.check(sealed.signed, sealed.mac);
      if (c === true) this.anchored = true;
      if (c === false || (c === "old" && this.anchored)) {
        this.broken = { line: this.lineNo, reason: sealed.mac === undefined ? "no MAC: the line was not sealed by the daemon (forged)" : c === "old" ? "sealed with a key no longer in force, after lines sealed with the current one (forged)" : "the MAC does not check: the line was made without the daemon key (forged)" };
        return;
      }
    }
    this.head = sealed.hash;
    this.seq++;
    this.daemonLines++;
    this.foreign = "";
  }

  result(): ChainResult {
    return { ok: !this.broken, lines: this.lineNo, daemonLines: this.daemonLines, agentLines: this.agentLines, lastSeq: this.seq, head: this.head, ...(this.broken ? { broken: this.broken } : {}) };
  }
}
