/**
 * The fixes of safe-dirs.ts name paths under the root, which may hold a space or `$(…)` (the root is a
 * person's choice; a folder's name may come from an agent): each command is one shell word per path,
 * so running the fix as written does what it says and nothing else.
 */
import { spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ConsensusError } from "../../src/errors/issue.js";
import { safeMkdirSync } from "../../src/store/fs/safe-dirs.js";

let base: string;
let root: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "consensus-safe-dirs-"));
  root = join(base, "my root $(touch PWNED)");
  mkdirSync(join(root, "archive"), { recursive: true });
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** The fix of what safeMkdirSync throws, each backticked command run as written. */
function runFixOf(dir: string): void {
  let fix = "";
  try {
    safeMkdirSync(root, dir);
  } catch (e) {
    fix = (e as ConsensusError).issues[0]!.fix!;
  }
  const cmds = [...fix.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  expect(cmds.length, fix).toBeGreaterThan(0);
  for (const cmd of cmds) expect(spawnSync("sh", ["-c", cmd], { cwd: base, encoding: "utf8" }).status, `${cmd} (from: ${fix})`).toBe(0);
}

it("a file where a folder goes: the fix's mv moves it aside, by its name", () => {
  writeFileSync(join(root, "archive/EP-1"), "x");
  runFixOf(join(root, "archive/EP-1/1"));
  expect(lstatSync(join(root, "archive/EP-1.moved")).isFile()).toBe(true);
  expect(safeMkdirSync(root, join(root, "archive/EP-1/1")).length).toBeGreaterThan(0);
  expect(readdirSync(base).filter((n) => n.startsWith("PWNED"))).toEqual([]);
});

it("a link where a folder goes: the fix's rm removes the link, by its name", () => {
  symlinkSync(base, join(root, "archive/EP-2"));
  runFixOf(join(root, "archive/EP-2/1"));
  expect(() => lstatSync(join(root, "archive/EP-2"))).toThrow();
  expect(readdirSync(base).filter((n) => n.startsWith("PWNED"))).toEqual([]);
});
