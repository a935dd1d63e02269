/** consensus.yaml against its schema and cross-references: probe.ts ran the same parseConfig the daemon uses. Pure. */
import { fail, pass, warn, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";
import { shellArg } from "../errors/issue.js";

export function checkConfigFile(f: Pick<Facts, "config">): CheckResult {
  const id = "config";
  const { path, parsed, error, fix } = f.config;
  if (parsed === undefined) return fail(id, `cannot read ${path}${error ? `: ${error}` : ""}`, fix ?? `Run \`consensus init --root ${shellArg(path.replace(/\/consensus\.yaml$/, ""))}\` to write the default config, or pass --root DIR.`);
  const { pipeline, issues } = parsed;
  if (!pipeline) {
    const first = issues[0]!;
    return fail(
      id,
      `${path} is not valid (${issues.length} problem${issues.length === 1 ? "" : "s"}): ${first.path ? `${first.path} ` : ""}${first.message}`,
      `${first.fix} Every problem: \`consensus validate ${shellArg(path)}\`. To go back to the last committed version: \`git checkout -- ${shellArg(path)}\`.`,
      { issues },
    );
  }
  const stages = `${pipeline.stages.length} stages (${pipeline.stages.map((s) => s.id).join(" → ")})`;
  // valid, with warnings (a secret written into the file …)
  if (issues.length) return warn(id, `valid (${stages}), but ${issues.map((i) => `${i.path ? `${i.path} ` : ""}${i.message}`).join("; ")}`, issues[0]!.fix, { version: pipeline.version, issues });
  return pass(id, `valid: ${pipeline.stages.length} stages (${pipeline.stages.map((s) => s.id).join(" → ")}), roles ${pipeline.roles.join(", ")}`, { version: pipeline.version });
}
