/**
 * Clock sanity: the newest log entry is not in the future (the clock went back, or a host with a fast
 * clock wrote it), and the file system stamps a fresh file with about the time this host reads (a
 * network file system served by a host with another clock). Pure.
 */
import { fail, pass, warn, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";

/** Allowed lead of a log entry over this clock. */
export const FUTURE_TOLERANCE_MS = 5_000;
export const MTIME_WARN_MS = 2_000;
export const MTIME_FAIL_MS = 30_000;

const ntp = "Synchronise the clock: `timedatectl set-ntp true` (check with `timedatectl status`), or `chronyc tracking` / `ntpq -p` where those run.";

export function checkClock(f: Pick<Facts, "clock" | "now" | "log">): CheckResult {
  const id = "clock";
  const { newest, tempMtimeMs, tempWrittenAt, error } = f.clock;
  const details: Record<string, unknown> = { now: new Date(f.now).toISOString(), newest_entry: newest ?? null };
  if (newest) {
    const t = Date.parse(newest.timestamp);
    const lead = t - f.now;
    if (Number.isFinite(t) && lead > FUTURE_TOLERANCE_MS) {
      const found = `the newest log entry (${f.log.path}:${newest.line}, by ${newest.agent}) is dated ${newest.timestamp}, ${Math.round(lead / 1000)} s ahead of this clock (${new Date(f.now).toISOString()})`;
      if (newest.agent !== "orchestrator") return warn(id, `${found}: that agent's clock runs fast`, `Synchronise the clock of the host that runs ${newest.agent} (\`timedatectl set-ntp true\` there); the daemon's own entries use this host's clock.`, details);
      return fail(id, `${found}: this clock went back, or a daemon on a host with a fast clock wrote it`, `${ntp} Until this clock passes ${newest.timestamp}, new entries would be dated before older ones.`, details);
    }
  }
  if (tempMtimeMs !== undefined && tempWrittenAt !== undefined) {
    const skew = tempMtimeMs - tempWrittenAt;
    details.fs_skew_ms = skew;
    const found = `a file written just now is stamped ${Math.round(skew / 1000)} s ${skew >= 0 ? "ahead of" : "behind"} this clock`;
    const fix = `The file system's clock differs from this host's (a network file system?): ${ntp} Do it on the file server too.`;
    if (Math.abs(skew) > MTIME_FAIL_MS) return fail(id, found, fix, details);
    if (Math.abs(skew) > MTIME_WARN_MS) return warn(id, found, fix, details);
  } else if (error) {
    return warn(id, `could not compare the file system's clock: ${error}`, "Fix the permissions check first; then run consensus doctor again.", details);
  }
  return pass(id, `clock ${new Date(f.now).toISOString()}; ${newest ? `newest log entry ${newest.timestamp}` : "no dated log entries"}; file system agrees`, details);
}
