/**
 * Atomic file replacement that follows the bus's own rule (PROTOCOL §2-3): the temporary file starts
 * with "." and ends in ".tmp", in the same folder, so no watcher — ours or an agent's — ever reads it.
 * (write-file-atomic names its temporaries `name.<hash>`, which agents and the daemon would see as
 * real drops; that is why this is not the library.) `durable` adds fsync of the file before the
 * rename and of the folder after it, for what the product promises survives a power cut.
 */
import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** durable: true syncs the file and then its folder; "file" syncs only the file (the caller syncs the folder, e.g. once for many). */
/** A temporary name no other writer uses: this process's id, a random tag fixed at start, a counter. */
const tag = `${process.pid}-${randomBytes(3).toString("hex")}`;
let counter = 0;
const tmpOf = (path: string): string => join(dirname(path), `.${basename(path)}.${tag}-${(counter++).toString(36)}.tmp`);

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
  if (opts.durable === true) await syncDir(dirname(path));
}

export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
