/**
 * Agents as their own OS user (agents.<name>.user, security.agents_group): the operating system keeps
 * an agent to the drop zones. Needs root (to create the user and group and to switch to them): skipped
 * with a message otherwise. The user and group are made for the run and removed after it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliPath, fixtures, repo } from "../support/bus.js";
import { busWith, cleanupBuses, count } from "../support/agents.js";

const isRoot = process.getuid?.() === 0;
const tools = ["useradd", "groupadd", "userdel", "groupdel", "runuser"].every((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status === 0);
const tag = `${process.pid % 100000}`;
const user = `cagent${tag}`;
const group = `cagents${tag}`;

if (!isRoot || !tools) console.warn(`agent-user e2e skipped: it needs root and useradd/groupadd/runuser (running as uid ${process.getuid?.()}); run the suite as root (e.g. in CI's container) to check that the OS keeps agents to the drop zones`);

describe.skipIf(!isRoot || !tools)("agents run as their own OS user", () => {
  let uid = -1;
  let gid = -1;
  beforeAll(() => {
    execFileSync("groupadd", [group]);
    execFileSync("useradd", ["--system", "--no-create-home", "--no-user-group", "--gid", group, "--shell", "/usr/sbin/nologin", user]);
    uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }));
    gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }));
  });
  afterAll(() => {
    cleanupBuses();
    spawnSync("userdel", [user]);
    spawnSync("groupdel", [group]);
  });

  it("an agent launched as that user drops its artifact but cannot write the private area, the rules or the state, nor run more than max_processes", async () => {
    const b = busWith(
      { command: [process.execPath, join(repo, "test", "fixtures", "agents", "intruder.mjs")], user, max_processes: 64, env: { PLAN_FIXTURE: join(fixtures, "valid", "plan.json"), SPAWN_COUNT: "100" } },
      `security: { agents_group: ${group} }\n`,
    );
    // mkdtemp made the test folder 0700: the agents' user must be able to reach the bus at all
    chmodSync(b.dir, 0o755);
    // init gives the drop zones to the group whatever the umask (here one that would shut the group out)
    const init = spawnSync("sh", ["-c", 'umask 077 && exec "$0" "$@"', process.execPath, cliPath, "init"], { env: { ...process.env, CONSENSUS_ROOT: b.root }, encoding: "utf8" });
    expect(init.status, init.stderr).toBe(0);
    for (const dir of ["artifacts", "messages/inbox/planner"]) expect([dir, statSync(join(b.root, dir)).gid, statSync(join(b.root, dir)).mode & 0o7777]).toEqual([dir, gid, 0o3775]);
    b.cli("start", "EP-001", "--title", "Health");
    b.startDaemon();
    const es = await b.waitFor("the plan accepted and the agent's exit", (x) => count(x, "artifact_accepted") === 1 && count(x, "agent_exited") === 1);
    expect(es.find((e) => e.decision === "agent_launched")!.details).toMatchObject({ user });
    const report = JSON.parse(readFileSync(join(b.root, "logs", "agents", "EP-001", "1", "planner-1.log"), "utf8").trim().split("\n").at(-1)!) as Record<string, unknown>;
    expect(report).toMatchObject({ uid, gid, groups: [gid], umask: 0o027, private: "EACCES", pidFile: "EACCES", rules: "EACCES", state: "EACCES", log: "written", artifact: "written", spawnError: "EAGAIN" });
    // RLIMIT_NPROC: its own tasks (node's threads included) and the children together stay within 64
    expect(report.spawned as number).toBeLessThan(64);
    expect(report.spawnFailed as number).toBeGreaterThan(0);
    // the drop zones are the agents' group's, setgid, whatever the umask; what the agent made stays the group's
    for (const dir of ["artifacts", "artifacts/EP-001", "messages/inbox/planner", "messages/inbox/developer"]) {
      const st = statSync(join(b.root, dir));
      expect([dir, st.gid, st.mode & 0o2070]).toEqual([dir, gid, 0o2070]);
    }
    // launched with umask 027: what the agent wrote only it may write (0640), so its owner proves its role
    expect((statSync(join(b.root, "artifacts", "EP-001", "plan.json")).mode & 0o777).toString(8)).toBe("640");
    expect(es.find((e) => e.decision === "artifact_accepted")!.details).toMatchObject({ proof: { by: "os_user", role: "planner", uid } });
    // sticky: only a file's owner may rename or remove it in a drop zone
    expect(statSync(join(b.root, "artifacts", "EP-001")).mode & 0o1000).toBe(0o1000);
    expect(statSync(join(b.root, "current", "decision_log.jsonl")).gid).toBe(gid);
    expect(statSync(join(b.root, "consensus.yaml")).uid).toBe(0);
    expect(await b.stopDaemon()).toBe(0);
  });

  it("a daemon that may not switch users refuses the launch with the reason", () => {
    // the check itself, run as the unprivileged user: it may not start a process as root
    const r = spawnSync("runuser", ["-u", user, "--", process.execPath, "--input-type=module", "-e", `import { cannotSwitchTo } from ${JSON.stringify(join(repo, "dist", "runner", "os-users.js"))}; console.log(JSON.stringify(cannotSwitchTo("planner", { uid: 0, gid: 0 })));`], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: "AGENT_USER_INVALID", message: expect.stringMatching(/may not switch to them: it lacks CAP_SETUID and CAP_SETGID/), fix: expect.stringMatching(/Run the daemon as root/) });
  });
});
