/**
 * The pack (.consensus/pack, store/fs/pack.ts): a plain private file with one name, at least as long as
 * the records the last checkpoint refers to (`pack_end`). A pack cut, removed or restored from an older
 * backup loses accepted artifacts' bytes; the daemon reports it at start (pack_record_damaged). Pure.
 */
import { fail, pass, type CheckResult } from "../report/check.js";
import type { Facts } from "./facts.js";
import { shellArg } from "../errors/issue.js";

export function checkPack(f: Pick<Facts, "pack">): CheckResult {
  const id = "pack";
  const p = f.pack;
  if (!p.found) return p.packEnd ? fail(id, `${p.path} is missing, but the checkpoint refers to records up to byte ${p.packEnd}`, `Restore ${p.path} from a backup taken after the log's last artifact_accepted entry; archive/ holds the copies made. Never remove or truncate it (it is mostly zeros by design).`) : pass(id, "no pack yet (made at the first accepted artifact)");
  if (p.found !== "a regular file" || p.links !== 1) return fail(id, `${p.path} is ${p.found !== "a regular file" ? p.found : `a file with ${p.links} names (a hard link)`}: the daemon refuses it`, `Put the real file back in its place (\`rm ${shellArg(p.path)}\` if it is a link, then \`mv <the file> ${shellArg(p.path)}\`), or restore it from a backup.`);
  if (p.packEnd !== undefined && p.size < p.packEnd) return fail(id, `${p.path} has ${p.size} bytes, but the checkpoint refers to records up to byte ${p.packEnd}: accepted artifacts' bytes were cut`, `Restore ${p.path} from a backup taken after the log's last artifact_accepted entry; archive/ holds the copies made. Never truncate it (it is mostly zeros by design: preallocated).`);
  return pass(id, `${p.size} bytes${p.packEnd !== undefined ? `, records up to byte ${p.packEnd}` : ""}`);
}
