/**
 * Atomic file replacement that follows the bus's own rule (PROTOCOL §2-3): the temporary file starts
 * with "." and ends in ".tmp", in the same folder, so no watcher — ours or an agent's — ever reads it.
 * (write-file-atomic names its temporaries `name.<hash>`, which agents and the daemon would see as
 * real drops; that is why this is not the library.)
 */
import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** A temporary name no other writer uses: this process's id, a random tag fixed at start, a counter. */
const tag = `${process.pid}-${randomBytes(3).toString("hex")}`;
let counter = 0;
const tmpOf = (path: string): string => join(dirname(path), `.${basename(path)}.${tag}-${(counter++).toString(36)}.tmp`);

/**
 * Writes path atomically (a temporary, then rename). `durable` is for what the product promises
 * survives a power cut: true fdatasyncs the file before the rename and fsyncs its folder after it;
 * "file" fdatasyncs only the file (the caller syncs the folder, e.g. once for many files).
 */
export async function writeAtomic(path: string, data: string | Uint8Array, opts: { durable?: boolean | "file" } = {}): Promise<void> {
  const tmp = tmpOf(path);
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(data);
    if (opts.durable) await fh.datasync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  if (opts.durable === true) await fsyncPath(dirname(path));
}

/** fsync of a file or folder (a folder's fsync makes the names created, renamed or removed in it durable). */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
