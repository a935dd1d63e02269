/** Free space and inodes on the root's file system: the log's fsync'd append fails on a full disk. Pure. */
import { fail, pass, warn, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";

const MiB = 1024 * 1024;
export const DISK_FAIL_BYTES = 100 * MiB;
export const DISK_WARN_BYTES = 1024 * MiB;
export const DISK_WARN_RATIO = 0.05;
export const INODES_FAIL = 1000;

const human = (n: number): string => (n >= 1024 * MiB ? `${(n / 1024 / MiB).toFixed(1)} GiB` : `${(n / MiB).toFixed(0)} MiB`);

export function checkDisk(f: Pick<Facts, "disk">): CheckResult {
  const id = "disk";
  const { path, freeBytes, totalBytes, freeInodes, totalInodes, error } = f.disk;
  if (freeBytes === undefined || totalBytes === undefined) return warn(id, `cannot read the free space of ${path}${error ? ` (${error})` : ""}`, `Check it by hand: \`df -h ${path}\` and \`df -i ${path}\`.`);
  const details = { path, free_bytes: freeBytes, total_bytes: totalBytes, free_inodes: freeInodes, total_inodes: totalInodes };
  const pct = totalBytes > 0 ? (100 * freeBytes) / totalBytes : 100;
  const found = `${human(freeBytes)} free of ${human(totalBytes)} (${pct.toFixed(1)}%)${freeInodes !== undefined && totalInodes ? `, ${freeInodes} inodes free` : ""} on the file system of ${path}`;
  const free = `Free space on that file system (\`df -h ${path}\`, \`du -sh ${path}/* | sort -h\`): old archive/ iterations and .consensus/blobs of finished epics can be moved to other storage; never truncate current/decision_log.jsonl.`;
  if (freeBytes < DISK_FAIL_BYTES) return fail(id, `${found}: below ${human(DISK_FAIL_BYTES)}, log appends are about to fail`, free, details);
  if (freeInodes !== undefined && totalInodes && freeInodes < INODES_FAIL) return fail(id, `${found}: fewer than ${INODES_FAIL} inodes left, new files cannot be created`, free, details);
  if (freeBytes < DISK_WARN_BYTES || pct < DISK_WARN_RATIO * 100) return warn(id, `${found}: low`, free, details);
  return pass(id, found, details);
}
