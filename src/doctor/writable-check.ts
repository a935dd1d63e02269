/** Each folder the daemon writes must be writable by this user. Pure. */
import { fail, pass, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";
import { shellArg } from "../errors/issue.js";

export function checkWritable(f: Pick<Facts, "writable" | "root">): CheckResult {
  const id = "permissions";
  const bad = f.writable.filter((w) => w.error);
  if (bad.length === 0) return pass(id, `${f.writable.length} folder(s) the daemon writes are writable`, { checked: f.writable.map((w) => w.path) });
  const paths = bad.map((w) => (w.path === "." ? f.root : `${f.root}/${w.path}`));
  // something planted in place of the readable log (a FIFO, a link): no chown fixes that
  const planted = bad.filter((w) => w.error?.endsWith("not a regular file")).map((w) => `${f.root}/${w.path}`);
  if (planted.length === bad.length) {
    return fail(id, `not a regular file: ${bad.map((w) => `${w.path} (${w.error})`).join("; ")}`, `Remove it: \`rm ${planted.map(shellArg).join(" ")}\`; the daemon copies its lines there again (the log of record in .consensus/ is intact). Then find who put it there.`, { unwritable: paths });
  }
  return fail(
    id,
    `not writable: ${bad.map((w) => `${w.path} (${w.error})`).join("; ")}`,
    `Run the daemon as the user that owns the bus (\`ls -ld ${paths.map(shellArg).join(" ")}\`), or give this user write access: \`sudo chown -R "$(id -un)" ${paths.map(shellArg).join(" ")} && chmod -R u+rwX ${paths.map(shellArg).join(" ")}\`; on a read-only mount, remount it read-write.`,
    { unwritable: paths },
  );
}
