import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkClaim, claimPathOf, place, readClaim, releaseClaims } from "../../src/transports/placement.js";
import { classifyPath } from "../../src/transports/files/classify.js";

let dir: string | undefined;
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

const SHA = "c".repeat(64);
const good = { version: 1, file: "artifacts/EP-001/plan.json", sha256: SHA, transport: "mcp", role: "planner", placed_at: "2026-11-21T10:00:00Z" };

describe("placement: an input placed with its claim", () => {
  it("writes the claim, then the file, each whole; the claim reads back for that file and content only", async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-place-"));
    const bytes = new TextEncoder().encode('{"x":1}\n');
    const { sha256 } = await place(dir, "artifacts/EP-001/plan.json", bytes, { transport: "mcp", role: "planner" });
    expect(readFileSync(join(dir, "artifacts/EP-001/plan.json"), "utf8")).toBe('{"x":1}\n');
    // nothing but the file and the claim's dot-folder: no temporaries left
    expect(readdirSync(join(dir, "artifacts/EP-001")).sort()).toEqual([".placed", "plan.json"]);
    const real = realpathSync(dir);
    expect(await readClaim(dir, real, "artifacts/EP-001/plan.json", sha256)).toMatchObject({ transport: "mcp", role: "planner", sha256 });
    // another content at the same path has no claim: it is a plain drop
    expect(await readClaim(dir, real, "artifacts/EP-001/plan.json", SHA)).toBeUndefined();
    // the bus never reads the claim as an input
    expect(classifyPath(claimPathOf("artifacts/EP-001/plan.json", sha256))).toMatchObject({ kind: "ignored" });
    expect(classifyPath(claimPathOf("messages/inbox/quality/m.yaml", sha256))).toMatchObject({ kind: "ignored" });
    // a claim that is not JSON counts as none
    writeFileSync(join(dir, claimPathOf("artifacts/EP-001/plan.json", SHA)), "{ not json");
    expect(await readClaim(dir, real, "artifacts/EP-001/plan.json", SHA)).toBeUndefined();
  });

  it("never writes through a link an agent planted that leads out of the root: the epic's folder, or the claim's", async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-place-"));
    const root = join(dir, "consensus");
    const outside = join(dir, "outside");
    mkdirSync(join(root, "artifacts"), { recursive: true });
    mkdirSync(outside);
    symlinkSync(outside, join(root, "artifacts", "EP-002"));
    const bytes = new TextEncoder().encode('{"x":1}\n');
    await expect(place(root, "artifacts/EP-002/plan.json", bytes, { transport: "mcp", role: "planner" })).rejects.toMatchObject({ issues: [{ code: "SYMLINK_OUTSIDE" }] });
    mkdirSync(join(root, "artifacts", "EP-003"));
    symlinkSync(outside, join(root, "artifacts", "EP-003", ".placed"));
    await expect(place(root, "artifacts/EP-003/plan.json", bytes, { transport: "mcp", role: "planner" })).rejects.toMatchObject({ issues: [{ code: "SYMLINK_OUTSIDE" }] });
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(root, "artifacts", "EP-003", "plan.json"))).toBe(false);
    // a link that stays inside the root is a folder like any other
    mkdirSync(join(root, "artifacts", "shared"));
    symlinkSync(join(root, "artifacts", "shared"), join(root, "artifacts", "EP-004"));
    await place(root, "artifacts/EP-004/plan.json", bytes, { transport: "mcp", role: "planner" });
    expect(readFileSync(join(root, "artifacts", "shared", "plan.json"), "utf8")).toBe('{"x":1}\n');
  });

  it("makes the claim's folder as claimFolderIn says (0755 before the umask): never group-writable under a placer's umask 0002, where the agents' group could remove the claims in it", async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-place-"));
    const was = process.umask(0o002);
    try {
      await place(dir, "artifacts/EP-001/plan.json", new TextEncoder().encode('{"x":1}\n'), { transport: "mcp", role: "planner" });
    } finally {
      process.umask(was);
    }
    expect((statSync(join(dir, "artifacts/EP-001/.placed")).mode & 0o777).toString(8)).toBe("755");
  });

  it("checkClaim: a claim for another file, another content, an unknown transport or a bad role is no claim", () => {
    expect(checkClaim(good, good.file, SHA)).toEqual(good);
    for (const bad of [
      { ...good, file: "artifacts/EP-002/plan.json" },
      { ...good, sha256: "d".repeat(64) },
      { ...good, transport: "files" },
      { ...good, transport: "carrier-pigeon" },
      { ...good, role: "../planner" },
      { ...good, version: 2 },
      { ...good, placed_at: 7 },
      [good],
      null,
    ]) expect(checkClaim(bad, good.file, SHA), JSON.stringify(bad)).toBeUndefined();
  });

  it("releaseClaims: what an agent put at a decided input's claim name since it was read (a folder) is left, and the release does not fail (it ran after the batch was committed: the daemon's loop died on it)", async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-place-"));
    const bytes = new TextEncoder().encode('{"x":1}\n');
    const { sha256 } = await place(dir, "artifacts/EP-001/plan.json", bytes, { transport: "mcp", role: "planner" });
    const claim = join(dir, claimPathOf("artifacts/EP-001/plan.json", sha256));
    // swapped for a folder (with something in it) between the daemon's read and the release
    rmSync(claim);
    mkdirSync(join(claim, "x"), { recursive: true });
    const decided = [{ input: { transport: "mcp" as const, file: "artifacts/EP-001/plan.json", sha256 }, outcome: { status: "committed" } }];
    await expect(releaseClaims(dir, decided)).resolves.toBeUndefined();
    expect(existsSync(join(claim, "x"))).toBe(true);
    // a claim that is a file is removed as before
    rmSync(claim, { recursive: true });
    await place(dir, "artifacts/EP-001/plan.json", bytes, { transport: "mcp", role: "planner" });
    await releaseClaims(dir, decided);
    expect(existsSync(claim)).toBe(false);
  });
});
