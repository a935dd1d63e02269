/**
 * One cgroup (v2) per agent launch, where the daemon may make one: everything the agent starts is in
 * it whatever it does (setsid, double fork, a cleared environment), so it is counted (pids.max) and
 * stopped whole (cgroup.kill). The launch's cgroup is a child of the daemon's own: under systemd that
 * needs `Delegate=yes` in the daemon's unit (an unprivileged daemon's own cgroup is not its to divide
 * otherwise); a root daemon outside systemd may make it anywhere. detectCgroup() says which holds and
 * why; without one the runner falls back to the session and a /proc walk (agent-process.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface CgroupHome {
  /** The daemon's own cgroup, as a folder of the cgroup2 mount. */
  base: string;
  /** The pids controller is enabled for children: pids.max caps each launch. */
  pids: boolean;
}

export type CgroupDetection = { home: CgroupHome; why: string } | { home?: undefined; why: string };

const read = (p: string): string | undefined => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
};
const errText = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** This process's cgroup (v2) as a folder, or why there is none. */
export function ownCgroupDir(): { dir: string } | { why: string } {
  const own = /^0::(\/.*)$/m.exec(read("/proc/self/cgroup") ?? "")?.[1];
  if (own === undefined) return { why: "no cgroup v2 hierarchy (not Linux, or cgroup v1 only)" };
  // mountinfo: "id parent maj:min root mount-point options … - cgroup2 source super-options"
  const mount = (read("/proc/self/mountinfo") ?? "").split("\n").map((l) => l.split(" ")).find((f) => f[f.indexOf("-") + 1] === "cgroup2");
  if (!mount) return { why: "the cgroup2 file system is not mounted" };
  const [mRoot, mPoint] = [mount[3]!, mount[4]!];
  const rel = mRoot === "/" ? own : own.startsWith(mRoot) ? own.slice(mRoot.length) : undefined;
  if (rel === undefined) return { why: `the daemon's cgroup ${own} is outside the mounted cgroup2 tree (${mRoot})` };
  return { dir: join(mPoint, rel) };
}

/** Whether launches can get a cgroup here, and why (or why not), in words for the log and `doctor`. */
export function detectCgroup(mode: "auto" | "off" = "auto"): CgroupDetection {
  if (mode === "off") return { why: "runner.cgroup is off" };
  const own = ownCgroupDir();
  if ("why" in own) return own;
  const base = own.dir;
  const probe = join(base, `consensus-probe-${process.pid}-${randomBytes(3).toString("hex")}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (e) {
    return { why: `cannot create a cgroup under ${base} (${errText(e)}): it is not delegated to this user (systemd: Delegate=yes)` };
  }
  const pids = enablePids(base);
  return { home: { base, pids: pids === true }, why: `each agent gets a cgroup under ${base}${pids === true ? " with pids.max" : `; no pids.max (${pids})`}` };
}

/** Enables the pids controller for the daemon's children (a threaded controller: allowed beside the daemon's own processes). */
function enablePids(base: string): true | string {
  const controllers = read(join(base, "cgroup.controllers")) ?? "";
  if (!controllers.split(/\s+/).includes("pids")) return "the pids controller is not available here";
  if ((read(join(base, "cgroup.subtree_control")) ?? "").split(/\s+/).includes("pids")) return true;
  try {
    writeFileSync(join(base, "cgroup.subtree_control"), "+pids");
    return true;
  } catch (e) {
    return `cannot enable pids for child cgroups (${errText(e)})`;
  }
}

/** A launch's cgroup: `consensus-<root tag>-<launch id>` under the daemon's. */
export class Cage {
  private constructor(readonly path: string) {}

  /** Makes (or, after a crash, reuses) the launch's cgroup and sets its pids.max. Throws on I/O errors. */
  static create(home: CgroupHome, root: string, launchId: string, maxProcesses: number): Cage {
    const path = join(home.base, cageName(root, launchId));
    mkdirSync(path, { recursive: true });
    if (home.pids && existsSync(join(path, "pids.max"))) writeFileSync(join(path, "pids.max"), String(maxProcesses));
    return new Cage(path);
  }

  /** The launch's cgroup if it exists (a launch lost in a daemon crash may have left processes in it). */
  static find(home: CgroupHome, root: string, launchId: string): Cage | undefined {
    const path = join(home.base, cageName(root, launchId));
    return existsSync(path) ? new Cage(path) : undefined;
  }

  /** The cgroup a running process is in, if it is a launch cgroup of this root under `home`. */
  static of(pid: number, home: CgroupHome | undefined, root: string, launchId: string): Cage | undefined {
    if (!home) return undefined;
    const path = join(home.base, cageName(root, launchId));
    const own = /^0::(\/.*)$/m.exec(read(`/proc/${pid}/cgroup`) ?? "")?.[1];
    return own !== undefined && path.endsWith(own) ? new Cage(path) : undefined;
  }

  /** Moves a process in (before it runs the agent: the spawn waits at its gate until this is done). */
  enter(pid: number): void {
    writeFileSync(join(this.path, "cgroup.procs"), String(pid));
  }

  /** Every process in the cgroup now. */
  members(): number[] {
    return (read(join(this.path, "cgroup.procs")) ?? "").split("\n").filter(Boolean).map(Number);
  }

  /** SIGKILL to every process in it at once (cgroup.kill, Linux 5.14+), else to each in turn; false when that file is missing. */
  killAll(): boolean {
    try {
      writeFileSync(join(this.path, "cgroup.kill"), "1");
      return true;
    } catch {
      for (const pid of this.members()) signalPid(pid, "SIGKILL");
      return false;
    }
  }

  /** Removes the cgroup once it is empty (false while processes remain). */
  remove(): boolean {
    try {
      rmdirSync(this.path);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ENOENT";
    }
  }
}

/** `consensus-<first 8 hex of sha256(root)>-<launch id>`: launches of different roots never share a name. */
export const cageName = (root: string, launchId: string): string => `consensus-${createHash("sha256").update(root).digest("hex").slice(0, 8)}-${launchId}`;

/** kill(2) that ignores a process already gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
}
