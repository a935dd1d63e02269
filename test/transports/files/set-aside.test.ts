/**
 * setAsideRefused renames a squatted artifact aside by name: only where no agent can swap a folder on
 * the way (every folder below the root the daemon's or root's). An agent that owns an epic's folder
 * (it made it before the daemon, whose chown failed) may rename it and leave a link in its place
 * between the daemon's checks and its rename; the rename would then land wherever the link points.
 * Runs as root (chown to other uids), like the owner-proof e2e.
 */
import { createHash } from "node:crypto";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { moveIfSame, setAsideRefused, squatIn } from "../../../src/transports/files/set-aside.js";
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
