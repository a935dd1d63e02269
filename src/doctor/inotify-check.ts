/**
 * inotify limits against what the daemon will watch. The native watcher (src/transports/files/watch.ts) holds one
 * watch per folder — artifacts/, each artifacts/<EPIC>/, messages/inbox/, each role's inbox, the
 * request folder — all in one inotify instance. The limits are per user, shared with every other
 * program of that user (editors, IDEs, other daemons), so doctor asks for headroom. Pure.
 */
import { fail, pass, warn, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";

/** Watches the limit must leave: the folders now, as many again for epics to come, and room for other programs. */
export const watchesWanted = (folders: number): number => 2 * folders + 256;
/** Below this many instances other programs of the same user are likely to use them all up. */
export const INSTANCES_FAIL = 8;
export const INSTANCES_WARN = 64;

const sysctlFix = (key: string, value: number): string =>
  `\`sudo sysctl -w fs.inotify.${key}=${value}\`, and to keep it after a reboot: \`echo fs.inotify.${key}=${value} | sudo tee /etc/sysctl.d/90-consensus.conf && sudo sysctl --system\``;

export function checkInotify(f: Pick<Facts, "inotify">): CheckResult {
  const id = "inotify";
  const { maxWatches, maxInstances, folders, poll, procDir, error } = f.inotify;
  const details = { folders, max_user_watches: maxWatches, max_user_instances: maxInstances, wanted_watches: watchesWanted(folders), proc: procDir };
  if (poll) return pass(id, `--poll: the watcher polls and uses no inotify watches (${folders} folders)`, details);
  if (maxWatches === undefined || maxInstances === undefined) {
    return warn(id, `cannot read the inotify limits under ${procDir}/sys/fs/inotify${error ? ` (${error})` : ""}: not Linux?`, "Nothing to do on macOS or Windows; on a network file system, where change notifications do not arrive, run `consensus watch --poll`.", details);
  }
  const wanted = watchesWanted(folders);
  if (maxWatches < wanted) {
    const value = Math.max(524288, 4 * wanted);
    return fail(
      id,
      `fs.inotify.max_user_watches is ${maxWatches}; the daemon watches ${folders} folders now (one more per epic) and wants at least ${wanted} with headroom`,
      `Raise it: ${sysctlFix("max_user_watches", value)}. Without enough watches the daemon still sees every drop, but only at its periodic rescan; or run \`consensus watch --poll\`.`,
      details,
    );
  }
  if (maxInstances < INSTANCES_FAIL) {
    return fail(id, `fs.inotify.max_user_instances is ${maxInstances}: too few for the daemon and the other programs of this user`, `Raise it: ${sysctlFix("max_user_instances", 512)}.`, details);
  }
  if (maxInstances < INSTANCES_WARN) {
    return warn(id, `fs.inotify.max_user_instances is ${maxInstances}: the daemon needs one, but other programs of this user share the limit`, `Consider raising it: ${sysctlFix("max_user_instances", 512)}.`, details);
  }
  return pass(id, `max_user_watches ${maxWatches} ≥ ${wanted} wanted for ${folders} folders; max_user_instances ${maxInstances}`, details);
}
