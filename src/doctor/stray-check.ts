/** Files and folders where the layout expects nothing: nothing reads them, so say where they belong. Pure. */
import { pass, warn, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";

export function checkStrays(f: Pick<Facts, "strays">): CheckResult {
  const id = "strays";
  const { files, folders, moreFiles } = f.strays;
  if (!files.length && !folders.length) return pass(id, "no stray files or folders under the root");
  const meant = (x: { path: string; suggest?: string }) => (x.suggest ? `${x.path} (did you mean ${x.suggest}?)` : x.path);
  const parts = [
    ...(files.length ? [`${files.length + moreFiles} stray file${files.length + moreFiles === 1 ? "" : "s"}: ${files.map(meant).join(", ")}${moreFiles ? ` and ${moreFiles} more` : ""}`] : []),
    ...(folders.length ? [`stray folder${folders.length === 1 ? "" : "s"}: ${folders.map(meant).join(", ")}`] : []),
  ];
  return warn(
    id,
    `${parts.join("; ")}: the daemon never reads these (each file is logged once as file_ignored)`,
    "Move each file to the path shown (write it there, to a temporary name first, then rename) and delete the stray; remove folders that are not part of the layout (PROTOCOL §2).",
    { files, folders, more_files: moreFiles },
  );
}
