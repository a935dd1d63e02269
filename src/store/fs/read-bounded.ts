/**
 * Reading a file of the private area that someone else may have planted: never through a symlink,
 * never blocking on a FIFO or device, never more than a cap. Opened with O_NOFOLLOW|O_NONBLOCK, then
 * checked on the open descriptor (fstat: a regular file, at most `cap` bytes), so there is no window
 * between the check and the read.
 */
import { createHash } from "node:crypto";
import { constants as fsc } from "node:fs";
import { open } from "node:fs/promises";

/** ok: the text and its SHA-256; gone: no such file; else `why` in words and a digest to report it once by. */
export type Bounded = { ok: true; text: string; sha256: string } | { ok: false; gone: true } | { ok: false; gone?: false; why: string; sha256: string };

/** Reads a file of the private area: no symlink, only a regular file, at most `cap` bytes (checked after open). */
export async function readBounded(path: string, cap: number): Promise<Bounded> {
  let fh;
  try {
    fh = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: false, gone: true };
    const why = code === "ELOOP" ? "is a symbolic link" : `could not be opened (${String(code)})`;
    return { ok: false, why, sha256: sha(`${why}:${path}`) };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { ok: false, why: "is not a regular file (a FIFO, device or folder)", sha256: sha(`special:${st.ino}`) };
    if (st.size > cap) return { ok: false, why: `is ${st.size} bytes, over the cap of ${cap}`, sha256: sha(`size:${st.ino}:${st.size}:${st.mtimeMs}`) };
    const buf = Buffer.alloc(cap + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > cap) return { ok: false, why: `grew past the cap of ${cap} bytes`, sha256: sha(`size:${st.ino}:${n}`) };
    }
    const bytes = buf.subarray(0, n);
    return { ok: true, text: bytes.toString("utf8"), sha256: createHash("sha256").update(bytes).digest("hex") };
  } finally {
    await fh.close();
  }
}

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");
