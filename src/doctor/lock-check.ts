/**
 * The writer lock (src/store/fs/fs-store.ts lease()): a proper-lockfile folder, `.consensus/writer.lock`,
 * whose mtime the holder refreshes, and `.consensus/writer.json` naming the holder. Free, held by a
 * live process, or stale (its holder died). Pure.
 */
import { fail, pass, warn, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";
import { shellArg } from "../errors/issue.js";

export function checkLock(f: Pick<Facts, "lock">): CheckResult {
  const id = "lock";
  const { lockPath, holderPath, lockAgeMs, holder, holderAlive, staleMs } = f.lock;
  const who = holder ? `${holder.kind} (pid ${holder.pid} on ${holder.host}, since ${holder.started_at}${holder.command ? `, running ${holder.command}` : ""})` : undefined;
  const details = { lock: lockPath, holder: holder ?? null, lock_age_ms: lockAgeMs ?? null, holder_alive: holderAlive ?? null, stale_ms: staleMs };
  const remove = `\`rm -rf ${shellArg(lockPath)} ${shellArg(holderPath)}\``;
  const staleS = Math.round(staleMs / 1000);
  if (lockAgeMs === undefined) {
    if (holder) return warn(id, `free, but ${holderPath} still names a ${who}: it exited without releasing cleanly`, `Nothing to do: the next daemon records the take-over in the log. To clear it now: \`rm ${shellArg(holderPath)}\`.`, details);
    return pass(id, "free: no daemon holds the root", details);
  }
  const age = `${Math.round(lockAgeMs / 1000)} s ago`;
  if (holderAlive === false) {
    return fail(
      id,
      `stale: held by a ${who}, which is no longer running (lock last refreshed ${age})`,
      `Nothing is lost: the next \`consensus watch\` takes the lock of a holder that is provably gone over at once and recovers from the log. To clear it now: ${remove}.`,
      details,
    );
  }
  if (lockAgeMs > staleMs) {
    if (holderAlive === true) {
      return warn(
        id,
        `held by a ${who} that is running but has not refreshed the lock since ${age} (hung, or the pid now belongs to another program)`,
        `Look at it: \`ps -o pid,etime,cmd -p ${holder!.pid}\`. A hung consensus: \`kill -TERM ${holder!.pid}\` (then \`kill -KILL ${holder!.pid}\`). Another program: the next daemon takes the lock over; or ${remove}.`,
        details,
      );
    }
    return fail(
      id,
      `stale: ${who ? `held by a ${who}` : "held by an unnamed process"}, not refreshed since ${age} (more than ${staleS} s)${holder && holderAlive === undefined ? "; it runs on another host, so doctor cannot tell whether it is alive" : ""}`,
      `The next \`consensus watch\` takes a lock this old over. If that process is certainly gone, clear it now: ${remove}.`,
      details,
    );
  }
  if (!holder) return pass(id, `held: a process took the lock ${age} and is naming itself (writer.json not written yet)`, details);
  return pass(id, `held by a live ${who}; refreshed ${age}`, details);
}
