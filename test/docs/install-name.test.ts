/**
 * Issue 13 item 1: every doc, prompt and example that tells a person to install this tool names the
 * package we own (package.json's name). An unscoped `consensus` on the registry is a stranger's code.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { repo } from "../support/bus.js";

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const abs = join(dir, n);
    return statSync(abs).isDirectory() ? files(abs) : /\.(md|ya?ml|mjs|json)$/.test(n) ? [abs] : [];
  });

describe("install instructions name our package", () => {
  it("every npm install/add of consensus in README, AGENTS.md, docs/, agents/, examples/ names package.json's name", () => {
    const name = (JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { name: string }).name;
    const where = [join(repo, "README.md"), join(repo, "AGENTS.md"), ...["docs", "agents", "examples"].flatMap((d) => files(join(repo, d)))];
    const wrong: string[] = [];
    for (const f of where) {
      readFileSync(f, "utf8").split("\n").forEach((line, i) => {
        for (const m of line.matchAll(/\bnpm (?:install|i|add)\b[^\n`)]*/g)) {
          const pkgs = m[0].split(/\s+/).slice(2).filter((w) => !w.startsWith("-"));
          if (pkgs.some((p) => /^consensus(@|$)/.test(p))) wrong.push(`${relative(repo, f)}:${i + 1}: ${m[0].trim()}`);
        }
      });
    }
    expect(wrong, `install ${name}, never the unscoped consensus`).toEqual([]);
  });
});
