/**
 * Issue 17.4: a cold replay takes daemon lines at their stated hash (deferHashes) while a worker checks
 * the chain of the same bytes (StatedChainCheck). Every way of editing the log must come out exactly as
 * the reader that checks each hash itself finds it: the same path (fast, or read again with a MAC per
 * line), the same findings with their line numbers, the same lines applied and the same cut.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { GENESIS, StatedChainCheck, sealLine, unsealLine, type LineCheck, type LineMac } from "../../src/log/chain.js";
import { RecordReader } from "../../src/log/record-reader.js";
import { sealedLog, type LogStep } from "../support/sealed-log.js";

const KEY = "k".repeat(32);
const macOf = (s: string): string => createHmac("sha256", KEY).update(s).digest("hex");
const mac: LineMac = (s) => `k1.${macOf(s)}`;
const check: LineCheck = (s, m) => m === `k1.${macOf(s)}`;

type Step = { txn: number } | { agent: string };
const agentLine = (n: number): string => JSON.stringify({ timestamp: "2026-11-21T10:00:00Z", agent: "developer", decision: "note", details: { n } });

/** A log as the daemon writes it: transactions of `txn` lines, agents' lines chained into the next one. */
const build = (steps: Step[]): string[] =>
  sealedLog(
    steps.flatMap((s): LogStep[] => ("agent" in s ? [s] : Array.from({ length: s.txn }, (_, i) => ({ body: (seq: number) => JSON.stringify({ seq, ...(i === 0 ? { txn: s.txn } : {}), timestamp: "2026-11-21T10:00:00Z", agent: "orchestrator", decision: "message_accepted", details: { message_id: `m${seq}` } }) })))),
    mac,
  ).lines;

const LOG = build([{ txn: 1 }, { txn: 3 }, { agent: agentLine(1) }, { txn: 2 }, { txn: 1 }, { agent: agentLine(2) }, { agent: agentLine(3) }, { txn: 4 }, { txn: 1 }, { txn: 2 }, { txn: 1 }]);

/** Re-chains lines from..end as someone without the key would (hashes right, MACs left as they were). */
function rechain(lines: string[], from: number): string[] {
  const out = [...lines];
  let head = GENESIS;
  let foreign = "";
  for (let i = 0; i < out.length; i++) {
    const s = unsealLine(out[i]!);
    if (!s) {
      foreign += `${out[i]!}\n`;
      continue;
    }
    if (i >= from) {
      const m = /,"mac":"[^"]*"\}$/.exec(out[i]!);
      const re = sealLine(s.body, head, foreign);
      out[i] = m ? `${re.line.slice(0, -1)}${m[0]}` : re.line;
    }
    head = unsealLine(out[i]!)!.hash;
    foreign = "";
  }
  return out;
}

type Mode = "inline" | "worker" | "no-verdict";

/** Recovery's two passes (fs-store recoverFrom): deferred, then a MAC per line when the first says so. */
function recover(text: string, mode: Mode) {
  const run = (deferMacs: boolean) => {
    const applied: number[] = [];
    const r = new RecordReader({ seq: 0, head: GENESIS, foreignText: "", foreignLines: [], offset: 0, lines: 0 }, check, (txn) => applied.push(...txn.map((l) => l.entry.seq)), { deferMacs, deferHashes: deferMacs && mode !== "inline" });
    const worker = new StatedChainCheck(GENESIS, "", 0);
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      const line = text.slice(start, nl);
      r.push(line, Buffer.byteLength(text.slice(0, nl + 1)));
      worker.push(line);
      start = nl + 1;
    }
    const torn = r.finish(start < text.length);
    if (mode === "worker") r.hashesChecked(worker.firstBroken);
    return { r, applied, torn };
  };
  const fast = run(true);
  const used = fast.r.needFull ? run(false) : fast;
  return { path: fast.r.needFull ? "full" : "fast", findings: used.r.findings.map((f) => ({ decision: f.decision, line: f.details.line, seq: f.details.seq })), applied: used.applied, committed: used.r.committed, torn: used.torn };
}

const join = (lines: string[]): string => `${lines.join("\n")}\n`;
const editBody = (line: string): string => line.replace('"decision":"message_accepted"', '"decision":"message_accepted","planted":1');

const cases: Array<[string, string, "different path"?]> = [
  ["an intact log", join(LOG)],
  ["a body edited in the middle, its stated hash left", join(LOG.map((l, i) => (i === 2 ? editBody(l) : l)))],
  ["a body edited after an agent's line, its stated hash left", join(LOG.map((l, i) => (i === 5 ? editBody(l) : l)))],
  ["the first line's body edited", join(LOG.map((l, i) => (i === 0 ? editBody(l) : l)))],
  ["the last line's body edited", join(LOG.map((l, i) => (i === LOG.length - 1 ? editBody(l) : l)))],
  ["an edited line re-hashed, the lines after it not", join(LOG.map((l, i) => (i === 2 ? rechain(LOG.map((x, j) => (j === 2 ? editBody(x) : x)), 2)[2]! : l)))],
  ["an edited line and every line after it re-hashed (the chain holds, the MACs do not)", join(rechain(LOG.map((l, i) => (i === 2 ? editBody(l) : l)), 2))],
  ["an agent's line inserted between transactions", join([...LOG.slice(0, 4), agentLine(9), ...LOG.slice(4)])],
  // the reader chains no agent's line inside a transaction (the daemon never writes one there) and
  // finds nothing; the worker chains it as `log verify` does and finds a break: read again, same outcome
  ["an agent's line inserted inside a transaction", join([...LOG.slice(0, 2), agentLine(9), ...LOG.slice(2)]), "different path"],
  ["an agent's line edited", join(LOG.map((l, i) => (i === 4 ? l.replace('"n":1', '"n":7') : l)))],
  ["a daemon line removed", join(LOG.filter((_, i) => i !== 7))],
  ["a torn last transaction (lines missing)", join(LOG.slice(0, -2))],
  ["a torn last line (no newline)", `${join(LOG.slice(0, -1))}${LOG.at(-1)!.slice(0, 40)}`],
  ["a sealed line that is not JSON", join(LOG.map((l, i) => (i === 6 ? l.replace('"seq":', '"seq":,') : l)))],
];

describe("deferred chain hashes come out as the hashes checked inline", () => {
  for (const [name, text, path] of cases)
    it(name, () => {
      const { path: a, ...worker } = recover(text, "worker");
      const { path: b, ...inline } = recover(text, "inline");
      expect(worker).toEqual(inline);
      if (path === "different path") expect([a, b]).toEqual(["full", "fast"]);
      else expect(a).toBe(b);
    });

  it("an edited body under its old hash is applied unless the worker's verdict is heeded", () => {
    const text = join(LOG.map((l, i) => (i === 2 ? editBody(l) : l)));
    // the reader alone takes the stated hash: the edit goes through, the verdict is what stops it
    expect(recover(text, "no-verdict").path).toBe("fast");
    const heeded = recover(text, "worker");
    expect(heeded.path).toBe("full");
    expect(heeded).toEqual(recover(text, "inline"));
    expect(heeded.findings[0]).toEqual({ decision: "log_record_forged", line: 3, seq: 3 });
  });

  it("a worker that could not answer is not believed", () => {
    const r = new RecordReader({ seq: 0, head: GENESIS, foreignText: "", foreignLines: [], offset: 0, lines: 0 }, check, () => {}, { deferMacs: true, deferHashes: true });
    for (const l of LOG) r.push(l, 0);
    r.finish(false);
    expect(r.needFull).toBe(false);
    r.hashesChecked("failed");
    expect(r.needFull).toBe(true);
  });
});
