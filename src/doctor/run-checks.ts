/** Facts → the report, in the order a person fixes things in. Pure. */
import { summarise, skip, type CheckResult, type DoctorReport } from "../report/check.js";
import { checkClock } from "./clock-check.js";
import { checkConfigFile } from "./config-check.js";
import { checkRules } from "./rules-check.js";
import { checkDisk } from "./disk-check.js";
import { checkAgents } from "./agents-check.js";
import { checkFdLimit } from "./fd-check.js";
import { checkInotify } from "./inotify-check.js";
import { checkLayout, checkStateFile } from "./layout-check.js";
import { checkLock } from "./lock-check.js";
import { checkModes } from "./modes-check.js";
import { checkLog } from "./log-check.js";
import { checkPack } from "./pack-check.js";
import { checkNodeVersion } from "./node-version.js";
import { checkStrays } from "./stray-check.js";
import { checkWritable } from "./writable-check.js";
import type { Facts } from "./facts.js";

export function runChecks(f: Facts): DoctorReport {
  const checks: CheckResult[] = [checkNodeVersion(f.node.version, f.node.engines), checkLayout(f)];
  if (!f.layout.rootExists) {
    for (const id of ["modes", "permissions", "config", "rules", "inotify", "files", "agents", "disk", "lock", "log", "pack", "state", "clock", "strays"]) checks.push(skip(id, "no bus to check"));
    return summarise(f.root, checks);
  }
  checks.push(checkModes(f), checkWritable(f), checkConfigFile(f), checkRules(f), checkInotify(f), checkFdLimit(f), checkAgents(f), checkDisk(f), checkLock(f), checkLog(f), checkPack(f), checkStateFile(f), checkClock(f), checkStrays(f));
  return summarise(f.root, checks);
}
