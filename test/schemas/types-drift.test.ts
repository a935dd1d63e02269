import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("generated types", () => {
  it("src/schemas/types.gen.ts matches schemas/ (gen-types --check exits 0)", () => {
    let status = 0;
    let output = "";
    try {
      output = execFileSync(process.execPath, ["scripts/gen-types.mjs", "--check"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      const err = e as { status?: number; stdout?: string; stderr?: string };
      status = err.status ?? 1;
      output = `${err.stdout ?? ""}${err.stderr ?? ""}`;
    }
    expect({ status, output: status === 0 ? "" : output }).toEqual({ status: 0, output: "" });
  });
});
