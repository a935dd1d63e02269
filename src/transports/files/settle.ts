/**
 * When a file may be read as complete (PROTOCOL §3, "Never act on half a file"). Pure: the facts come
 * in — how the file arrived, its size and times, when it last changed — and the verdict goes out.
 *
 * How Linux tells us (libuv's inotify mapping, checked in deps/uv/src/unix/linux.c and by a probe):
 * IN_CREATE, IN_MOVED_TO, IN_DELETE … reach `fs.watch` as `rename`; IN_MODIFY and IN_ATTRIB as
 * `change`. So a path seen only by `rename` events was moved or linked into place (whole: taken at
 * once) or has just been created and is still empty (its writes will follow as `change`). A path that
 * saw a `change` is being written in place and is read only once it has stayed unchanged for
 * `bus.settle_ms`, whether or not it parses. The inode's times add one more fact: rename(2) and link(2)
 * set ctime and leave mtime alone, and every write sets both to the same instant, so ctime > mtime says
 * the last thing done to the file was not a write (it was moved, linked, or had its times set, as
 * `cp -p` does last). Files found by a scan or a poll carry no event history: ctime > mtime, or an
 * mtime older than settle_ms, makes them complete; anything else settles.
 */

/**
 * How a path came to the daemon's attention since it was last decided:
 * - `renamed`: only `rename` events (moved or linked into place, or created and not yet written);
 * - `changed`: at least one `change` event (written in place);
 * - `closed`: its writer is known to have closed it (the agent that wrote it exited; the CLI wrote it);
 * - `found`: a scan or a poll found it; nothing is known of how it was written.
 */
export type Arrival = "renamed" | "changed" | "closed" | "found";

export interface SettleFacts {
  arrival: Arrival;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  /** ms since the epoch, the daemon's clock. */
  now: number;
  settleMs: number;
  /** Since when the file has had its present size, mtime and ctime (its mtime when first seen, if that is earlier than now). */
  sameSince: number;
  /** The last `change` event for the path, if any (ms since the epoch). */
  changeEventAt?: number;
  /** It does not parse or validate (a whole file is still given settle_ms before it is rejected). */
  invalid: boolean;
}

export type SettleVerdict =
  /** confirm: check after the read that no event arrived meanwhile (an in-place writer racing the read). */
  | { take: true; confirm: boolean }
  | { take: false; waitMs: number; why: string };

export function settleVerdict(f: SettleFacts): SettleVerdict {
  const notWrittenLast = f.ctimeMs > f.mtimeMs;
  const whole = f.arrival === "closed" || (f.size > 0 && (f.arrival === "renamed" || notWrittenLast));
  if (!whole) {
    const quiet = f.now - Math.max(f.sameSince, f.changeEventAt ?? 0);
    if (quiet < f.settleMs) {
      return { take: false, waitMs: f.settleMs - quiet + 5, why: f.size === 0 ? "empty: its writer may be about to fill it" : "written in place: waiting until it has stayed unchanged for settle_ms" };
    }
    return { take: true, confirm: true };
  }
  // A whole file that does not parse is rejected only once it has stayed as it is for settle_ms: the
  // guard against a writer that created and filled it before its first change event reached us.
  if (f.invalid && f.arrival !== "closed") {
    const age = f.now - f.sameSince;
    if (age < f.settleMs) return { take: false, waitMs: f.settleMs - age + 5, why: "does not parse or validate yet; waiting for it to settle" };
  }
  return { take: true, confirm: f.arrival !== "closed" };
}
