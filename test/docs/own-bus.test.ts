/**
 * The repository's own consensus/ is a ready bus in a fresh clone: `consensus doctor` passes on exactly
 * the files git tracks (no .consensus/, no state, nothing a previous run left), and its README's links
 * resolve.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cliPath, repo } from "../support/bus.js";
import { relativeLinks } from "../support/markdown.js";

const tmp = mkdtempSync(join(tmpdir(), "consensus-clone-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the repository's own bus", () => {
  const tracked = spawnSync("git", ["ls-files", "-z", "consensus"], { cwd: repo, encoding: "utf8" });
  const files = tracked.status === 0 ? tracked.stdout.split("\0").filter(Boolean) : [];

  it.skipIf(files.length === 0)("passes consensus doctor with only what git tracks (a fresh clone)", () => {
    for (const f of files) {
      mkdirSync(dirname(join(tmp, f)), { recursive: true });
      copyFileSync(join(repo, f), join(tmp, f));
    }
    expect(existsSync(join(tmp, "consensus", ".consensus"))).toBe(false);
    const r = spawnSync(process.execPath, [cliPath, "doctor", "--root", join(tmp, "consensus")], { encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^\s+fail/m);
  });

  it("its README's links resolve", () => {
    const dir = join(repo, "consensus");
    const links = relativeLinks(readFileSync(join(dir, "README.md"), "utf8"), dir);
    expect(links.length).toBeGreaterThanOrEqual(4);
    for (const l of links) expect(existsSync(l), l).toBe(true);
  });
});
