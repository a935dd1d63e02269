/**
 * Issue 17.4: a cold start checks the chain hashes of the log of record on a worker thread
 * (CONSENSUS_CHAIN_WORKER_BYTES=0 starts one for any log) while it replays. An edited log must be
 * found exactly as when the daemon checks every hash itself: the same findings with their line
 * numbers, the same cut, the same state.
 */
import { cpSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { unsealLine } from "../../src/log/chain.js";
import { Bus } from "../support/bus.js";

const buses: Bus[] = [];
afterEach(() => {
  for (const b of buses.splice(0)) b.cleanup();
});
/** Preload that says on stderr each worker thread started. */
const sayWorkers = fileURLToPath(new URL("../support/say-workers.mjs", import.meta.url));
const recordOf = (b: Bus) => join(b.root, ".consensus", "log.jsonl");
const FOUND = new Set(["log_chain_broken", "log_record_forged", "log_torn_transaction"]);

/** A root with a few transactions, its checkpoint removed (the whole log is replayed at start). */
function root(): Bus {
  const b = Bus.init();
  buses.push(b);
  for (const id of ["EP-001", "EP-002", "EP-003"]) expect(b.cli("start", id, "--title", `Title ${id}`).code).toBe(0);
  expect(b.cli("watch", "--once").code).toBe(0);
  return b;
}

/** The same root started cold with and without the worker: what each found and the state it came to. */
function both(b: Bus): Array<{ found: unknown[]; status: unknown; bytes: number }> {
  rmSync(join(b.root, ".consensus", "checkpoint.json"), { force: true });
  const c = new Bus();
  buses.push(c);
  cpSync(b.root, c.root, { recursive: true });
  return [
    [b, "0"],
    [c, String(1 << 30)],
  ].map(([bus, bytes]) => {
    const x = bus as Bus;
    const r = x.cliWith({ CONSENSUS_CHAIN_WORKER_BYTES: bytes as string, NODE_OPTIONS: `--import ${sayWorkers}` }, "watch", "--once");
    expect(r.code, r.stderr).toBe(0);
    // the worker run did start the chain worker, the other not: else both would be the inline path
    expect(r.stderr.includes("chain-worker.js"), r.stderr).toBe(bytes === "0");
    return {
      found: x.entries().filter((e) => FOUND.has(e.decision)).map((e) => ({ decision: e.decision, details: e.details })),
      status: JSON.parse(x.cli("status", "--json").stdout) as unknown,
      bytes: statSync(recordOf(x)).size,
    };
  });
}

describe("cold start with the chain hashes checked on a worker thread", () => {
  it("a daemon line's body edited under its old hash: found as without the worker (not applied)", () => {
    const b = root();
    const lines = readFileSync(recordOf(b), "utf8").split("\n");
    // a line chained directly on the daemon line before it: the one the replay takes at its stated hash
    const i = lines.findIndex((l, k) => k > 0 && unsealLine(lines[k - 1]!) !== undefined && l.includes('"title":"Title EP-002"'));
    expect(i).toBeGreaterThan(0);
    lines[i] = lines[i]!.replace('"title":"Title EP-002"', '"title":"Edited"');
    writeFileSync(recordOf(b), lines.join("\n"));
    const [worker, inline] = both(b);
    expect(worker).toEqual(inline);
    expect(worker!.found.length).toBeGreaterThan(0);
    expect(JSON.stringify(worker!.status)).not.toContain("Edited");
  });

  it("a torn last transaction: cut the same", () => {
    const b = root();
    truncateSync(recordOf(b), statSync(recordOf(b)).size - 25);
    const [worker, inline] = both(b);
    expect(worker).toEqual(inline);
    expect(worker!.found.map((f) => (f as { decision: string }).decision)).toContain("log_torn_transaction");
  });

  it("an intact log: nothing found, the same state", () => {
    const [worker, inline] = both(root());
    expect(worker).toEqual(inline);
    expect(worker!.found).toEqual([]);
  });
});
