/**
 * The chain hashes of a cold replay checked on the second core (issue 17.4): recovery's RecordReader
 * takes daemon lines at their stated hash (deferHashes) while a worker thread (chain-worker.ts)
 * recomputes the chain of the same bytes; recovery awaits its verdict before anything read is used,
 * and reads again with every check on the main thread (a MAC per line) when it is not a clean one.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

/**
 * From how many bytes of log to read a worker is started (CONSENSUS_CHAIN_WORKER_BYTES, default
 * 16 MiB). Below it the hashes are checked inline: starting a worker costs ~40 ms of CPU and its
 * SHA-256 saves the main thread ~1.4 ms a MB (measured 2026-11-30, BENCHMARKS.md), so small logs —
 * and the test suite's many tiny roots — are faster without one.
 */
export function chainWorkerBytes(): number {
  const v = Number(process.env.CONSENSUS_CHAIN_WORKER_BYTES);
  return process.env.CONSENSUS_CHAIN_WORKER_BYTES !== undefined && Number.isFinite(v) && v >= 0 ? v : 16 * 1024 * 1024;
}

export interface ChainCheck {
  /** Hands over the bytes read next, the first `length` of `bytes`: transferred (detached here after). */
  feed(bytes: ArrayBuffer, length: number): void;
  /**
   * After the last feed: the first line where the chain does not hold (undefined: it holds), or
   * "failed" when the worker could not answer (it crashed or exited). Ends the worker.
   */
  verdict(): Promise<number | "failed" | undefined>;
  /** Ends the worker without a verdict (recovery failed); idempotent. */
  stop(): void;
}

const workerFile = new URL("./chain-worker.js", import.meta.url);

/**
 * Starts the worker from the start of the bytes to be read: the head hash, agents' raw lines after it
 * (each with its newline), the number of lines before it. Undefined when there is no built worker
 * file (source run by a test runner): the caller checks the hashes itself.
 */
export function startChainCheck(start: { head: string; foreign: string; lines: number }): ChainCheck | undefined {
  if (!existsSync(fileURLToPath(workerFile))) return undefined;
  const w = new Worker(workerFile, { workerData: start });
  let stopped = false;
  const answer = new Promise<number | "failed" | undefined>((resolve) => {
    w.once("message", (m: { firstBroken?: number }) => resolve(m.firstBroken));
    w.once("error", () => resolve("failed"));
    w.once("exit", () => resolve("failed"));
  });
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    void w.terminate();
  };
  return {
    feed(bytes, length) {
      if (!stopped) w.postMessage({ bytes, length }, [bytes]);
    },
    async verdict() {
      if (!stopped) w.postMessage({ end: true });
      const v = stopped ? "failed" : await answer;
      stop();
      return v;
    },
    stop,
  };
}
