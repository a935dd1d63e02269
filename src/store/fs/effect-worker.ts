/**
 * The worker thread that writes the daemon's small effect files (issue 17.2; started by
 * effect-writer.ts): notices and archive copies, each by writeEffectFileSync, the very function the
 * daemon's thread runs without a worker. Creating those files is most of a drop's kernel time (an inode
 * and a folder entry each, on ext4 50–300 µs), which here runs on the second core while the event loop
 * decides the next batch.
 *
 * Messages in: an array of { id, root, target, bytes, dirMode }, written in order. Message out, once
 * per array: an array of { id, changed } or { id, changed, error } (error: SerializedError).
 */
import { parentPort } from "node:worker_threads";
import { EffectFileError, writeEffectFileSync } from "./effect-file.js";
import { serializeError, type EffectJob, type EffectDone } from "./effect-writer.js";

parentPort!.on("message", (jobs: EffectJob[]) => {
  const out: EffectDone[] = [];
  for (const j of jobs) {
    try {
      out.push({ id: j.id, changed: writeEffectFileSync(j.root, j.target, j.bytes, j.dirMode) });
    } catch (e) {
      const failed = e instanceof EffectFileError ? e : new EffectFileError(e, []);
      out.push({ id: j.id, changed: failed.changed, error: serializeError(failed.cause) });
    }
  }
  parentPort!.postMessage(out);
});
