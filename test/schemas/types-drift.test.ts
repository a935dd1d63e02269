import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** What a generator's --check says: status 0 and nothing, or the drift it found. */
function check(script: string): { status: number; output: string } {
  try {
    execFileSync(process.execPath, [script, "--check"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { status: 0, output: "" };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { status: err.status ?? 1, output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

describe("generated from schemas/ (npm run gen:types writes both)", () => {
  it("src/schemas/types.gen.ts matches schemas/ (gen-types --check exits 0)", () => {
    expect(check("scripts/gen-types.mjs")).toEqual({ status: 0, output: "" });
  });

  it("src/schemas/validators.gen.ts matches schemas/ (gen-validators --check exits 0)", () => {
    expect(check("scripts/gen-validators.mjs")).toEqual({ status: 0, output: "" });
  });
});
