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
 * 32 MiB; 0: always). Below it the hashes are checked inline. Measured 2026-11-30 (BENCHMARKS.md): a
 * worker costs ~32 ms of CPU to start (2 ms of it on the main thread) and takes ~1.5–2.2 ms of main-
 * thread time off each MiB of log, while the whole process spends ~2–3 ms more CPU a MiB; at 13 MiB
 * the start was a wash (wall equal, CPU +45 ms), at 66 MiB a small gain, at 665 MiB 1.45 s of main
 * thread. The test suite's roots (kilobytes) never start one.
 */
export function chainWorkerBytes(): number {
  // unset or empty ("" is Number 0, which would start a worker for every replay): the default
  const raw = process.env.CONSENSUS_CHAIN_WORKER_BYTES?.trim();
  const v = raw ? Number(raw) : NaN;
  return Number.isFinite(v) && v >= 0 ? v : 32 * 1024 * 1024;
}

export interface ChainCheck {
  /**
   * Hands over the bytes read next, the first `length` of `bytes`: transferred (detached here after).
   * Returns a promise to await before the next feed when the worker is IN_FLIGHT blocks behind (it
   * has no free core): what waits for it is then bounded, not the whole log.
   */
  feed(bytes: ArrayBuffer, length: number): Promise<void> | undefined;
  /**
   * After the last feed: the first line where the chain does not hold (undefined: it holds), or
   * "failed" when the worker could not answer (it crashed or exited). Ends the worker.
   */
  verdict(): Promise<number | "failed" | undefined>;
  /** Ends the worker without a verdict (recovery failed); idempotent. */
  stop(): void;
  /** The first line where the chain breaks, as soon as the worker found it (before the verdict). */
  readonly broken?: number;
}

/** Blocks (1 MiB each) handed over and not yet taken by the worker before the reader waits. */
const IN_FLIGHT = 64;

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
  let inFlight = 0;
  let resume: (() => void) | undefined;
  const answer = new Promise<number | "failed" | undefined>((resolve) => {
    w.on("message", (m: { done: 1 } | { broken: number } | { verdict: true; firstBroken?: number }) => {
      if ("verdict" in m) return resolve(m.firstBroken);
      if ("broken" in m) {
        check.broken = m.broken;
        return;
      }
      inFlight--;
      resume?.();
    });
    w.once("error", () => resolve("failed"));
    w.once("exit", () => resolve("failed"));
  });
  // a worker that answered or is gone acknowledges nothing more: nobody waits for it
  let gone = false;
  void answer.then(() => {
    gone = true;
    resume?.();
  });
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    resume?.();
    void w.terminate();
  };
  const check: ChainCheck & { broken?: number } = {
    feed(bytes, length) {
      if (stopped || gone) return undefined;
      w.postMessage({ bytes, length }, [bytes]);
      if (++inFlight < IN_FLIGHT) return undefined;
      return new Promise<void>((r) => {
        resume = () => {
          resume = undefined;
          r();
        };
      });
    },
    async verdict() {
      if (!stopped) w.postMessage({ end: true });
      const v = stopped ? "failed" : await answer;
      stop();
      return v;
    },
    stop,
  };
  return check;
}
