/** Issue 12: the example agents name messages so that two sent in the same second never overwrite each other. */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error -- a plain ES module shipped as an example, without types
import { dropMessage, messageName } from "../../examples/agents/lib.mjs";

describe("examples/agents: message names", () => {
  it("two messages named in the same second get different names, and a taken name is never overwritten", () => {
    const names = new Set(Array.from({ length: 50 }, () => (messageName as (t: string, r: string, e: string) => string)("veto", "devops", "EP-001")));
    expect(names.size).toBe(50);
    for (const n of names) expect(n).toMatch(/^veto-devops-EP-001-\d{8}T\d{6}Z-[0-9a-f]{6}\.yaml$/);
    const dir = mkdtempSync(join(tmpdir(), "consensus-example-"));
    try {
      const drop = dropMessage as (dir: string, name: string, text: string) => void;
      drop(dir, "veto-a.yaml", "first\n");
      expect(() => drop(dir, "veto-a.yaml", "second\n")).toThrow(/EEXIST/);
      expect(readFileSync(join(dir, "veto-a.yaml"), "utf8")).toBe("first\n");
      expect(readdirSync(dir)).toEqual(["veto-a.yaml"]); // no temporary left behind
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
