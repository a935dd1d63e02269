/** The decision log's hash chain (the same ChainVerifier `consensus log verify` runs) and a torn last line. Pure. */
import { fail, pass, warn, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";

export function checkLog(f: Pick<Facts, "log" | "root">): CheckResult {
  const id = "log";
  const { path, exists, chain, tornTail, error } = f.log;
  if (!exists) return pass(id, `no decision log yet at ${path} (the daemon creates it)`);
  if (error || !chain) return fail(id, `cannot read ${path}${error ? `: ${error}` : ""}`, `Check the file's owner and mode: \`ls -l ${path}\`; the daemon must be able to read and append to it.`);
  const details = { lines: chain.lines, daemon_lines: chain.daemonLines, agent_lines: chain.agentLines, last_seq: chain.lastSeq, head: chain.head, ...(chain.broken ? { broken: chain.broken } : {}), torn_tail: tornTail };
  if (chain.broken) {
    return fail(
      id,
      `hash chain broken at ${path}:${chain.broken.line}: ${chain.broken.reason}`,
      `Lines before ${chain.broken.line} are intact (last good seq ${chain.lastSeq}). \`consensus log verify --root ${f.root}\` names the line; restore the log from a backup, or undo the edit (\`git diff -- ${path}\` / \`git checkout -- ${path}\` if the bus is in git). The daemon keeps appending, chained from the last line, and records log_chain_broken at start.`,
      details,
    );
  }
  if (chain.lines === 0) return pass(id, "empty: no entries yet", details);
  const intact = `intact: ${chain.lines} lines, ${chain.daemonLines} daemon entries (seq 1..${chain.lastSeq}), ${chain.agentLines} agent lines`;
  if (tornTail) {
    return warn(id, `${intact}; the last line has no newline (a write was cut short: crash or full disk)`, `Nothing to do: the daemon keeps the line, closes it with a newline and records log_torn_line at start (\`consensus watch --once --root ${f.root}\` does it now). Never delete or rewrite log lines.`, details);
  }
  return pass(id, intact, details);
}
