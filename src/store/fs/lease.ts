/**
 * The writer lease's two safety parts beside the lock folder itself (proper-lockfile, in fs-store.ts):
 *
 * - **Who is provably dead.** A holder on this host whose pid is gone, a zombie, or a pid now held by a
 *   process with another start time (or since another boot) is dead for certain: its lock is taken over
 *   at once, not after the staleness timeout. Anything we cannot tell (another host, no /proc) is not.
 * - **The fencing token.** Each lease writes a fresh random token into the holder file
 *   (`.consensus/writer.json`). The holder checks it before each append: a daemon paused past the
 *   staleness (SIGSTOP, a suspended VM) whose lock another took over finds another token there and
 *   steps down without writing, so the log never forks.
 */
import { procStat } from "./proc-stat.js";
import { randomBytes } from "node:crypto";
import { lstatSync, readFileSync } from "node:fs";
import { rename, rmdir } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, basename, join } from "node:path";
import { ConsensusError, issue } from "../../errors/issue.js";
import { CAP, readGuardedSync, readGuardedText } from "./guarded-read.js";
import type { Holder } from "../port.js";

let bootId: string | undefined | null = null;


/** This boot's id (/proc/sys/kernel/random/boot_id); undefined where there is none. */
export function currentBootId(): string | undefined {
  if (bootId === null) {
    try {
      bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || undefined;
    } catch {
      bootId = undefined;
    }
  }
  return bootId;
}

/** What tells this process from a later one given the same pid: its start time in ticks since boot, and the boot. */
export function ownIdentity(): Pick<Holder, "proc_start" | "boot_id"> {
  const start = procStat(process.pid)?.startTime;
  const boot = currentBootId();
  return { ...(start ? { proc_start: start } : {}), ...(boot ? { boot_id: boot } : {}) };
}

/** A new fencing token: 128 random bits, hex. */
export const newToken = (): string => randomBytes(16).toString("hex");

/**
 * True only when we can tell the holder is gone: same host, and either no process with its pid, a
 * zombie, the pid held by a process that started at another time, or a holder from an earlier boot.
 */
export function holderProvablyDead(h: Holder): boolean {
  if (h.host !== hostname()) return false;
  const boot = currentBootId();
  if (h.boot_id && boot && h.boot_id !== boot) return true;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return true;
  }
  const st = procStat(h.pid);
  if (!st) return false;
  if (st.state === "Z" || st.state === "X") return true;
  return h.proc_start !== undefined && st.startTime !== "" && st.startTime !== h.proc_start;
}

/**
 * Removes the lock folder of a dead holder: renamed to a unique name first (only one of several
 * contenders can rename the same folder), then removed. A folder already gone is no error.
 */
export async function breakDeadLock(lockPath: string): Promise<void> {
  const aside = join(dirname(lockPath), `.${basename(lockPath)}.${randomBytes(6).toString("hex")}.dead`);
  try {
    await rename(lockPath, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  await rmdir(aside).catch(() => {});
}

/** The holder file, read with the guards (regular file, no link, size cap); undefined if missing or not JSON. */
export async function readHolderFile(path: string): Promise<Holder | undefined> {
  let text: string;
  try {
    text = await readGuardedText(path, { maxBytes: CAP.small });
  } catch {
    return undefined;
  }
  return holderOf(() => text);
}

/** The holder a text gives (read by `read`), or undefined when it cannot be read or is not one. */
function holderOf(read: () => string): Holder | undefined {
  try {
    const h = JSON.parse(read()) as unknown;
    if (!h || typeof h !== "object" || typeof (h as Holder).pid !== "number" || typeof (h as Holder).host !== "string") return undefined;
    return h as Holder;
  } catch {
    return undefined;
  }
}

/** Why the previous holder's lock was taken, for the lock_taken_over entry (never "dead" unless proven). */
export function takeoverReason(h: Holder, staleMs: number): { reason: string; dead: boolean } {
  const who = `the previous ${h.kind} (pid ${h.pid} on ${h.host}, since ${h.started_at})`;
  if (holderProvablyDead(h)) return { dead: true, reason: `${who} died holding the lock` };
  const where = h.host === hostname() ? "it is still running (paused or hung?)" : "it runs on another host, so whether it is alive cannot be told";
  return { dead: false, reason: `${who} did not refresh the lock for more than ${Math.round(staleMs / 1000)} s; ${where}. If it resumes, it finds the lock taken and steps down without writing` };
}

/**
 * The fencing check before an append: the holder file must still carry our token. Throws
 * ConsensusError(LEASE_LOST) naming who holds the root now.
 */
export async function checkFence(holderPath: string, token: string): Promise<void> {
  // One lstat when the file is the one last read with our token (fencedAt); else read on this thread:
  // a small file of the private area, a few µs (through the pool it was 4 round trips before every
  // append: issue 17.3), five system calls (issue 17.2).
  const st = lstatSync(holderPath, { bigint: true, throwIfNoEntry: false });
  const seen = st?.isFile() ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : undefined;
  if (seen !== undefined && fencedAt.get(holderPath) === `${seen}:${token}`) return;
  const h = holderOf(() => readGuardedSync(holderPath, { maxBytes: CAP.small }).toString("utf8"));
  if (h?.token === token) {
    // Only a file that had not changed for a second when it was read: a change after that gets a
    // later change time even where the file system keeps whole seconds, so it is never taken for this
    // one (a takeover writes a new file by rename: a new inode too).
    if (seen !== undefined && st && Date.now() - Number(st.ctimeNs / 1_000_000n) > 1000) fencedAt.set(holderPath, `${seen}:${token}`);
    return;
  }
  fencedAt.delete(holderPath);
  throw leaseLost(h);
}

/** Per holder file: its identity and times (dev, inode, size, mtime and ctime in ns) and our token, when last read with it. */
const fencedAt = new Map<string, string>();

/** The error a holder that lost its lease steps down with. */
export function leaseLost(now: Holder | undefined, cause?: string): ConsensusError {
  const who = now ? `a ${now.kind} (pid ${now.pid} on ${now.host}, since ${now.started_at})` : "another process (or nobody: the holder file is gone)";
  return new ConsensusError(
    issue("LEASE_LOST", {
      message: `this process (pid ${process.pid}) no longer holds the root: ${who} took it over${cause ? ` (${cause})` : ""}; stepping down without writing`,
      found: now ? `holder pid ${now.pid}` : "no holder",
      expected: `holder pid ${process.pid}`,
    }),
  );
}
