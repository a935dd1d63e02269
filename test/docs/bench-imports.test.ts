/**
 * The benchmarks import the built product (dist/…js) by path, outside TypeScript's view: a module
 * moved or removed in src/ broke `bench:quick` in CI only (ERR_MODULE_NOT_FOUND). Each path they
 * name must be a module of src/.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repo } from "../support/bus.js";

describe("bench/ imports", () => {
  it("every dist/…js a benchmark names is built from a module in src/", () => {
    const named = readdirSync(join(repo, "bench"))
      .filter((f) => f.endsWith(".mjs"))
      .flatMap((f) => [...readFileSync(join(repo, "bench", f), "utf8").matchAll(/["'`]dist\/([\w/.-]+)\.js["'`]/g)].map((m) => ({ f, mod: m[1]! })));
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter(({ mod }) => !existsSync(join(repo, "src", `${mod}.ts`)))).toEqual([]);
  });
});
