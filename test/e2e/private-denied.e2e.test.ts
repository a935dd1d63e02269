/**
 * A command run by an OS user that may not read the daemon's private area (.consensus/, 0700: an agent
 * run as its own user, docs/agents.md) is told so: PRIVATE_AREA_DENIED naming who, what, whose the area
 * is and its mode, and the fix. Never RULES_FORGED ("the file could not be opened (EACCES)": a forgery
 * that is not one, with a fix that does not help), never an internal error. Real CLI (`consensus inbox`,
 * `consensus mcp` over stdio) run as nobody through runuser.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, cliPath } from "../support/bus.js";
import { unawaited } from "../../src/cli/commands/submit.js";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn(`private-denied e2e: skipped: running as another user (runuser) needs root (running as uid ${process.getuid?.()})`);

let bus: Bus | undefined;
let daemon: ChildProcess | undefined;
afterEach(() => {
  // the daemon runuser started, and its own child (one process group: spawned detached)
  if (daemon?.pid && daemon.exitCode === null) process.kill(-daemon.pid, "SIGKILL");
  daemon = undefined;
  bus?.cleanup();
  bus = undefined;
});

/** A bus whose root nobody may reach (its private area stays the daemon's: 0700, root's). */
function started(): Bus {
  const b = (bus = Bus.init());
  chmodSync(b.dir, 0o755);
  expect(b.cli("start", "EP-001", "--title", "Denied").code).toBe(0);
  return b;
}

const asNobody = (b: Bus, ...args: string[]) => spawnSync("runuser", ["-u", "nobody", "--", "env", `CONSENSUS_ROOT=${b.root}`, process.execPath, cliPath, ...args], { encoding: "utf8", input: "", timeout: 60_000 });

describe("a user that may not read the private area", () => {
  it.skipIf(!isRoot)("consensus inbox: PRIVATE_AREA_DENIED naming nobody, the rules file, the area's owner and mode, and the fix; not RULES_FORGED", () => {
    const b = started();
    const r = asNobody(b, "inbox", "planner");
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain("PRIVATE_AREA_DENIED");
    expect(r.stderr).toContain(`uid 65534 (nobody) may not read the rules in force (${join(b.root, ".consensus", "rules.json")}), in the daemon's private area: .consensus/ is uid 0's (root), mode 0700`);
    expect(r.stderr).toContain("consensus watch --mcp-port N");
    expect(r.stderr).not.toMatch(/RULES_FORGED|do not verify|internal error|This is a bug/);
  });

  it.skipIf(!isRoot)("consensus status, status EPIC, log, log verify and doctor: PRIVATE_AREA_DENIED for the log of record, not 'no epics yet', NOT_FOUND, 'no log of record yet' or an internal error", () => {
    const b = started();
    const record = join(b.root, ".consensus", "log.jsonl");
    for (const args of [["status"], ["status", "EP-001"], ["log"]]) {
      const r = asNobody(b, ...args);
      expect(r.status, `${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr, args.join(" ")).toContain(`uid 65534 (nobody) may not read the log of record`);
      expect(r.stderr, args.join(" ")).toContain(`(${record}), in the daemon's private area: .consensus/ is uid 0's (root), mode 0700`);
      expect(`${r.stdout}${r.stderr}`, args.join(" ")).not.toMatch(/no epics yet|NOT_FOUND|no log of record|internal error/);
    }
    // log verify: a log it may not look at, not "no log of record yet; … holds an older log" to adopt
    const v = asNobody(b, "log", "verify");
    expect(v.status, v.stdout).toBe(1);
    expect(v.stdout).toContain(`log of record: uid 65534 (nobody) may not read the log of record (${record}), in the daemon's private area`);
    expect(v.stdout).not.toMatch(/older log|watch --once/);
    const d = asNobody(b, "doctor");
    expect(d.status, d.stderr).toBe(1);
    expect(d.stderr).toContain("uid 65534 (nobody) may not read the files doctor checks");
    expect(d.stderr).toContain(`Run \`consensus doctor\` as the daemon's user (the owner of ${join(b.root, ".consensus")} named above) or as root`);
    expect(d.stderr).not.toMatch(/internal error|EACCES/);
  });

  it.skipIf(!isRoot)("a person's command (cancel, override) as such a user: PRIVATE_AREA_DENIED, not PRIVATE_AREA_UNSAFE with a fix that would chown the private area to it", () => {
    const b = started();
    for (const args of [["cancel", "EP-001", "--reason", "r"], ["override", "EP-001", "--to", "planning", "--reason", "r"]]) {
      const r = asNobody(b, ...args);
      expect(r.status, `${args[0]}: ${r.stderr}`).toBe(1);
      expect(r.stderr, args[0]).toContain(`[PRIVATE_AREA_DENIED] ${join(b.root, ".consensus", "log.jsonl")}: uid 65534 (nobody) may not read the writer lock and the log of record`);
      expect(r.stderr, args[0]).not.toMatch(/PRIVATE_AREA_UNSAFE|chown|internal error/);
    }
  });

  it.skipIf(!isRoot)("consensus mcp over stdio: refuses to start with the same PRIVATE_AREA_DENIED (it reads the rules in force first), not RULES_FORGED", () => {
    const b = started();
    const r = asNobody(b, "mcp", "--role", "planner");
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(`[PRIVATE_AREA_DENIED] ${join(b.root, ".consensus", "rules.json")}: uid 65534 (nobody) may not read the rules in force`);
    expect(r.stderr).toContain("consensus watch --mcp-port N");
    expect(r.stderr).not.toMatch(/RULES_FORGED|do not verify|internal error|This is a bug/);
  });
});

describe("what consensus submit says when it may not await the verdict", () => {
  it("an artifact: placed, signed, why not awaited, the rejection notice's name, the archive copy, the HTTP endpoint", () => {
    const t = unawaited("artifacts/EP-001/plan.json", { role: "planner", epic_id: "EP-001", iteration: 2 }, "0efb02c663860beef", "uid 65534 (nobody) may not read the log of record");
    expect(t).toContain("artifacts/EP-001/plan.json is placed, signed for planner (epic EP-001, iteration 2; sha256 0efb02c66386); its verdict is not awaited: uid 65534 (nobody) may not read the log of record.");
    expect(t).toContain("messages/inbox/planner/notice-<seq>-EP-001-artifact_rejected.yaml");
    expect(t).toContain("archive/EP-001/2/plan.json");
    expect(t).toContain("`consensus watch --mcp-port N`");
  });

  it("a message: its rejection notice, and no notice when accepted", () => {
    const t = unawaited("messages/inbox/developer/info-planner-EP-001.yaml", { role: "planner", epic_id: "EP-001", iteration: 1 }, "ab".repeat(32), "why");
    expect(t).toContain("messages/inbox/planner/notice-<seq>-EP-001-message_rejected.yaml");
    expect(t).toContain("in force in its recipient's inbox (no notice to you)");
    expect(t).not.toContain("archive/");
  });
});

/**
 * The daemon's own user (here nobody, owning the whole root) refused a file in its own private area:
 * someone changed that file's mode (an agent sharing the daemon's user). That is tampering, said as
 * RULES_FORGED as before, never PRIVATE_AREA_DENIED ("run as the daemon's user": it is that user).
 */
describe("the private area's owner refused one of its own files", () => {
  /** A bus nobody owns throughout, its rules file made unreadable (mode 0000). */
  function ownedByNobody(): Bus {
    const b = started();
    expect(spawnSync("chown", ["-R", "nobody", b.dir]).status).toBe(0);
    chmodSync(join(b.root, ".consensus", "rules.json"), 0o000);
    return b;
  }

  it.skipIf(!isRoot)("consensus watch --once as the area's owner: refuses to run with RULES_FORGED, not PRIVATE_AREA_DENIED", () => {
    const b = ownedByNobody();
    const r = asNobody(b, "watch", "--once", "--log-level", "warn");
    expect(r.status, r.stderr).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain("RULES_FORGED");
    expect(`${r.stdout}${r.stderr}`).not.toContain("PRIVATE_AREA_DENIED");
  });

  it.skipIf(!isRoot)("consensus inbox and mcp as the area's owner: RULES_FORGED, not PRIVATE_AREA_DENIED", () => {
    const b = ownedByNobody();
    for (const args of [["inbox", "planner"], ["mcp", "--role", "planner"]]) {
      const r = asNobody(b, ...args);
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(1);
      expect(r.stderr, args.join(" ")).toContain("RULES_FORGED");
      expect(r.stderr, args.join(" ")).not.toContain("PRIVATE_AREA_DENIED");
    }
  });
});

describe("the daemon (as the private area's owner) finds its rules file made unreadable while it runs", () => {
  it.skipIf(!isRoot)("it logs config_rejected and runs on with the rules in force, as before: no PRIVATE_AREA_DENIED thrown out of its loop", async () => {
    const b = started();
    expect(spawnSync("chown", ["-R", "nobody", b.dir]).status).toBe(0);
    const d = (daemon = spawn("runuser", ["-u", "nobody", "--", "env", `CONSENSUS_ROOT=${b.root}`, process.execPath, cliPath, "watch", "--log-level", "warn"], { detached: true, stdio: ["ignore", "ignore", "pipe"] }));
    let stderr = "";
    d.stderr!.on("data", (c: Buffer) => (stderr += String(c)));
    const writer = join(b.root, ".consensus", "writer.json");
    await b.until("the daemon (as nobody) to hold the root", () => {
      try {
        return (JSON.parse(readFileSync(writer, "utf8")) as { kind?: string }).kind === "daemon" || undefined;
      } catch {
        return undefined;
      }
    });
    chmodSync(join(b.root, ".consensus", "rules.json"), 0o000);
    const es = await b.waitFor("the unreadable rules rejected", (x) => x.some((e) => e.decision === "config_rejected"));
    expect(JSON.stringify(es.find((e) => e.decision === "config_rejected")!.details)).toContain("RULES_FORGED");
    expect(d.exitCode, stderr).toBeNull();
    expect(stderr).not.toContain("PRIVATE_AREA_DENIED");
  });
});
