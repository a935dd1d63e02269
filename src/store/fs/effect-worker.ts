/**
 * The worker thread that writes the daemon's small effect files (issue 17.2; started by
 * effect-writer.ts): notices and archive copies, each by writeEffectFileSync, the very function the
 * daemon's thread runs without a worker. Creating those files is most of a drop's kernel time (an inode
 * and a folder entry each, on ext4 50–300 µs), which here runs on the second core while the event loop
 * decides the next batch.
 *
 * Messages in: EffectBatch (effect-writer.ts), its writes made in order. Message out, once per batch:
 * EffectReply (the ids of writes that made no folder; { id, changed } or { id, changed, error } for
 * the others).
 */
import { parentPort } from "node:worker_threads";
import { EffectFileError, writeEffectFileSync } from "./effect-file.js";
import { serializeError, type EffectBatch, type EffectDone, type EffectReply } from "./effect-writer.js";

parentPort!.on("message", ({ bytes, meta, paths }: EffectBatch) => {
  const path = paths.split("\0");
  const plain: number[] = [];
  const other: EffectDone[] = [];
  for (let k = 0; k < meta.length / 4; k++) {
    const [id, at, length, dirMode] = [meta[4 * k]!, meta[4 * k + 1]!, meta[4 * k + 2]!, meta[4 * k + 3]!];
    try {
      const changed = writeEffectFileSync(path[2 * k]!, path[2 * k + 1]!, new Uint8Array(bytes, at, length), dirMode);
      if (changed.length) other.push({ id, changed });
      else plain.push(id);
    } catch (e) {
      const failed = e instanceof EffectFileError ? e : new EffectFileError(e, []);
      other.push({ id, changed: failed.changed, error: serializeError(failed.cause) });
    }
  }
  const reply: EffectReply = { plain: Int32Array.from(plain), other };
  parentPort!.postMessage(reply, [reply.plain.buffer as ArrayBuffer]);
});
