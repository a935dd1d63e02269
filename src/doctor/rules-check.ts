/** The rules in force against consensus.yaml: what the daemon decides by, and whether an edit waits for `consensus config apply`. Pure. */
import { fail, pass, skip, warn, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";

export function checkRules(f: Pick<Facts, "config" | "rules">): CheckResult {
  const id = "rules";
  const r = f.rules;
  if (!r) return skip(id, "no bus to check");
  const edited = f.config.parsed?.pipeline?.version;
  if (r.kind === "refused") return fail(id, `the rules in force (${r.path}) do not verify: ${r.reason ?? "unknown"}; the daemon will not start on them`, "Review consensus.yaml (`consensus config diff`) and run `consensus config apply`; if an agent wrote the file, confine its writes to the drop zones (docs/security.md).");
  if (r.kind === "none") {
    if (r.logHasEntries) return fail(id, `no rules in force (${r.path} is missing) though the log holds decisions: the daemon will not start`, "Review consensus.yaml and run `consensus config apply`.");
    return pass(id, "no rules in force yet: the first writer (consensus watch, or a command that decides) applies consensus.yaml once, logged");
  }
  const who = `version ${r.version!.slice(0, 12)}, applied by ${r.applied_by} at ${r.applied_at}`;
  if (edited !== undefined && edited !== r.version) return warn(id, `consensus.yaml differs from the rules in force (${who}): its edits are not in force`, "Review them with `consensus config diff`, then `consensus config apply` (or restore consensus.yaml).", { version: r.version });
  return pass(id, `consensus.yaml is the rules in force (${who})`, { version: r.version });
}
