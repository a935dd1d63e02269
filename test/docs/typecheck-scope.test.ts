/**
 * `npm run typecheck` (what `npm run check` and .ci/run run) checked src/ only: the tests were
 * TypeScript nobody type-checked, and 32 type errors had gathered in them. Every TypeScript file of the
 * repository is in the project the type check reads; the build still compiles src/ alone into dist/.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { repo } from "../support/bus.js";

const SKIP = new Set(["node_modules", "dist", "coverage", ".git"]);

/** The repository's TypeScript files (relative, with "/"), build output and dependencies left out. */
const tsFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    if (d.isDirectory()) return SKIP.has(d.name) ? [] : tsFiles(join(dir, d.name));
    return /\.[mc]?ts$/.test(d.name) && !d.name.endsWith(".d.ts") ? [relative(repo, join(dir, d.name)).split(sep).join("/")] : [];
  });

/** The repository's files in a TypeScript project (tsc --listFilesOnly: resolves, checks nothing). */
function projectFiles(config: string): string[] {
  const r = spawnSync(process.execPath, [join(repo, "node_modules", "typescript", "bin", "tsc"), "-p", join(repo, config), "--listFilesOnly"], { cwd: repo, encoding: "utf8", timeout: 60_000 });
  expect(r.status, `tsc -p ${config} --listFilesOnly: ${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout
    .split("\n")
    .filter((f) => f.startsWith(repo + sep) || f.startsWith(`${repo}/`))
    .map((f) => relative(repo, f).split(sep).join("/"))
    .filter((f) => !f.startsWith("node_modules/"));
}

/** The config `npm run <script>` passes to tsc with -p. */
function configOf(script: string): string {
  const scripts = (JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  const m = /\btsc\b.*\s-p\s+(\S+)/.exec(scripts[script] ?? "");
  expect(m, `package.json scripts.${script} runs tsc -p <config>: ${scripts[script]}`).not.toBeNull();
  return m![1]!;
}

describe("the type check's scope", () => {
  it("npm run typecheck covers every TypeScript file: src/, test/ and the configs", () => {
    const checked = new Set(projectFiles(configOf("typecheck")));
    const all = tsFiles(repo);
    expect(all.filter((f) => f.startsWith("test/")).length).toBeGreaterThan(50);
    expect(all.filter((f) => !checked.has(f)), `not type-checked by npm run typecheck (${configOf("typecheck")}): add them to its include`).toEqual([]);
  });

  it("npm run build compiles src/ alone: no test file is emitted into dist/", () => {
    const built = projectFiles(configOf("build"));
    expect(built.length).toBeGreaterThan(50);
    expect(built.filter((f) => !f.startsWith("src/"))).toEqual([]);
  });
});
