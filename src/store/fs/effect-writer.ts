/**
 * Where the store's small effect files are written (issue 17.2): on a worker thread (effect-worker.ts)
 * for the daemon, so creating a drop's notice and archive copy (most of its kernel time) runs on the
 * second core while the event loop decides the next batch; on the calling thread for everything else
 * (a command's one-off effects, tests running the sources), or when the worker cannot be had. Both run
 * writeEffectFileSync (effect-file.ts): the same checks wherever the file is written.
 *
 * Writes asked in the same turn of the event loop go to the worker as one message and come back as
 * one (a burst's lanes ask hundreds at once). While the worker is idle, the first two writes of a turn
 * are made at once on the calling thread, and so are the rest of the turn's when they are few (a drop
 * alone): the round trip would only make them later. A worker that fails or exits has its writes in flight
 * done again on the calling thread (each is a temporary + rename: doing one twice leaves the same
 * file), and every later write is done there too.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { ConsensusError, type Issue } from "../../errors/issue.js";
import { EffectFileError, writeEffectFileSync } from "./effect-file.js";

/** One write, as asked. */
interface EffectJob {
  id: number;
  root: string;
  target: string;
  bytes: Uint8Array;
  dirMode: number;
}

/**
 * The writes of one message to the worker, in a form that costs little to post (a job as an object,
 * its Buffer as it is, was 37 µs of main-thread time a write: a Buffer is cloned with the whole
 * ArrayBuffer under it, Node's 8 KiB pool for a small one, and every object with its keys). Job k:
 * `meta[4k..4k+3]` = id, offset and length of its bytes in `bytes`, folder mode; its root and target
 * are `paths.split("\0")[2k]` and `[2k + 1]` (a path never holds a NUL). `bytes` and `meta` are
 * transferred.
 */
export interface EffectBatch {
  bytes: ArrayBuffer;
  meta: Int32Array;
  paths: string;
}

/** The worker's answer to a batch: the ids of the writes that made no folder, and every other outcome. */
export interface EffectReply {
  plain: Int32Array;
  other: EffectDone[];
}

/** An error carried across the thread boundary: a ConsensusError's issues, or an errno error's fields. */
export type SerializedError = { issues: Issue[]; exitCode: number } | { message: string; code?: string; errno?: number; syscall?: string; path?: string };

/** One write's outcome, as the worker answers it. */
export interface EffectDone {
  id: number;
  changed: string[];
  error?: SerializedError;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof ConsensusError) return { issues: e.issues, exitCode: e.exitCode };
  const x = e as NodeJS.ErrnoException;
  const out: SerializedError = { message: String(x?.message ?? e) };
  if (typeof x?.code === "string") out.code = x.code;
  if (typeof x?.errno === "number") out.errno = x.errno;
  if (typeof x?.syscall === "string") out.syscall = x.syscall;
  if (typeof x?.path === "string") out.path = x.path;
  return out;
}

export function deserializeError(s: SerializedError): Error {
  if ("issues" in s) return new ConsensusError(s.issues, s.exitCode);
  const e = new Error(s.message) as NodeJS.ErrnoException;
  if (s.code !== undefined) e.code = s.code;
  if (s.errno !== undefined) e.errno = s.errno;
  if (s.syscall !== undefined) e.syscall = s.syscall;
  if (s.path !== undefined) e.path = s.path;
  return e;
}

export interface EffectWriter {
  /**
   * Writes `bytes` (small: the caller keeps large files off both threads' loops) at `target` below
   * `root`, its missing folders made with `dirMode`. Resolves the folders whose entries changed;
   * rejects with EffectFileError (cause: the errno error or ConsensusError UNSAFE_PATH; changed: the
   * folders made before the failure).
   */
  write(root: string, target: string, bytes: Uint8Array, dirMode: number): Promise<string[]>;
  /** Waits for the writes in flight, then ends the worker (later writes run on the calling thread). */
  close(): Promise<void>;
  /** Whether writes go to a worker thread (started at the first write). */
  readonly threaded: boolean;
}

const workerFile = new URL("./effect-worker.js", import.meta.url);

/**
 * Fewer writes than this left in a turn while the worker has none are made on the calling thread too
 * (one lane's writes follow each other in a turn: a drop's third effect file must not pay a round trip).
 */
const INLINE_BELOW = 4;
/** The first writes of a turn while the worker has none are made at once on the calling thread: this many. */
const INLINE_FIRST = 2;

const inline = (root: string, target: string, bytes: Uint8Array, dirMode: number): Promise<string[]> => {
  try {
    return Promise.resolve(writeEffectFileSync(root, target, bytes, dirMode));
  } catch (e) {
    return Promise.reject(e as Error);
  }
};

/**
 * The store's effect writer. `worker`: on a worker thread when the built worker file is there (a
 * test runner running the sources has none) and CONSENSUS_EFFECT_WORKER is not "0". `onFailed` is told
 * once if the worker fails or exits on its own (its writes then run on the calling thread).
 */
export function effectWriter(opts: { worker?: boolean; onFailed?: (err: Error) => void; /** tests: another worker script */ workerFile?: URL } = {}): EffectWriter {
  const file = opts.workerFile ?? workerFile;
  const wanted = opts.worker === true && process.env.CONSENSUS_EFFECT_WORKER !== "0" && existsSync(fileURLToPath(file));
  if (!wanted) return { write: inline, close: async () => {}, threaded: false };
  return new ThreadedWriter(file, opts.onFailed);
}

class ThreadedWriter implements EffectWriter {
  readonly threaded = true;
  private w?: Worker;
  private dead = false;
  private nextId = 1;
  private queued: EffectJob[] = [];
  private scheduled = false;
  private inFlight = new Map<number, { job: EffectJob; resolve: (c: string[]) => void; reject: (e: Error) => void }>();
  private drained?: () => void;
  /** Writes posted to the worker and not answered yet. */
  private atWorker = 0;

  constructor(
    private readonly file: URL,
    private readonly onFailed?: (err: Error) => void,
  ) {}

  write(root: string, target: string, bytes: Uint8Array, dirMode: number): Promise<string[]> {
    // a path with a NUL cannot be sent in the batch's `paths`: made here (where the write refuses it)
    if (this.dead || root.includes("\0") || target.includes("\0")) return inline(root, target, bytes, dirMode);
    // the first writes of a turn while the worker has none (a drop alone) are made at once, here: a
    // round trip to an idle thread, or even a turn of the loop, only makes its notice later (issue 17.3)
    const now = this.atWorker === 0 && this.inlineInTurn < INLINE_FIRST;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.send());
    }
    if (now) {
      this.inlineInTurn++;
      return inline(root, target, bytes, dirMode);
    }
    const job: EffectJob = { id: this.nextId++, root, target, bytes, dirMode };
    const p = new Promise<string[]>((resolve, reject) => this.inFlight.set(job.id, { job, resolve, reject }));
    this.queued.push(job);
    return p;
  }

  /** Writes made at once (write) in this turn of the event loop; send() starts the next turn's count. */
  private inlineInTurn = 0;

  private worker(): Worker {
    if (this.w) return this.w;
    const w = new Worker(this.file);
    w.on("message", (r: EffectReply) => this.settle(r));
    w.once("error", (e) => this.fallBack(e));
    w.once("exit", (code) => this.fallBack(new Error(`the effect writer thread exited (code ${code})`)));
    return (this.w = w);
  }

  private send(): void {
    this.scheduled = false;
    this.inlineInTurn = 0;
    const jobs = this.queued;
    this.queued = [];
    if (!jobs.length) return;
    if (this.dead || (this.atWorker === 0 && jobs.length < INLINE_BELOW)) return this.runInline(jobs.map((j) => j.id));
    this.atWorker += jobs.length;
    const w = this.worker();
    // held while writes are out, so a command's process does not end before its notice is written
    w.ref();
    const all = new Uint8Array(jobs.reduce((n, j) => n + j.bytes.length, 0));
    const meta = new Int32Array(jobs.length * 4);
    const paths: string[] = [];
    let at = 0;
    jobs.forEach((j, k) => {
      all.set(j.bytes, at);
      meta.set([j.id, at, j.bytes.length, j.dirMode], k * 4);
      paths.push(j.root, j.target);
      at += j.bytes.length;
    });
    const batch: EffectBatch = { bytes: all.buffer, meta, paths: paths.join("\0") };
    w.postMessage(batch, [batch.bytes, meta.buffer]);
  }

  private settle({ plain, other }: EffectReply): void {
    this.atWorker -= plain.length + other.length;
    for (const id of plain) {
      const f = this.inFlight.get(id);
      if (!f) continue;
      this.inFlight.delete(id);
      f.resolve([]);
    }
    for (const d of other) {
      const f = this.inFlight.get(d.id);
      if (!f) continue;
      this.inFlight.delete(d.id);
      if (d.error) f.reject(new EffectFileError(deserializeError(d.error), d.changed));
      else f.resolve(d.changed);
    }
    if (!this.inFlight.size) {
      this.w?.unref();
      this.drained?.();
    }
  }

  /** The worker failed or exited: what it had not answered is written here, and so is every later write. */
  private fallBack(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.onFailed?.(err);
    this.runInline([...this.inFlight.keys()]);
  }

  private runInline(ids: number[]): void {
    for (const id of ids) {
      const f = this.inFlight.get(id);
      if (!f) continue;
      this.inFlight.delete(id);
      const j = f.job;
      inline(j.root, j.target, j.bytes, j.dirMode).then(f.resolve, f.reject);
    }
    if (!this.inFlight.size) this.drained?.();
  }

  async close(): Promise<void> {
    if (this.inFlight.size) await new Promise<void>((r) => (this.drained = r));
    this.drained = undefined;
    const w = this.w;
    this.dead = true;
    this.w = undefined;
    if (w) {
      w.removeAllListeners("exit");
      w.removeAllListeners("error");
      // an error after this is the worker's end, not a write's
      w.on("error", () => {});
      await w.terminate();
    }
  }
}
