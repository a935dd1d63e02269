/**
 * setAsideRefused renames a squatted artifact aside by name: only where no agent can swap a folder on
 * the way (every folder below the root the daemon's or root's). An agent that owns an epic's folder
 * (it made it before the daemon, whose chown failed) may rename it and leave a link in its place
 * between the daemon's checks and its rename; the rename would then land wherever the link points.
 * Runs as root (chown to other uids), like the owner-proof e2e.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { moveIfSame, setAsideRefused, squatIn, type Squat } from "../../../src/transports/files/set-aside.js";
import { entryIdOf, moveEntryIfSame, movable, sameEntry } from "../../../src/store/fs/entry-aside.js";
import type { LogEntry } from "../../../src/schemas/types.gen.js";

const AGENT_UID = 4242;
const OTHER_UID = 4243;
const isRoot = process.geteuid?.() === 0;
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function refusal(bytes: string, uid: number): LogEntry {
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  return { seq: 2, timestamp: "2026-11-30T12:00:00Z", agent: "orchestrator", decision: "artifact_rejected", epic_id: "EP-001", iteration: 1, details: { file: "artifacts/EP-001/plan.json", sha256, errors: [{ code: "NOT_PERMITTED", severity: "error", message: "developer may not write plan.json" }], proof: { by: "os_user", role: "developer", user: "dev", uid } } } as unknown as LogEntry;
}

describe.skipIf(!isRoot)("setAsideRefused", () => {
  it("renames a squatter's file aside under the daemon's folders; leaves it, naming the folder, under a folder an agent owns", async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-aside-"));
    const root = join(dir, "consensus");
    const bytes = '{"title":"squat"}\n';
    for (const epic of ["EP-001", "EP-002"]) {
      mkdirSync(join(root, "artifacts", epic), { recursive: true });
      writeFileSync(join(root, "artifacts", epic, "plan.json"), bytes, { mode: 0o640 });
      chownSync(join(root, "artifacts", epic, "plan.json"), AGENT_UID, AGENT_UID);
    }
    // EP-002's folder was made by an agent (another than the squatter) and never given to the daemon
    chownSync(join(root, "artifacts", "EP-002"), OTHER_UID, OTHER_UID);
    const sha12 = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
    // the squatter made a folder at the name its own bytes would give (.refused-<name>.<sha12>) first
    mkdirSync(join(root, "artifacts", "EP-001", `.refused-plan.json.${sha12}`));
    const r = await setAsideRefused(root, ["artifacts/EP-001/plan.json", "artifacts/EP-002/plan.json"].map((rel) => squatIn(rel, [refusal(bytes, AGENT_UID)])!));
    expect(r.moved).toEqual([{ from: "artifacts/EP-001/plan.json", to: expect.stringMatching(new RegExp(`^artifacts/EP-001/\\.refused-plan\\.json\\.${sha12}-[0-9a-f]{8}$`)), owner: "dev" }]);
    expect(readdirSync(join(root, "artifacts", "EP-001")).sort()).toEqual([`.refused-plan.json.${sha12}`, r.moved[0]!.to.split("/").pop()!].sort());
    expect(r.left).toEqual([{ from: "artifacts/EP-002/plan.json", folder: "artifacts/EP-002", uid: OTHER_UID }]);
    expect(existsSync(join(root, "artifacts", "EP-002", "plan.json"))).toBe(true);
  });
});

describe("moveIfSame", () => {
  it("puts back a file that took the name after the check: the rightful role's file is never moved aside", async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-moveifsame-"));
    const file = join(dir, "plan.json");
    writeFileSync(file, "the squat");
    const checked = { uid: statSync(file).uid, sha256: createHash("sha256").update("the squat").digest("hex") };
    // between the check and the rename the squatter removes its file and the planner's takes the name
    rmSync(file);
    writeFileSync(file, "the planner's plan");
    const to = join(dir, ".refused-plan.json.abc");
    expect(await moveIfSame(file, to, checked)).toBe(false);
    expect(readFileSync(file, "utf8")).toBe("the planner's plan");
    expect(existsSync(to)).toBe(false);
  });

  it("moves the file that was checked", async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-moveifsame-"));
    const file = join(dir, "plan.json");
    writeFileSync(file, "the squat");
    const to = join(dir, ".refused-plan.json.abc");
    expect(await moveIfSame(file, to, { uid: statSync(file).uid, sha256: createHash("sha256").update("the squat").digest("hex") })).toBe(true);
    expect(readFileSync(to, "utf8")).toBe("the squat");
    expect(existsSync(file)).toBe(false);
  });
});

describe("entries set aside unread (a folder, a FIFO, a link)", () => {
  it("sameEntry holds device, inode, owner and type together; movable never the daemon's user nor root", () => {
    const st = { dev: 1, ino: 2, uid: AGENT_UID, mode: 0o040755 };
    const e = entryIdOf(st);
    expect(e).toEqual({ dev: 1, ino: 2, uid: AGENT_UID, type: 0o040000 });
    expect(sameEntry({ ...st, mode: 0o040700 }, e)).toBe(true);
    for (const other of [{ dev: 9 }, { ino: 9 }, { uid: OTHER_UID }, { mode: 0o010644 }]) expect(sameEntry({ ...st, ...other }, e), JSON.stringify(other)).toBe(false);
    expect([movable(AGENT_UID, 1000), movable(0, 1000), movable(1000, 1000), movable(AGENT_UID, undefined)]).toEqual([true, false, false, true]);
  });

  it.skipIf(!isRoot)("moves a squatter's folder (contents untouched), FIFO and links by their lstat; never root's, nor an entry swapped since it was decided", async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-aside-entry-"));
    const root = join(dir, "consensus");
    const epic = join(root, "artifacts", "EP-001");
    mkdirSync(epic, { recursive: true });
    const at = (n: string) => join(epic, n);
    mkdirSync(at("plan.json"));
    writeFileSync(at("plan.json/inside"), "kept");
    execFileSync("mkfifo", [at("runbook.md")]);
    symlinkSync("/etc/hostname", at("cicd.yaml"));
    symlinkSync("missing", at("review.json"));
    for (const n of ["plan.json", "runbook.md", "cicd.yaml", "review.json"]) lchownSync(at(n), AGENT_UID, AGENT_UID);
    // root's folder, and a FIFO swapped in (another inode) after its decision
    mkdirSync(at("deployment.json"));
    execFileSync("mkfifo", [at("implementation.json")]);
    lchownSync(at("implementation.json"), AGENT_UID, AGENT_UID);
    const decided = entryIdOf(lstatSync(at("implementation.json")));
    rmSync(at("implementation.json"));
    mkdirSync(at("implementation.json"));
    lchownSync(at("implementation.json"), AGENT_UID, AGENT_UID);
    const squat = (n: string, entry = entryIdOf(lstatSync(at(n)))): Squat => ({ rel: `artifacts/EP-001/${n}`, uid: entry.uid, user: "dev", sha256: "a".repeat(64), entry, found: "x" });
    const r = await setAsideRefused(root, [squat("plan.json"), squat("runbook.md"), squat("cicd.yaml"), squat("review.json"), squat("deployment.json"), squat("implementation.json", decided)]);
    expect(r.moved.map((m) => m.from).sort()).toEqual(["artifacts/EP-001/cicd.yaml", "artifacts/EP-001/plan.json", "artifacts/EP-001/review.json", "artifacts/EP-001/runbook.md"]);
    expect(readdirSync(epic).filter((n) => !n.startsWith(".")).sort()).toEqual(["deployment.json", "implementation.json"]);
    const to = (n: string) => join(root, r.moved.find((m) => m.from.endsWith(n))!.to);
    expect(readFileSync(join(to("plan.json"), "inside"), "utf8")).toBe("kept");
    expect(lstatSync(to("runbook.md")).isFIFO()).toBe(true);
    expect([readlinkSync(to("cicd.yaml")), readlinkSync(to("review.json"))]).toEqual(["/etc/hostname", "missing"]);
  });

  it.skipIf(!isRoot)("moveEntryIfSame puts back what took the name after the check: a file by a link, a folder by a rename while the name is free", async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-moveentry-"));
    const file = join(dir, "plan.json");
    mkdirSync(file);
    chownSync(file, AGENT_UID, AGENT_UID);
    const checked = entryIdOf(lstatSync(file));
    // the squatter removes its folder and the planner's file takes the name
    rmSync(file, { recursive: true });
    writeFileSync(file, "the planner's plan");
    expect(await moveEntryIfSame(file, join(dir, ".refused-a"), checked)).toBe(false);
    expect(readFileSync(file, "utf8")).toBe("the planner's plan");
    expect(existsSync(join(dir, ".refused-a"))).toBe(false);
    // another's folder in its place (its inode may be the one reused): put back as it was, contents and all
    rmSync(file);
    mkdirSync(file);
    chownSync(file, OTHER_UID, OTHER_UID);
    writeFileSync(join(file, "x"), "y");
    expect(await moveEntryIfSame(file, join(dir, ".refused-b"), checked)).toBe(false);
    expect(readFileSync(join(file, "x"), "utf8")).toBe("y");
    // the entry checked moves
    renameSync(file, join(dir, "elsewhere"));
    mkdirSync(file);
    expect(await moveEntryIfSame(file, join(dir, ".refused-c"), entryIdOf(lstatSync(file)))).toBe(true);
    expect(existsSync(file)).toBe(false);
  });
});
