/**
 * Open-file limit (RLIMIT_NOFILE) against what the daemon may hold at once: its own files (log, lock,
 * watcher, stdio, effects in flight), the metrics endpoint's sockets and, per agent running, its output
 * log and start-up pipe. doctor reads the limit of the shell it runs in, which is what a daemon started
 * from that shell gets; under systemd the unit's LimitNOFILE decides (docs/runbook.md sets it). Pure.
 */
import type { Pipeline } from "../config/pipeline.js";
import { MAX_CONNECTIONS } from "../ops/http.js";
import { fail, pass, warn, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";

/** Descriptors the daemon may need: 256 of its own, the metrics sockets, and 8 per agent it may run. */
export const fdsWanted = (p: Pick<Pipeline, "runner"> | undefined): number => 256 + MAX_CONNECTIONS + 8 * (p?.runner.maxConcurrent ?? 4);

export function checkFdLimit(f: Pick<Facts, "fds" | "config">): CheckResult {
  const id = "files";
  const { soft, hard, error } = f.fds;
  const wanted = fdsWanted(f.config.parsed?.pipeline);
  const details = { soft, hard, wanted };
  if (soft === undefined || hard === undefined) return warn(id, `cannot read the open-file limit${error ? ` (${error})` : ""}: not Linux?`, `Check it by hand: \`ulimit -Sn; ulimit -Hn\` must both be at least ${wanted}.`, details);
  const unit = "In the daemon's systemd unit set LimitNOFILE=65536 (docs/runbook.md)";
  if (hard < wanted) return fail(id, `the hard open-file limit is ${hard}; the daemon may need ${wanted} (its files, ${MAX_CONNECTIONS} metrics connections, agents' logs)`, `${unit}; from a shell, raise the hard limit in /etc/security/limits.conf (\`* hard nofile 65536\`) and log in again.`, details);
  if (soft < wanted) return warn(id, `the soft open-file limit is ${soft} (hard ${hard}); the daemon may need ${wanted}`, `${unit}; from a shell, \`ulimit -n ${Math.min(hard, 65536)}\` before \`consensus watch\`.`, details);
  return pass(id, `open files: soft ${soft}, hard ${hard} ≥ ${wanted} wanted`, details);
}
