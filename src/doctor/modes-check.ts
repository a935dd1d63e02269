/**
 * Modes and owners (issue 12.11): a root every user can write fails (anyone could swap the daemon's
 * folders), and so does a private area (.consensus/) that is a link, another user's, or writable by
 * its group or others: the daemon refuses to start on it (store/fs/private-area.ts), with the same fix.
 * A private area others can read is a warning (the key and the records are the daemon's). With an
 * agents' group, a drop zone without the sticky bit (3775, runner/drop-zones.ts) is a warning: an agent
 * of the group may replace another's file there, and the file's owner would be credited with it; so is
 * a drop zone owned by another user than the daemon's or root (an agent that made artifacts/<EPIC>/
 * first): the sticky bit does not bind a folder's owner; and so is fs.protected_hardlinks at 0 (any user
 * may then hard-link another's file into a zone, to have it refused as HARD_LINK). Pure.
 */
import { join } from "node:path";
import { fail, pass, warn, type CheckResult } from "../report/check.js";
import { DROP_ZONE_MODE } from "../runner/drop-zones.js";
import { daemonOrRoot } from "../store/fs/entry-aside.js";
import { privateAreaProblem } from "../store/fs/private-area.js";
import type { Facts } from "./facts.js";
import { shellArg } from "../errors/issue.js";

export function checkModes(f: Pick<Facts, "root" | "modes">): CheckResult {
  const id = "modes";
  const m = f.modes;
  if (!m) return pass(id, "not probed");
  const oct = (n: number): string => n.toString(8).padStart(4, "0");
  const details = { root_mode: m.root ? oct(m.root.mode) : null, private_mode: m.dot ? oct(m.dot.mode) : null };
  if (m.root && !m.root.isLink && m.root.mode & 0o002) {
    return fail(id, `the root ${f.root} is writable by every user (mode ${oct(m.root.mode)})`, `Take that away: \`chmod o-w ${shellArg(f.root)}\`; agents write only in the drop zones (security.agents_group gives them those).`, details);
  }
  if (m.dot) {
    const p = privateAreaProblem(m.dotPath, m.dot, m.uid);
    if (p) return fail(id, `${p.message}: the daemon refuses to start on it`, p.fix, details);
    if (m.dot.mode & 0o077) return warn(id, `the private area ${m.dotPath} can be read by others (mode ${oct(m.dot.mode)})`, `\`chmod 700 ${shellArg(m.dotPath)}\`: its records and key are the daemon's alone.`, details);
  }
  const loose = (m.zones ?? []).filter((z) => z.mode !== DROP_ZONE_MODE);
  if (loose.length) {
    const shown = loose.map((z) => `${z.path} (${oct(z.mode)})`).join(", ");
    return warn(id, `drop zones not at mode ${oct(DROP_ZONE_MODE)}: ${shown}; without the sticky bit an agent of the group may replace another agent's file, which keeps its owner's uid and so passes for that role's`, `Start the daemon or run \`consensus init\` (they set ${oct(DROP_ZONE_MODE)}), or \`chmod ${oct(DROP_ZONE_MODE)} ${loose.map((z) => shellArg(join(f.root, z.path))).join(" ")}\`.`, { ...details, zones: loose.map((z) => ({ path: z.path, mode: oct(z.mode) })) });
  }
  // the daemon's user owns the private area; root is never an agent
  const daemonUid = m.dot?.uid ?? m.uid;
  const foreign = (m.zones ?? []).filter((z) => z.uid !== undefined && !daemonOrRoot(z.uid, daemonUid));
  if (foreign.length) {
    const shown = foreign.map((z) => `${z.path} (uid ${z.uid})`).join(", ");
    return warn(id, `drop zones owned by a user other than the daemon's${daemonUid !== undefined ? ` (uid ${daemonUid})` : ""}: ${shown}; the sticky bit does not bind a folder's owner, who may remove or rename the other agents' files there or take their write access away`, `Start the daemon (it gives them to its user), or as root \`chown ${daemonUid ?? "DAEMON_USER"} ${foreign.map((z) => shellArg(join(f.root, z.path))).join(" ")}\`.`, { ...details, zones: foreign.map((z) => ({ path: z.path, uid: z.uid })) });
  }
  if (m.zones?.length && m.protectedHardlinks === "0") {
    return warn(id, "fs.protected_hardlinks is 0 on this host: any agent may hard-link another agent's file into a drop zone (the daemon then refuses it as HARD_LINK, so one agent can have another's drop refused)", "As root: `sysctl -w fs.protected_hardlinks=1`, and keep it with `echo fs.protected_hardlinks=1 > /etc/sysctl.d/60-consensus.conf`.", { ...details, protected_hardlinks: m.protectedHardlinks });
  }
  return pass(id, `the root is not world-writable; the private area is the daemon's alone${m.dot ? ` (mode ${oct(m.dot.mode)})` : ""}${m.zones?.length ? `; the drop zones are ${oct(DROP_ZONE_MODE)}` : ""}`, details);
}
