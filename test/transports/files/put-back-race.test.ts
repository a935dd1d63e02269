/**
 * Review of the squat change (review5): setAsideRefused checks the squat by lstat, then renames by
 * name. A squatter may remove its entry after the check, let the rightful role's file land (a role
 * whose rename into place failed on the squat retries), and make its entry again right after the
 * daemon's rename: the daemon moved the rightful file, and its put back (a link that does not replace)
 * failed on the name taken again. The rightful file then stayed at a dot-name, never read, with nobody
 * told. Both races are played here deterministically around the daemon's own rename. Runs as root.
 */
import { execFileSync } from "node:child_process";
import { chownSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";

const SQUATTER = 4242;
const PLANNER = 4243;
/** The squatter's moves around the daemon's next rename of `armed` aside: before (swap) and after (retake). */
const race: { armed?: string; before?: () => void; after?: () => void } = {};

vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...real,
    rename: async (from: string, to: string) => {
      const hit = from === race.armed && basename(to).startsWith(".refused-");
      if (hit) race.before?.();
      await real.rename(from, to);
      if (hit) {
        race.armed = undefined;
        race.after?.();
      }
    },
  };
});

const { setAsideRefused } = await import("../../../src/transports/files/set-aside.js");
const { entryIdOf } = await import("../../../src/store/fs/entry-aside.js");

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/**
 * A root with artifacts/EP-001/plan.json held by the squatter (`squat` makes its entry there) and the
 * race armed: after the daemon's check the squatter's entry goes and the planner's plan lands; right
 * after the daemon's rename, `squat` again. Returns the root and the squatter's entry as decided.
 */
function squatRace(squat: (file: string) => void): { root: string; file: string } {
  dir = mkdtempSync(join(tmpdir(), "consensus-putback-"));
  const root = join(dir, "root");
  const folder = join(root, "artifacts", "EP-001");
  mkdirSync(folder, { recursive: true });
  const file = join(folder, "plan.json");
  squat(file);
  race.armed = file;
  race.before = () => {
    unlinkSync(file);
    writeFileSync(file, "the planner's plan");
    chownSync(file, PLANNER, PLANNER);
  };
  race.after = () => squat(file);
  return { root, file };
}

/** Nothing set aside; the planner's plan reported where the daemon's rename left it, whole. */
function expectStranded(root: string, r: { moved: unknown[]; stranded: Array<{ to: string }> }): void {
  expect(r.moved).toEqual([]);
  expect(r.stranded).toEqual([{ from: "artifacts/EP-001/plan.json", to: expect.stringMatching(/^artifacts\/EP-001\/\.refused-plan\.json\./), uid: PLANNER }]);
  expect(readFileSync(join(root, r.stranded[0]!.to), "utf8")).toBe("the planner's plan");
}

describe.skipIf(process.geteuid?.() !== 0)("a squat swapped for the rightful file between the check and the rename", () => {
  it("the rightful file the daemon moved, the name taken again before it could be put back, is reported where it is", async () => {
    const { root, file } = squatRace((f) => {
      execFileSync("mkfifo", [f]);
      lchownSync(f, SQUATTER, SQUATTER);
    });
    // the squatter's FIFO as the daemon decided it (lstat, before the race runs)
    const entry = entryIdOf(lstatSync(file));
    expectStranded(root, await setAsideRefused(root, [{ rel: "artifacts/EP-001/plan.json", uid: SQUATTER, user: "ops", sha256: "0".repeat(64), entry, found: "a FIFO (named pipe)" }]));
  });

  it("the same for a squat of bytes read (moveIfSame)", async () => {
    const bytes = "the squatter's plan";
    const { root } = squatRace((f) => {
      writeFileSync(f, bytes);
      chownSync(f, SQUATTER, SQUATTER);
    });
    const { createHash } = await import("node:crypto");
    expectStranded(root, await setAsideRefused(root, [{ rel: "artifacts/EP-001/plan.json", uid: SQUATTER, user: "ops", sha256: createHash("sha256").update(bytes).digest("hex") }]));
  });
});
