/**
 * What the owner of a file proves when agents run as their own OS users in one agents' group (security
 * review): a file its group may write proves nothing (another agent of the group can rewrite it and it
 * keeps its owner's uid), nor does a file of an OS user several roles share. The files are written by
 * the real users (runuser), the forgery as it would happen: devops writes a message with umask 002,
 * the developer's user rewrites it in place through the group's write bit. Needs root (to make the
 * users and switch to them): skipped with a message otherwise; users and group are removed after.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifact, Bus } from "../support/bus.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";

const isRoot = process.getuid?.() === 0;
const tools = ["useradd", "groupadd", "userdel", "groupdel", "runuser"].every((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status === 0);
const tag = `${process.pid % 100000}`;
const ops = `cops${tag}`;
const dev = `cdv${tag}`;
const group = `cown${tag}`;
type Details = { file?: string; errors?: Array<{ code: string; message: string; fix?: string }>; proof?: unknown; proof_note?: { reason: string; fix: string } };
const d = (e: LogEntry | undefined): Details => (e?.details ?? {}) as Details;

if (!isRoot || !tools) console.warn(`owner-proof e2e skipped: it needs root and useradd/groupadd/runuser (running as uid ${process.getuid?.()}); run the suite as root to check what a file's owner proves`);

/** Writes `text` to `abs` as OS user `user` with `umask` (in place: `>` truncates a file that is there). */
function writeAs(user: string, umask: string, abs: string, text: string): void {
  const r = spawnSync("runuser", ["-u", user, "--", "sh", "-c", `umask ${umask} && cat > "$0"`, abs], { input: text, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`writing ${abs} as ${user} failed: ${r.stderr}`);
}

const msg = (from: string, subject: string): string => `from: ${from}\nto: developer\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: EP-001\niteration: 1\ntype: info\nsubject: ${subject}\n`;

describe.skipIf(!isRoot || !tools)("authority: what a file's OS owner proves", () => {
  let opsUid = -1;
  let b: Bus;
  beforeAll(() => {
    execFileSync("groupadd", [group]);
    for (const u of [ops, dev]) execFileSync("useradd", ["--system", "--no-create-home", "--no-user-group", "--gid", group, "--shell", "/usr/sbin/nologin", u]);
    opsUid = Number(execFileSync("id", ["-u", ops], { encoding: "utf8" }));
  });
  afterAll(async () => {
    await b?.stopDaemon();
    b?.cleanup();
    for (const u of [ops, dev]) spawnSync("userdel", [u]);
    spawnSync("groupdel", [group]);
  });

  /** A bus whose agents run as the OS users given (role → user) in the agents' group, with EP-001 started. */
  function agentsBus(users: Record<string, string>, title: string): Bus {
    const c = Bus.init();
    chmodSync(c.dir, 0o755);
    const agents = Object.entries(users).map(([role, user]) => `  ${role}: ${JSON.stringify({ command: ["true"], user, retries: 0 })}\n`).join("");
    writeFileSync(join(c.root, "consensus.yaml"), `${readFileSync(join(c.root, "consensus.yaml"), "utf8")}\nagents:\n${agents}security: { agents_group: ${group} }\n`);
    c.applyConfig();
    expect(c.cli("init").code).toBe(0);
    expect(c.cli("start", "EP-001", "--title", title).code).toBe(0);
    return c;
  }

  /** agentsBus with devops as OS user `ops`, the daemon running, and the epic's artifacts folder a drop zone (3775). */
  async function squatBus(title: string): Promise<{ c: Bus; folder: string }> {
    const c = agentsBus({ devops: ops }, title);
    const folder = join(c.root, "artifacts", "EP-001");
    c.startDaemon();
    await c.until("the epic's folder to be a drop zone", () => existsSync(folder) && (statSync(folder).mode & 0o7777) === 0o3775);
    return { c, folder };
  }

  /** The names a refused plan.json was set aside to: .refused-<name>.<sha12>-<8 random hex> (a name the squatter cannot take first). */
  const asidesOf = (folder: string, refused: LogEntry) => {
    const sha = (refused.details as { sha256: string }).sha256;
    const asideName = new RegExp(`^\\.refused-plan\\.json\\.${sha.slice(0, 12)}-[0-9a-f]{8}$`);
    return () => readdirSync(folder).filter((n) => asideName.test(n));
  };

  it("a file the group may write, or of a user two roles share, proves no role; a file only its owner writes does", async () => {
    b = Bus.init();
    chmodSync(b.dir, 0o755);
    // devops its own user; developer and quality share one. No agent is launched while the epic is at plan.
    const agent = (user: string) => JSON.stringify({ command: ["true"], user, retries: 0 });
    writeFileSync(join(b.root, "consensus.yaml"), `${readFileSync(join(b.root, "consensus.yaml"), "utf8")}\nagents:\n  devops: ${agent(ops)}\n  developer: ${agent(dev)}\n  quality: ${agent(dev)}\nsecurity: { agents_group: ${group}, require_proof: [devops] }\n`);
    b.applyConfig();
    const init = b.cli("init");
    expect(init.code, init.stderr).toBe(0);
    const inbox = join(b.root, "messages", "inbox", "developer");
    expect((statSync(inbox).mode & 0o7777).toString(8)).toBe("3775");
    expect(b.cli("start", "EP-001", "--title", "Owners").code).toBe(0);

    // devops's own message, only it may write (0644): proven devops
    writeAs(ops, "022", join(inbox, "own.yaml"), msg("devops", "mine"));
    // devops's message left group-writable (umask 002), rewritten in place by the developer's user: the
    // bytes are the developer's, the owner still devops
    const forged = join(inbox, "forged.yaml");
    writeAs(ops, "002", forged, msg("devops", "original"));
    writeAs(dev, "022", forged, msg("devops", "forged-by-developer"));
    expect([statSync(forged).uid, (statSync(forged).mode & 0o777).toString(8), readFileSync(forged, "utf8")]).toEqual([opsUid, "664", msg("devops", "forged-by-developer")]);
    // written by the user developer and quality share, speaking for quality
    writeAs(dev, "022", join(inbox, "shared.yaml"), msg("quality", "who-am-i"));

    b.startDaemon();
    const es = await b.waitFor("the three messages decided", (x) => x.filter((e) => e.decision === "message_accepted" || e.decision === "message_rejected").length >= 3);
    const of = (name: string) => es.find((e) => (e.decision === "message_accepted" || e.decision === "message_rejected") && d(e).file === `messages/inbox/developer/${name}`);

    expect(of("own.yaml")!.decision).toBe("message_accepted");
    expect(d(of("own.yaml")).proof).toEqual({ by: "os_user", role: "devops", user: ops, uid: opsUid });

    const f = of("forged.yaml")!;
    expect(f.decision).toBe("message_rejected");
    expect(d(f).proof).toBe("unverified");
    expect(d(f).proof_note).toMatchObject({ reason: expect.stringContaining(`owned by OS user ${ops} (role devops) but its mode 0664 lets its group write it`), fix: expect.stringContaining("umask 027") });
    expect(d(f).errors![0]).toMatchObject({ code: "PROOF_REQUIRED", message: expect.stringContaining("mode 0664 lets its group write it"), fix: expect.stringContaining("umask 027") });

    const s = of("shared.yaml")!;
    expect(d(s).proof).toBe("unverified");
    expect(d(s).proof_note).toMatchObject({ reason: expect.stringContaining(`roles developer, quality all run as OS user ${dev}`), fix: expect.stringContaining("Give each role its own OS user") });
    // said once at start, with the fix
    await b.until("the daemon's log to tell of the shared user", () => new RegExp(`roles developer, quality all run as OS user ${dev}, so the owner of a file proves none of them\\. Give each role its own OS user`).test(b.daemonErr));
    expect(es.some((e) => e.decision === "agent_launched")).toBe(false);
    // doctor says it too
    const doc = JSON.parse(b.cli("doctor", "--format", "json").stdout) as { checks: Array<{ id: string; status: string; found: string }> };
    expect(doc.checks.find((c) => c.id === "agents")).toMatchObject({ status: "warn", found: expect.stringContaining(`all run as OS user ${dev}`) });
  });

  it("an artifact refused because its owner's role may not write that name is renamed aside: the name is free for the role that may", async () => {
    const { c, folder } = await squatBus("Squat");
    try {
      // devops takes the planner's name first, as a file only it may change (0640 in a sticky zone)
      writeAs(ops, "027", join(folder, "plan.json"), artifact("plan.json", "EP-001", 1));
      const es = await c.waitFor("devops's plan refused", (x) => x.some((e) => e.decision === "artifact_rejected"));
      const r = es.find((e) => e.decision === "artifact_rejected")!;
      expect(d(r).errors!.map((e) => e.code)).toContain("NOT_PERMITTED");
      expect(d(r).proof).toMatchObject({ by: "os_user", role: "devops" });
      const asides = asidesOf(folder, r);
      await c.until("the refused file renamed aside", () => !existsSync(join(folder, "plan.json")) && asides().length === 1);
      const aside = join(folder, asides()[0]!);
      expect(statSync(aside).uid).toBe(opsUid);
      await c.until("the daemon's log to say so", () => /refused artifact renamed aside/.test(c.daemonErr));
      // and the log of record, where a person reads it (`consensus log`)
      const setAside = (await c.waitForDecision("artifact_set_aside")).find((e) => e.decision === "artifact_set_aside")!;
      expect(setAside).toMatchObject({ epic_id: "EP-001", details: { file: "artifacts/EP-001/plan.json", moved_to: `artifacts/EP-001/${asides()[0]}`, owner: ops } });
      expect(c.cli("log", "--decision", "artifact_set_aside").stdout).toMatch(/refused artifact renamed aside: its owner/);
      // devops puts its refused bytes back (its own file: the sticky bit lets it rename it): the log has
      // that refusal already, so nothing new is decided, but the name is freed again
      const back = spawnSync("runuser", ["-u", ops, "--", "mv", aside, join(folder, "plan.json")], { encoding: "utf8" });
      expect(back.status, back.stderr).toBe(0);
      await c.until("the bytes put back renamed aside again", () => !existsSync(join(folder, "plan.json")) && asides().length === 1 && !existsSync(aside) && (c.daemonErr.match(/refused artifact renamed aside/g) ?? []).length >= 2);
      expect(c.entries().filter((e) => e.decision === "artifact_rejected")).toHaveLength(1);
      expect(c.entries().filter((e) => e.decision === "artifact_set_aside")).toHaveLength(1);
      // the planner's plan now takes the name, and the stage moves on
      c.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1, { timestamp: "2026-11-21T09:00:00Z" }));
      await c.waitForDecision("stage_advanced");
    } finally {
      await c.stopDaemon();
      c.cleanup();
    }
  });

  it("a squat is refused at once, not deferred: a backdated file at another role's name would hold it for good", () => {
    // the developer (its own OS user) writes devops's runbook.md while the epic is at deployment and
    // dates it back: a file written before the stage was deferred forever, and devops, not its owner,
    // could neither replace nor remove it in the sticky zone (the stage waited until it escalated)
    for (const umask of ["027", "002"]) {
      const c = agentsBus({ devops: ops, developer: dev }, "Backdated squat");
      try {
        // (watch --once launches no agent)
        for (const n of ["plan.json", "implementation.json", "review.json"]) {
          c.drop(`artifacts/EP-001/${n}`, artifact(n, "EP-001", 1));
          expect(c.cli("watch", "--once").code).toBe(0);
        }
        expect(c.entries().filter((e) => e.decision === "stage_advanced").at(-1)?.details).toMatchObject({ to: "deployment" });
        const folder = join(c.root, "artifacts", "EP-001");
        const runbook = join(folder, "runbook.md");
        writeAs(dev, umask, runbook, artifact("runbook.md", "EP-001", 1));
        expect(spawnSync("runuser", ["-u", dev, "--", "touch", "-d", "2020-01-01", runbook]).status).toBe(0);
        expect(c.cli("watch", "--once").code).toBe(0);
        const r = c.entries().find((e) => e.decision === "artifact_rejected" && d(e).file === "artifacts/EP-001/runbook.md");
        expect(r, `umask ${umask}: the developer's runbook.md was not refused`).toBeDefined();
        expect(d(r).errors!.map((e) => e.code)).toContain(umask === "027" ? "NOT_PERMITTED" : "ROLE_NOT_PROVEN");
        expect(existsSync(runbook)).toBe(false);
        expect(readdirSync(folder).filter((n) => n.startsWith(".refused-runbook.md."))).toHaveLength(1);
        // devops's own runbook takes the name
        writeAs(ops, "027", runbook, artifact("runbook.md", "EP-001", 1));
        expect(c.cli("watch", "--once").code).toBe(0);
        expect(c.entries().filter((e) => e.decision === "artifact_accepted" && d(e).file === "artifacts/EP-001/runbook.md")).toHaveLength(1);
      } finally {
        c.cleanup();
      }
    }
  });

  it("a file of a user two roles share speaks for neither of them only: not for a third role, whose name it loses", () => {
    const c = agentsBus({ developer: dev, quality: dev }, "Shared user");
    try {
      expect(c.cli("watch", "--once").code).toBe(0);
      // the user developer and quality share writes the planner's plan, and an approval from the planner
      const folder = join(c.root, "artifacts", "EP-001");
      writeAs(dev, "027", join(folder, "plan.json"), artifact("plan.json", "EP-001", 1));
      writeAs(dev, "027", join(c.root, "messages", "inbox", "developer", "approve.yaml"), msg("planner", "looks_good").replace("type: info", "type: approve"));
      expect(c.cli("watch", "--once").code).toBe(0);
      const es = c.entries();
      // was: accepted as the planner's (unverified), and the stage advanced
      expect(es.some((e) => e.decision === "stage_advanced")).toBe(false);
      const plan = es.find((e) => e.decision.startsWith("artifact_") && d(e).file === "artifacts/EP-001/plan.json");
      expect(plan?.decision).toBe("artifact_rejected");
      expect(d(plan).errors!.map((e) => e.code)).toContain("ROLE_NOT_PROVEN");
      expect(d(plan).proof_note).toMatchObject({ shared: { user: dev, roles: ["developer", "quality"] } });
      const approve = es.find((e) => d(e).file === "messages/inbox/developer/approve.yaml");
      expect(approve?.decision).toBe("message_rejected");
      expect(d(approve).errors!.map((e) => e.code)).toContain("ROLE_NOT_PROVEN");
      // the name is free for the planner
      expect(existsSync(join(folder, "plan.json"))).toBe(false);
      expect(readdirSync(folder).filter((n) => n.startsWith(".refused-plan.json."))).toHaveLength(1);
      c.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1, { timestamp: "2026-11-21T09:00:00Z" }));
      expect(c.cli("watch", "--once").code).toBe(0);
      expect(c.entries().some((e) => e.decision === "stage_advanced")).toBe(true);
    } finally {
      c.cleanup();
    }
  });

  // Was known, not fixed (review of 49c4efc): set-aside moved only regular files it read and decided,
  // so a folder, a FIFO or a link another role's user made at the name held it for good (the sticky
  // zone keeps the rightful role from removing it). Now each is decided unread, by its lstat: refused
  // (its owner's role may not write the name), renamed aside neither followed nor opened, a folder with
  // its contents untouched, and the name is free.
  it("a folder, a FIFO or a link an agent's user makes at another role's name does not hold it", () => {
    for (const how of ["mkdir plan.json && echo kept > plan.json/inside", "mkfifo plan.json", "ln -s /etc/hostname plan.json", "ln -s missing plan.json"]) {
      const c = agentsBus({ devops: ops }, "Non-regular squat");
      try {
        expect(c.cli("watch", "--once").code).toBe(0);
        const folder = join(c.root, "artifacts", "EP-001");
        expect(spawnSync("runuser", ["-u", ops, "--", "sh", "-c", `cd "$0" && ${how}`, folder]).status).toBe(0);
        const once = c.cli("watch", "--once");
        expect(once.code, once.stderr).toBe(0);
        expect(readdirSync(folder), how).not.toContain("plan.json");
        const r = c.entries().find((e) => e.decision === "artifact_rejected" && d(e).file === "artifacts/EP-001/plan.json");
        expect(d(r).errors!.map((e) => e.code), how).toEqual(["NOT_REGULAR_FILE", "NOT_PERMITTED"]);
        expect(d(r).proof, how).toEqual({ by: "os_user", role: "devops", user: ops, uid: opsUid });
        const aside = c.entries().find((e) => e.decision === "artifact_set_aside");
        expect(aside, how).toMatchObject({ epic_id: "EP-001", details: { file: "artifacts/EP-001/plan.json", moved_to: expect.stringMatching(/^artifacts\/EP-001\/\.refused-plan\.json\.[0-9a-f]{12}-[0-9a-f]{8}$/), owner: ops } });
        const moved = join(c.root, (aside!.details as { moved_to: string }).moved_to);
        // what was moved is the entry itself, still its owner's: not followed, not opened
        const st = lstatSync(moved);
        expect([st.uid, st.isDirectory(), st.isFIFO(), st.isSymbolicLink()], how).toEqual([opsUid, how.startsWith("mkdir"), how.startsWith("mkfifo"), how.startsWith("ln")]);
        if (how.startsWith("mkdir")) expect(readFileSync(join(moved, "inside"), "utf8")).toBe("kept\n");
        if (how.startsWith("ln")) expect(readlinkSync(moved)).toBe(how.split(" ")[2]);
        expect(once.stderr, how).toMatch(/refused artifact renamed aside: its owner .* \((a folder|a FIFO|a symbolic link)/);
        // the planner's plan takes the name, and the stage moves on
        c.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
        expect(c.cli("watch", "--once").code).toBe(0);
        expect(c.entries().some((e) => e.decision === "stage_advanced"), how).toBe(true);
      } finally {
        c.cleanup();
      }
    }
  });

  it("the running daemon sets aside a folder and a FIFO an agent's user makes at another role's name as they land, and runs on", async () => {
    const { c, folder } = await squatBus("Non-regular squat, watched");
    try {
      for (const [n, how] of [["plan.json", "mkdir plan.json"], ["implementation.json", "mkfifo implementation.json"]] as const) {
        expect(spawnSync("runuser", ["-u", ops, "--", "sh", "-c", `cd "$0" && ${how}`, folder]).status).toBe(0);
        await c.until(`${n} renamed aside`, () => c.entries().some((e) => e.decision === "artifact_set_aside" && d(e).file === `artifacts/EP-001/${n}`));
        expect(readdirSync(folder)).not.toContain(n);
      }
      expect(c.daemonErr).toMatch(/refused artifact renamed aside: its owner .* \(a folder, moved with its contents unread and untouched\)/);
      c.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
      await c.waitForDecision("stage_advanced");
    } finally {
      await c.stopDaemon();
      c.cleanup();
    }
  });

  it("a folder an agent's user makes at a notice's (predictable) name does not keep the notice out: renamed aside, the notice written", () => {
    const c = agentsBus({ devops: ops }, "Notice squat");
    try {
      expect(c.cli("watch", "--once").code).toBe(0);
      const inbox = join(c.root, "messages", "inbox", "developer");
      // the developer's next stage notices, named by the seq an agent reads from the log
      const names = Array.from({ length: 12 }, (_, i) => `notice-${String(i + 1).padStart(8, "0")}-EP-001-stage_entered.yaml`);
      expect(spawnSync("runuser", ["-u", ops, "--", "sh", "-c", `cd "$0" && mkdir ${names.join(" ")}`, inbox]).status).toBe(0);
      c.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
      const once = c.cli("watch", "--once");
      expect(once.code, once.stderr).toBe(0);
      expect(c.entries().some((e) => e.decision === "stage_advanced")).toBe(true);
      const notice = readdirSync(inbox).find((n) => names.includes(n) && lstatSync(join(inbox, n)).isFile());
      expect(notice, once.stderr).toBeDefined();
      expect(once.stderr).toMatch(/a folder at a notice's name renamed aside \(neither followed nor opened\)/);
      expect(readdirSync(inbox).filter((n) => n.startsWith(`.refused-${notice}.`)).map((n) => lstatSync(join(inbox, n)).uid)).toEqual([opsUid]);
    } finally {
      c.cleanup();
    }
  });

  // review5: a link at a name no stage has, or at a message's name, is read through (inside the root),
  // and its proof was taken from the target's owner: devops linking to the planner's files made
  // refusals recorded as the planner's, proven (and enough of them a minute hold the planner's notices
  // as a flood). The link's owner put it at the name: it is the one the proof names.
  it("an agent's link to another role's file speaks for the link's owner, not the file's", () => {
    const c = agentsBus({ devops: ops, planner: dev }, "Borrowed owner");
    try {
      expect(c.cli("watch", "--once").code).toBe(0);
      writeAs(dev, "027", join(c.root, "artifacts", "EP-001", "plan.json"), artifact("plan.json", "EP-001", 1));
      writeAs(dev, "027", join(c.root, "messages", "inbox", "developer", "hello.yaml"), msg("planner", "hello"));
      expect(c.cli("watch", "--once").code).toBe(0);
      for (const cmd of ["cd artifacts/EP-001 && ln -s plan.json notes.json", "cd messages/inbox/developer && ln -s hello.yaml again.yaml"]) {
        expect(spawnSync("runuser", ["-u", ops, "--", "sh", "-c", cmd], { cwd: c.root }).status, cmd).toBe(0);
      }
      expect(c.cli("watch", "--once").code).toBe(0);
      const of = (file: string) => c.entries().find((e) => d(e).file === file);
      expect(of("artifacts/EP-001/notes.json")?.decision).toBe("artifact_rejected");
      expect(of("messages/inbox/developer/again.yaml")?.decision).toBe("message_rejected");
      for (const f of ["artifacts/EP-001/notes.json", "messages/inbox/developer/again.yaml"]) expect(d(of(f)).proof, f).toEqual({ by: "os_user", role: "devops", user: ops, uid: opsUid });
    } finally {
      c.cleanup();
    }
  });

  it("an agent's link in an inbox that cannot be read (dangling, out of the root) is its own: the link's owner gets the rejection with the fix (review rv8)", () => {
    const c = agentsBus({ devops: ops }, "Unread links");
    try {
      for (const cmd of ["cd messages/inbox/developer && ln -s /nonexistent/veto.yaml dangling.yaml", "cd messages/inbox/developer && ln -s /etc/hostname outside.yaml"]) {
        expect(spawnSync("runuser", ["-u", ops, "--", "sh", "-c", cmd], { cwd: c.root }).status, cmd).toBe(0);
      }
      expect(c.cli("watch", "--once").code).toBe(0);
      const es = c.entries();
      for (const [name, code] of [["dangling.yaml", "NOT_REGULAR_FILE"], ["outside.yaml", "SYMLINK_OUTSIDE"]] as const) {
        const file = `messages/inbox/developer/${name}`;
        const e = es.find((x) => x.decision === "message_rejected" && d(x).file === file);
        expect(e, file).toBeDefined();
        expect(d(e).proof, file).toEqual({ by: "os_user", role: "devops", user: ops, uid: opsUid });
        expect(d(e).errors!.map((x) => x.code)).toContain(code);
        // told: the link's owner its rejection (what, where, the fix); the inbox's role that it is not in force
        const notice = join(c.root, "messages/inbox/devops", `notice-${String(e!.seq).padStart(8, "0")}-unknown-message_rejected.yaml`);
        expect(existsSync(notice), notice).toBe(true);
        expect(readFileSync(notice, "utf8")).toContain(`rm ${file}`);
        expect(existsSync(join(c.root, "messages/inbox/developer", `notice-${String(e!.seq).padStart(8, "0")}-unknown-message_not_in_force.yaml`))).toBe(true);
      }
    } finally {
      c.cleanup();
    }
  });

  // review5: an agent's mkdir loop at another role's name was set aside ~665 times a second, each a
  // warning in the daemon's log (~380 KB/s, without bound); the log of record held (duplicates).
  it("an agent's user that makes the folder again and again at another role's name does not fill the daemon's log", async () => {
    const { c, folder } = await squatBus("Squat loop");
    const stop = join(c.dir, "stop-spinning");
    chmodSync(c.dir, 0o777);
    const loop = `const fs = require("fs"); process.chdir(${JSON.stringify(folder)}); while (!fs.existsSync(${JSON.stringify(stop)})) { try { fs.mkdirSync("plan.json"); } catch {} }`;
    const spin = spawn("runuser", ["-u", ops, "--", process.execPath, "-e", loop], { stdio: "ignore" });
    try {
      await c.until("200 folders set aside", () => readdirSync(folder).filter((n) => n.startsWith(".refused-plan.json.")).length >= 200);
      writeFileSync(stop, "");
      await new Promise((r) => (spin.exitCode !== null ? r(undefined) : spin.once("exit", r)));
      expect(c.daemon?.exitCode).toBeNull();
      expect((c.daemonErr.match(/refused artifact renamed aside/g) ?? []).length).toBeLessThanOrEqual(3);
      expect(c.entries().filter((e) => e.decision === "artifact_set_aside")).toHaveLength(1);
      // the name is the planner's once the loop stops
      spawnSync("runuser", ["-u", ops, "--", "rmdir", join(folder, "plan.json")]);
      c.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
      await c.waitForDecision("stage_advanced");
    } finally {
      writeFileSync(stop, "");
      await new Promise((r) => (spin.exitCode !== null ? r(undefined) : spin.once("exit", r)));
      await c.stopDaemon();
      c.cleanup();
    }
  });

  it("a folder or FIFO the rightful role's user, or root, makes at the name stays: refused with what to do", () => {
    const c = agentsBus({ devops: ops, planner: dev }, "Own non-regular entry");
    try {
      expect(c.cli("watch", "--once").code).toBe(0);
      const folder = join(c.root, "artifacts", "EP-001");
      // the planner's own folder at its own name: not a squat, its own mistake to fix
      expect(spawnSync("runuser", ["-u", dev, "--", "mkdir", join(folder, "plan.json")]).status).toBe(0);
      // root's FIFO at devops's name: never moved
      expect(spawnSync("mkfifo", [join(folder, "runbook.md")]).status).toBe(0);
      expect(c.cli("watch", "--once").code).toBe(0);
      // nothing set aside (the claims' folder .placed is the daemon's, made with the zone)
      expect(readdirSync(folder).filter((n) => n !== ".placed").sort()).toEqual(["plan.json", "runbook.md"]);
      const es = c.entries();
      expect(es.some((e) => e.decision === "artifact_set_aside")).toBe(false);
      const plan = es.find((e) => e.decision === "artifact_rejected" && d(e).file === "artifacts/EP-001/plan.json");
      expect(d(plan).errors).toEqual([expect.objectContaining({ code: "NOT_REGULAR_FILE", message: expect.stringContaining("is a folder, not a regular file"), fix: expect.stringContaining("rm -r") })]);
      expect(d(plan).proof).toMatchObject({ by: "os_user", role: "planner", user: dev });
      const runbook = es.find((e) => e.decision === "artifact_rejected" && d(e).file === "artifacts/EP-001/runbook.md");
      expect(d(runbook).errors!.map((e) => e.code)).toEqual(["NOT_REGULAR_FILE"]);
      expect(d(runbook).proof).toBe("unverified");
    } finally {
      c.cleanup();
    }
  });

  it("a squatter that makes its file group-writable (so its owner proves nothing) loses the name all the same, also when it puts the bytes back", async () => {
    const { c, folder } = await squatBus("Squat g+w");
    try {
      // umask 002: 0664, so the owner proves no role (the review's escape from the set-aside)
      writeAs(ops, "002", join(folder, "plan.json"), artifact("plan.json", "EP-001", 1));
      const es = await c.waitFor("devops's group-writable plan refused", (x) => x.some((e) => e.decision === "artifact_rejected"));
      const r = es.find((e) => e.decision === "artifact_rejected")!;
      // refused though unverified input is accepted here: the file is devops's, speaking for the planner
      expect(d(r).proof).toBe("unverified");
      expect(d(r).errors!.map((e) => e.code)).toContain("ROLE_NOT_PROVEN");
      expect(d(r).proof_note).toMatchObject({ owner: { role: "devops", user: ops } });
      const asides = asidesOf(folder, r);
      await c.until("the refused file renamed aside", () => !existsSync(join(folder, "plan.json")) && asides().length === 1);
      const aside = join(folder, asides()[0]!);
      expect(statSync(aside).uid).toBe(opsUid);
      await c.waitForDecision("artifact_set_aside");
      // put back: the same bytes are not decided again, but the name is freed again
      const back = spawnSync("runuser", ["-u", ops, "--", "mv", aside, join(folder, "plan.json")], { encoding: "utf8" });
      expect(back.status, back.stderr).toBe(0);
      await c.until("the bytes put back renamed aside again", () => !existsSync(join(folder, "plan.json")) && asides().length === 1 && !existsSync(aside) && (c.daemonErr.match(/refused artifact renamed aside/g) ?? []).length >= 2);
      expect(c.entries().filter((e) => e.decision === "artifact_rejected")).toHaveLength(1);
      c.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1, { timestamp: "2026-11-21T09:00:00Z" }));
      await c.waitForDecision("stage_advanced");
    } finally {
      await c.stopDaemon();
      c.cleanup();
    }
  });
});
