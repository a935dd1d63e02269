/**
 * A person's command run as another OS user than the daemon's (`sudo consensus cancel` on a root a
 * service user runs): the request cannot be sealed with a key this user does not own. It is said as
 * KEY_UNSAFE with a fix that names the daemon's user (run as it), not as an internal error (exit 70),
 * nor with a chown that would take the key from the daemon. Needs root (a user made for the test, the
 * daemon run as it through runuser): skipped with a message otherwise.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bus, cliPath } from "../support/bus.js";

const isRoot = process.getuid?.() === 0;
const tools = ["useradd", "userdel", "runuser"].every((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status === 0);
const svc = `csvc${process.pid % 100000}`;
if (!isRoot || !tools) console.warn(`person-other-user e2e skipped: it needs root and useradd/runuser (running as uid ${process.getuid?.()})`);

describe.skipIf(!isRoot || !tools)("a person's command as another user than the daemon's", () => {
  let b: Bus | undefined;
  let uid = -1;
  beforeAll(() => {
    execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", svc]);
    uid = Number(execFileSync("id", ["-u", svc], { encoding: "utf8" }));
  });
  afterAll(async () => {
    await b?.stopDaemon();
    b?.cleanup();
    spawnSync("userdel", [svc]);
  });

  it("is refused with KEY_UNSAFE and the way to run it as the daemon's user", async () => {
    b = new Bus();
    execFileSync("chown", [svc, b.dir]);
    // the service user makes the root and runs the daemon
    b.daemonWrapper = ["runuser", "-u", svc, "--"];
    const asSvc = (...args: string[]) => spawnSync("runuser", ["-u", svc, "--", "env", `CONSENSUS_ROOT=${b!.root}`, process.execPath, ...args], { encoding: "utf8" });
    expect(asSvc(cliPath, "init").status).toBe(0);
    expect(asSvc(cliPath, "start", "EP-001", "--title", "Other").status).toBe(0);
    b.startDaemon();
    // writer.json names the daemon (runuser forks: its pid is not the wrapper's)
    await b.until("the daemon to hold the root", () => {
      try {
        return (JSON.parse(readFileSync(join(b!.root, ".consensus", "writer.json"), "utf8")) as { kind?: string }).kind === "daemon";
      } catch {
        return false;
      }
    });
    const r = b.cli("cancel", "EP-001", "--reason", "as root", "--timeout", "20s");
    expect(r.code, r.stderr).not.toBe(70);
    expect(r.stderr).not.toContain("internal error");
    expect(r.stderr).toContain("KEY_UNSAFE");
    expect(r.stderr).toContain(`owned by uid ${uid}`);
    expect(r.stderr).toContain(`sudo -u '#${uid}' consensus`);
    expect(JSON.parse(b.cli("status", "EP-001", "--json").stdout)).toMatchObject({ status: "in_progress" });
  }, 120_000);
});
