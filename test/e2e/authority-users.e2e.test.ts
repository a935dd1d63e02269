/**
 * Issue 15 with separate OS users per role: the developer agent runs as its own user (agents.developer
 * .user) and drops plain files; the owner of each file proves its author. Its own implementation.json
 * is accepted as the developer's; quality's review.json, a devops veto and a `from: quality` approval
 * it writes are refused, each with the reason. Needs root (to make the user and switch to it): skipped
 * with a message otherwise; the user and group are made for the run and removed after it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifact, Bus, fixtures, repo } from "../support/bus.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";

const isRoot = process.getuid?.() === 0;
const tools = ["useradd", "groupadd", "userdel", "groupdel"].every((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status === 0);
const tag = `${process.pid % 100000}`;
const user = `cdev${tag}`;
const group = `cauth${tag}`;
type Details = { file?: string; errors?: Array<{ code: string; message: string }>; proof?: unknown };
const d = (e: LogEntry | undefined): Details => (e?.details ?? {}) as Details;

if (!isRoot || !tools) console.warn(`authority-users e2e skipped: it needs root and useradd/groupadd (running as uid ${process.getuid?.()}); run the suite as root to check that a file's owner proves its author`);

describe.skipIf(!isRoot || !tools)("authority: a role proven by the file's OS owner", () => {
  let uid = -1;
  const out = mkdtempSync(join(tmpdir(), "consensus-forger-"));
  let b: Bus;
  beforeAll(() => {
    execFileSync("groupadd", [group]);
    execFileSync("useradd", ["--system", "--no-create-home", "--no-user-group", "--gid", group, "--shell", "/usr/sbin/nologin", user]);
    uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }));
  });
  afterAll(async () => {
    await b?.stopDaemon();
    b?.cleanup();
    rmSync(out, { recursive: true, force: true });
    spawnSync("userdel", [user]);
    spawnSync("groupdel", [group]);
  });

  it("the developer's own artifact is accepted as its own; what it writes for quality and devops is refused", async () => {
    b = Bus.init();
    chmodSync(b.dir, 0o755);
    chmodSync(out, 0o777);
    const agent = { command: [process.execPath, join(repo, "test", "fixtures", "agents", "forger.mjs")], user, retries: 0, env: { FORGE_MODE: "drop", OUT_DIR: out, IMPL_FIXTURE: join(fixtures, "valid", "implementation.json"), REVIEW_FIXTURE: join(fixtures, "valid", "review.json") } };
    // the daemon gives the drop zones to the agents' group when it starts
    writeFileSync(join(b.root, "consensus.yaml"), `${readFileSync(join(b.root, "consensus.yaml"), "utf8")}\nagents:\n  developer: ${JSON.stringify(agent)}\nsecurity: { agents_group: ${group} }\n`);
    b.applyConfig();
    expect(b.cli("start", "EP-001", "--title", "Health").code).toBe(0);
    b.startDaemon();
    b.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    const es = await b.waitFor("the forger's three forgeries decided", (x) => x.filter((e) => e.decision === "artifact_rejected" || e.decision === "message_rejected").length >= 3 && readdirSync(out).some((n) => n.startsWith("forger-")));

    const impl = es.find((e) => e.decision === "artifact_accepted" && d(e).file === "artifacts/EP-001/implementation.json");
    expect(d(impl).proof).toEqual({ by: "os_user", role: "developer", user, uid });
    const review = es.find((e) => e.decision === "artifact_rejected" && d(e).file === "artifacts/EP-001/review.json");
    expect(d(review).errors![0]).toMatchObject({ code: "NOT_PERMITTED", message: expect.stringMatching(new RegExp(`developer \\(OS user ${user} owns the file\\) may not write review\\.json`)) });
    const messages = es.filter((e) => e.decision === "message_rejected").map((e) => d(e).errors![0]!);
    expect(messages.map((m) => m.code)).toEqual(["ROLE_NOT_PROVEN", "ROLE_NOT_PROVEN"]);
    expect(messages.map((m) => m.message).join("\n")).toMatch(new RegExp(`owned by OS user ${user} \\(uid ${uid}\\), who runs role developer, but it speaks for devops`));
    expect(messages.map((m) => m.message).join("\n")).toMatch(/who runs role developer, but it speaks for quality/);
    expect(es.some((e) => e.decision === "veto_recorded" || e.decision === "approval_recorded" || e.decision === "promoted")).toBe(false);
    // a file the daemon's own user (a person) drops stays unverified: owning it proves no role
    const plan = es.find((e) => e.decision === "artifact_accepted" && d(e).file === "artifacts/EP-001/plan.json");
    expect(d(plan).proof).toBe("unverified");
  });
});
