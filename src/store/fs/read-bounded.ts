/**
 * Reading a file of the private area that someone else may have planted, as a result instead of an
 * exception: the guarded read (guarded-read.ts: never through a symlink, never blocking on a FIFO or
 * device, never more than a cap, checked on the open descriptor), with a digest to report a refusal
 * once by.
 */
import { createHash } from "node:crypto";
import { GuardedReadError, readGuarded } from "./guarded-read.js";
import { isDenied } from "./private-denied.js";

/**
 * ok: the text, its SHA-256 and the uid that owns the file as opened; gone: no such file; else `why` in
 * words and a digest to report it once by, with `denied` when this user may not open it (EACCES, EPERM:
 * private-denied.ts says so; never a sign the file is bad).
 */
export type Bounded = { ok: true; text: string; sha256: string; uid: number } | { ok: false; gone: true } | { ok: false; gone?: false; why: string; sha256: string; denied?: true };

/** Reads a file of the private area: no symlink, only a regular file, at most `cap` bytes (checked after open). */
export async function readBounded(path: string, cap: number): Promise<Bounded> {
  try {
    const { bytes, stat } = await readGuarded(path, { maxBytes: cap });
    return { ok: true, text: bytes.toString("utf8"), sha256: createHash("sha256").update(bytes).digest("hex"), uid: stat.uid };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: false, gone: true };
    const why = e instanceof GuardedReadError ? `is ${e.found}${e.kind === "too_large" ? `, over the cap of ${cap}` : ""}` : `could not be opened (${String(code)})`;
    return { ok: false, why, sha256: createHash("sha256").update(`${why}:${path}`).digest("hex"), ...(isDenied(code) ? { denied: true as const } : {}) };
  }
}
