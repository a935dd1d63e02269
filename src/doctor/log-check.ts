/**
 * The log of record's hash chain and MACs (the same ChainVerifier `consensus log verify` runs), a
 * torn last transaction, and forged lines in the readable copy. Pure.
 */
import { fail, pass, warn, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";
import { shellArg } from "../errors/issue.js";

export function checkLog(f: Pick<Facts, "log" | "root">): CheckResult {
  const id = "log";
  const { path, exists, chain, tornTail, error, mirror, adoptable } = f.log;
  if (!exists) {
    if (adoptable) return warn(id, `no log of record at ${path} yet; current/decision_log.jsonl holds an older log`, `Nothing to do: the next start (\`consensus watch\`, or \`consensus watch --once --root ${shellArg(f.root)}\` now) verifies its chain and adopts it as the log of record, once.`);
    return pass(id, `no decision log yet at ${path} (the daemon creates it)`);
  }
  if (error || !chain) return fail(id, `cannot read ${path}${error ? `: ${error}` : ""}`, `Check the owner and mode of the file and of .consensus/keys/: \`ls -l ${shellArg(path)}\`; run doctor as the daemon's user.`);
  const details = { lines: chain.lines, daemon_lines: chain.daemonLines, agent_lines: chain.agentLines, last_seq: chain.lastSeq, head: chain.head, ...(chain.broken ? { broken: chain.broken } : {}), torn_tail: tornTail, ...(mirror ? { mirror } : {}) };
  if (chain.broken) {
    return fail(
      id,
      `log of record broken at ${path}:${chain.broken.line}: ${chain.broken.reason}`,
      `Lines before ${chain.broken.line} are intact (last good seq ${chain.lastSeq}). \`consensus log verify --root ${shellArg(f.root)}\` names the line; restore .consensus/ from a backup. Someone wrote into the private area: check who can (\`ls -ld ${shellArg(f.root)}/.consensus\`). The daemon never applies a line whose MAC does not check.`,
      details,
    );
  }
  if (chain.lines === 0) return pass(id, "empty: no entries yet", details);
  const intact = `intact: ${chain.lines} lines, ${chain.daemonLines} daemon entries (seq 1..${chain.lastSeq}), ${chain.agentLines} agent lines`;
  if (mirror?.forged) {
    return warn(id, `${intact}; the readable copy ${mirror.path} has ${mirror.forged} forged line(s), the first at line ${mirror.firstForged!.line}: ${mirror.firstForged!.reason}`, "Nothing was applied from them: the daemon reads only the log of record and reports each as log_line_forged. Find which agent wrote them (`consensus log --decision log_line_forged`) and confine it to the drop zones (docs/PROTOCOL.md, Trust).", details);
  }
  if (tornTail) {
    return warn(id, `${intact}; the last line has no newline (a write was cut short: crash or full disk)`, `Nothing to do: at start the daemon discards the torn transaction whole, records log_torn_transaction and decides its input again (\`consensus watch --once --root ${shellArg(f.root)}\` does it now). Never delete or rewrite log lines.`, details);
  }
  return pass(id, intact, details);
}
