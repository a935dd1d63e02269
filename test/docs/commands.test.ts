/**
 * One source for the command table: README.md and docs/PROTOCOL.md carry exactly the table the CLI's
 * own command table gives, and every command's real `--help` shows each of its flags, `--root`, its
 * exit codes and the environment variables it reads.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS, ENVIRONMENT, type EnvName } from "../../src/cli/commands.js";
import { buildProgram, commandsMarkdown, synopsis } from "../../src/cli/main.js";
import { cliPath, repo } from "../support/bus.js";
// @ts-expect-error: a plain .mjs script, no types
import { BEGIN, END, FILES } from "../../scripts/gen-docs.mjs";

const helpOf = (name: string): string => {
  const r = spawnSync(process.execPath, [cliPath, ...name.split(" "), "--help"], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
};

describe("the command table", () => {
  const table = commandsMarkdown();

  for (const f of FILES as string[]) {
    it(`${f} carries the generated table (npm run gen:docs rewrites it)`, () => {
      const text = readFileSync(join(repo, f), "utf8");
      const a = text.indexOf(BEGIN as string);
      const b = text.indexOf(END as string, a);
      expect(a, `${f} has the ${BEGIN as string} marker`).toBeGreaterThan(-1);
      expect(text.slice(a + (BEGIN as string).length, b).trim()).toBe(table);
    });
  }

  it("every command's --help shows its flags, --root, its exit codes and its environment", () => {
    const program = buildProgram();
    for (const spec of COMMANDS) {
      let c = program;
      for (const w of spec.name.split(" ")) c = c.commands.find((x) => x.name() === w)!;
      const help = helpOf(spec.name);
      for (const flag of synopsis(spec.name, c).match(/--[a-z-]+/g) ?? []) expect(help, `consensus ${spec.name} --help: ${flag}`).toContain(flag);
      expect(help, spec.name).toContain("--root <dir>");
      expect(help, spec.name).toContain(`Exit status: ${spec.exit}`);
      for (const v of ["CONSENSUS_ROOT", ...(spec.env ?? [])] satisfies EnvName[]) expect(help, `${spec.name}: ${v}`).toMatch(new RegExp(`${v} +${ENVIRONMENT[v].replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    }
  });

  it("--version prints the package's version", () => {
    const r = spawnSync(process.execPath, [cliPath, "--version"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { version: string }).version);
  });
});

describe("AGENTS.md", () => {
  it("lists only commands anyone with the repository can run: npm and this package's scripts", () => {
    const text = readFileSync(join(repo, "AGENTS.md"), "utf8");
    const block = /```sh\n([\s\S]*?)```/.exec(text)![1]!;
    const scripts = (JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    const commands = block.split("\n").map((l) => l.replace(/#.*$/, "").trim()).filter(Boolean);
    expect(commands.length).toBeGreaterThan(2);
    for (const c of commands) {
      const m = /^npm (ci|test|run ([a-z:]+))$/.exec(c);
      expect(m, c).not.toBeNull();
      if (m![2]) expect(scripts, c).toHaveProperty(m![2]);
    }
  });
});
