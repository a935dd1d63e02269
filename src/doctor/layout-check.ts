/** The root's folders and files (PROTOCOL §2), and whether state.json is usable. Pure. */
import { layoutFolders, layoutOf } from "../store/fs/layout.js";
import { fail, pass, warn, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";
import { shellArg } from "../errors/issue.js";

/**
 * What must exist under the root for the daemon to run (`consensus init` creates all of it), relative to
 * the root. Not the private area `.consensus/`: it is never in git (a fresh clone has none), and the
 * first command or daemon creates it.
 */
export const REQUIRED_PATHS: readonly string[] = (() => {
  const L = layoutOf("");
  return [L.config, ...layoutFolders(L).filter((p) => p !== L.dot)];
})();

export function checkLayout(f: Pick<Facts, "root" | "layout">): CheckResult {
  const id = "layout";
  const { rootExists, missing, missingInboxes } = f.layout;
  const init = `consensus init --root ${shellArg(f.root)}`;
  if (!rootExists) return fail(id, `no bus at ${f.root}`, `Run \`${init}\` to create it, or point at the right folder with --root DIR (or CONSENSUS_ROOT).`);
  if (missing.length) return fail(id, `missing under the root: ${missing.join(", ")}`, `Run \`${init}\`: it creates what is missing and never overwrites an existing consensus.yaml.`, { missing });
  const linked = f.layout.linked ?? [];
  if (linked.length) {
    const abs = linked.map((l) => `${f.root}/${l.path}`);
    return fail(
      id,
      `${linked.map((l) => `${l.path} is a symbolic link (to ${l.target})`).join("; ")}: the daemon writes nothing through a link, so no notice, archive copy or agent log goes there`,
      `Replace each by a real folder (move what you need out of the link's target first): \`rm ${abs.map(shellArg).join(" ")} && mkdir ${abs.map(shellArg).join(" ")}\`, then restart \`consensus watch\` to deliver what it could not.`,
      { linked },
    );
  }
  if (missingInboxes.length) {
    const dirs = missingInboxes.map((r) => shellArg(`${f.root}/messages/inbox/${r}`)).join(" ");
    return warn(id, `no inbox folder yet for role(s) ${missingInboxes.join(", ")} (the daemon creates one on its first notice)`, `Create them now so agents can drop messages: \`mkdir -p ${dirs}\`.`, { missingInboxes });
  }
  return pass(id, "every folder of the layout is there");
}

export function checkStateFile(f: Pick<Facts, "state">): CheckResult {
  const id = "state";
  if (!f.state.exists) return pass(id, "no state.json yet (written by the daemon)");
  if (f.state.problem) {
    return warn(id, `${f.state.path}: ${f.state.problem}`, `Nothing is lost: state.json is derived from the decision log and the daemon rewrites it at start. To drop it now: \`rm ${shellArg(f.state.path)}\`, then \`consensus watch --once --root ${shellArg(f.state.path.replace(/\/current\/state\.json$/, ""))}\`.`);
  }
  return pass(id, "state.json parses");
}
