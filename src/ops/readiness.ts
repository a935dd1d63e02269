/**
 * Readiness as a pure verdict over facts the monitor gathers: ready only when the lock is held (and
 * recovery done), the log is writable, the watcher is armed and the daemon has caught up (its first
 * reconcile scan queued everything, and the queue is empty or moving). Each failing check says why.
 */

export interface ReadinessFacts {
  /** The lock is held and start-up recovery is done. */
  opened: boolean;
  watcherArmed: boolean;
  /** Started with --once: there is no watcher to arm. */
  once: boolean;
  stopping: boolean;
  /** Why the log cannot be written, if it cannot. */
  logProblem?: string;
  firstScanDone: boolean;
  queueDepth: number;
  /** Milliseconds since the queue last moved (a batch decided, or the first scan done). */
  msSinceProgress: number;
}

export interface Check {
  name: "running" | "lock" | "log" | "watcher" | "caught_up";
  ok: boolean;
  reason?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Check[];
}

/** A non-empty queue that has not moved for this long is stuck, not draining. */
export const STUCK_MS = 30_000;

export function assessReadiness(f: ReadinessFacts): Readiness {
  const checks: Check[] = [
    f.stopping ? { name: "running", ok: false, reason: "stopping: a signal was received; finishing the batch in hand" } : { name: "running", ok: true },
    f.opened ? { name: "lock", ok: true } : { name: "lock", ok: false, reason: "starting: taking the writer lock and recovering state from the log" },
    f.logProblem === undefined ? { name: "log", ok: true } : { name: "log", ok: false, reason: f.logProblem },
    f.watcherArmed ? { name: "watcher", ok: true } : { name: "watcher", ok: false, reason: f.once ? "running with --once: nothing is watched" : "the file watcher is not armed yet" },
    caughtUp(f),
  ];
  return { ready: checks.every((c) => c.ok), checks };
}

function caughtUp(f: ReadinessFacts): Check {
  if (!f.opened) return { name: "caught_up", ok: false, reason: "start-up recovery is not done" };
  if (!f.firstScanDone) return { name: "caught_up", ok: false, reason: "the start-up reconcile scan is not done" };
  if (f.queueDepth > 0 && f.msSinceProgress > STUCK_MS) {
    return { name: "caught_up", ok: false, reason: `${f.queueDepth} input(s) pending and none decided for ${Math.round(f.msSinceProgress / 1000)} s` };
  }
  return { name: "caught_up", ok: true };
}
