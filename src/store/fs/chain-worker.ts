/**
 * The worker thread that checks the log of record's chain hashes while the main thread replays it
 * (issue 17.4; started by chain-check.ts). It is given the bytes the main thread read — the very
 * buffers, transferred, never the file again (a file changed between two reads would otherwise be
 * checked in one version and applied in another) — splits them into lines exactly as recovery does,
 * and runs them through StatedChainCheck.
 *
 * workerData: { head, foreign, lines } (the start: the head hash, agents' raw lines since it, lines
 * before it). Messages in: { bytes: ArrayBuffer, length } in file order, then { end: true }. Message
 * out: { done: 1 } as each block is taken, { broken: line } as soon as the chain breaks, and once, after
 * the end, { verdict: true, firstBroken?: number }
 * (see StatedChainCheck).
 */
import { parentPort, workerData } from "node:worker_threads";
import { StatedChainCheck } from "../../log/chain.js";

const start = workerData as { head: string; foreign: string; lines: number };
const check = new StatedChainCheck(start.head, start.foreign, start.lines);
let carry: Buffer = Buffer.alloc(0);

parentPort!.on("message", (m: { bytes: ArrayBuffer; length: number } | { end: true }) => {
  if ("end" in m) {
    // a tail without a newline is not a line (a torn write): recovery does not read it either
    parentPort!.postMessage(check.firstBroken !== undefined ? { verdict: true, firstBroken: check.firstBroken } : { verdict: true });
    return;
  }
  // each block acknowledged: the reader waits when too many are in flight (memory stays bounded)
  parentPort!.postMessage({ done: 1 });
  if (check.firstBroken !== undefined) return;
  const chunk = Buffer.from(m.bytes, 0, m.length);
  const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
  let from = 0;
  for (let nl = buf.indexOf(10, from); nl !== -1; nl = buf.indexOf(10, from)) {
    check.push(buf.toString("utf8", from, nl));
    from = nl + 1;
  }
  carry = Buffer.from(buf.subarray(from));
  // said at once: the reader stops believing stated hashes there and reads again sooner
  if (check.firstBroken !== undefined) parentPort!.postMessage({ broken: check.firstBroken });
});
