/**
 * The worker thread that checks a cold replay's chain hashes (issue 17.4), as built (dist/: a worker
 * runs the compiled file): it is given the bytes recovery read, in blocks that split lines anywhere,
 * and answers the first line whose stated hash is not its chain hash — the same line StatedChainCheck
 * names — or "failed" when it cannot answer.
 */
import { afterEach, describe, expect, it } from "vitest";
import { GENESIS, StatedChainCheck, unsealLine } from "../../src/log/chain.js";
import { chainWorkerBytes, type ChainCheck, type startChainCheck as StartChainCheck } from "../../src/store/fs/chain-check.js";
import { sealedLog, type LogStep } from "../support/sealed-log.js";

const built = "../../dist/store/fs/chain-check.js";
// the built file (a worker runs compiled code), with the source's types
const { startChainCheck } = (await import(built)) as { startChainCheck: typeof StartChainCheck };

/** Daemon lines with an agent's line (non-ASCII text) before every 7th. */
const log = (n: number): string[] =>
  sealedLog(
    Array.from({ length: n }, (_, i) => i + 1).flatMap((seq): LogStep[] => [
      ...(seq % 7 === 0 ? [{ agent: JSON.stringify({ agent: "developer", decision: "note", details: { seq, text: "é ✓ ".repeat(seq % 5) } }) }] : []),
      { body: () => JSON.stringify({ seq, timestamp: "2026-11-21T10:00:00Z", agent: "orchestrator", decision: "message_accepted", details: { note: "ü".repeat(seq % 13) } }) },
    ]),
    () => `k1.${"a".repeat(64)}`,
  ).lines;

/** The worker's verdict on the text, fed in blocks of `block` bytes (each an ArrayBuffer of its own). */
async function viaWorker(text: string, block: number, lines = 0, head = GENESIS): Promise<number | "failed" | undefined> {
  const c = start(head, lines);
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += block) {
    const ab = new ArrayBuffer(block);
    const n = bytes.copy(Buffer.from(ab), 0, at, Math.min(bytes.length, at + block));
    // awaited as recovery does: the worker holds at most a bounded number of blocks
    await c.feed(ab, n);
  }
  const v = await c.verdict();
  // the break was also said as soon as it was found (before the verdict)
  expect(c.broken).toBe(typeof v === "number" ? v : undefined);
  return v;
}

function start(head: string, lines: number): ChainCheck {
  const c = startChainCheck({ head, foreign: "", lines });
  expect(c).toBeDefined();
  return c!;
}

function inline(text: string, lines = 0, head = GENESIS): number | undefined {
  const c = new StatedChainCheck(head, "", lines);
  const all = text.split("\n");
  all.pop(); // the tail without a newline is not a line
  for (const l of all) c.push(l);
  return c.firstBroken;
}

describe("the chain worker", () => {
  const lines = log(300);
  it("an intact log, fed in blocks that split lines and characters: no break", async () => {
    const text = `${lines.join("\n")}\n`;
    for (const block of [7, 4096, 1 << 20]) expect(await viaWorker(text, block)).toBeUndefined();
  });

  it("an edited body, an edited agent's line, a removed line: the first break, the line StatedChainCheck names", async () => {
    const edits: string[][] = [
      lines.map((l, i) => (i === 40 ? l.replace('"note":"', '"note":"x') : l)),
      lines.map((l, i) => (i === 6 ? l.replace("developer", "planner") : l)),
      lines.filter((_, i) => i !== 100),
    ];
    for (const e of edits) {
      const text = `${e.join("\n")}\n`;
      const want = inline(text);
      expect(want).toBeDefined();
      expect(await viaWorker(text, 1000)).toBe(want);
    }
  });

  it("counts lines on from where reading starts (after a checkpoint), and leaves out a torn tail", async () => {
    const h = unsealLine(lines[9]!)!.hash;
    const text = `${lines.slice(10).join("\n")}\n${lines[0]!.slice(0, 30)}`;
    expect(await viaWorker(text, 999, 10, h)).toBeUndefined();
    const bad = `${lines.slice(10).map((l, i) => (i === 5 ? l.replace('"seq":', '"seq": ') : l)).join("\n")}\n`;
    expect(await viaWorker(bad, 999, 10, h)).toBe(inline(bad, 10, h));
  });

  it("a worker that cannot answer (stopped, or given what it cannot read) is a failed verdict", async () => {
    const c = startChainCheck({ head: GENESIS, foreign: "", lines: 0 })!;
    c.stop();
    expect(await c.verdict()).toBe("failed");
    const d = startChainCheck({ head: GENESIS, foreign: "", lines: 0 })!;
    await d.feed(new ArrayBuffer(8), 64); // more bytes than given: the worker throws
    // feeding on does not wait for a worker that is gone
    for (let i = 0; i < 200; i++) await d.feed(new ArrayBuffer(8), 8);
    expect(await d.verdict()).toBe("failed");
  });
});

describe("CONSENSUS_CHAIN_WORKER_BYTES", () => {
  const was = process.env.CONSENSUS_CHAIN_WORKER_BYTES;
  afterEach(() => {
    if (was === undefined) delete process.env.CONSENSUS_CHAIN_WORKER_BYTES;
    else process.env.CONSENSUS_CHAIN_WORKER_BYTES = was;
  });
  it("a number of bytes is taken (0: always); unset, empty, negative or not a number is the default", () => {
    const at = (v: string | undefined): number => {
      if (v === undefined) delete process.env.CONSENSUS_CHAIN_WORKER_BYTES;
      else process.env.CONSENSUS_CHAIN_WORKER_BYTES = v;
      return chainWorkerBytes();
    };
    expect(at("0")).toBe(0);
    expect(at("1048576")).toBe(1 << 20);
    for (const v of [undefined, "", " ", "-1", "lots"]) expect(at(v)).toBe(32 * 1024 * 1024);
  });
});
