/** docs/runbook.md names only commands and flags this CLI has, and meets its own runbook schema. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliPath, repo } from "../support/bus.js";

const runbook = readFileSync(join(repo, "docs", "runbook.md"), "utf8");
const help = new Map<string, string>();
const helpOf = (cmd: string): string => {
  if (!help.has(cmd)) help.set(cmd, spawnSync(process.execPath, [cliPath, ...cmd.split(" "), "--help"], { encoding: "utf8" }).stdout);
  return help.get(cmd)!;
};

/** Words that follow "consensus" in the runbook's prose rather than name a command. */
const PROSE = ["daemon", "for", "itself", "watch:", "to", "consensus", "npx"];

describe("docs/runbook.md", () => {
  it("every `consensus …` command and flag in it exists", () => {
    const uses = [...runbook.matchAll(/\bconsensus ((?:log verify|log export)|[a-z]+)((?:\s+(?:--[a-z-]+|[^\s`|;&)-][^\s`|;&)]*))*)/g)];
    expect(uses.length).toBeGreaterThan(20);
    const commands = new Set<string>();
    for (const [, cmd, rest] of uses) {
      // prose ("the consensus daemon", "consensus itself") or a path ending in /consensus, not a command
      if (PROSE.includes(cmd!)) continue;
      // every other word after "consensus" must be a command the top-level help lists
      expect(helpOf(""), `consensus ${cmd}: not a command of this CLI (prose? add it to PROSE)`).toMatch(new RegExp(`^\\s+${cmd!.split(" ")[0]}\\b`, "m"));
      commands.add(cmd!);
      for (const flag of rest!.match(/--[a-z-]+/g) ?? []) {
        // global options (the root, the store) are taken by every command
        if (flag === "--root" || flag === "--store") continue;
        expect(helpOf(cmd!), `consensus ${cmd} ${flag}`).toContain(flag);
      }
    }
    expect([...commands].sort()).toEqual(expect.arrayContaining(["doctor", "log verify", "status", "validate", "watch"]));
    expect(runbook).toContain("--metrics-port");
  });

  it("passes the runbook schema it asks of every deployment", () => {
    const r = spawnSync(process.execPath, [cliPath, "validate", join(repo, "docs", "runbook.md"), "--kind", "runbook"], { encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
