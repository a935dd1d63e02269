/** A launch token whose scope breaks the schemas' patterns (epic_id, role) is refused by the commands that take one, naming the field. */
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

/** A token of the right form whose scope says `over` (its MAC does not matter: the scope is refused first). */
const tokenWith = (over: Record<string, unknown>): string => `ct1.${Buffer.from(JSON.stringify({ v: 1, role: "developer", epic_id: "EP-1", iteration: 1, expires_at: new Date(Date.now() + 3_600_000).toISOString(), launch: "test", ...over })).toString("base64url")}.k1.${"ab".repeat(32)}`;

describe("launch token scope", () => {
  it("submit and mcp refuse a token whose epic_id or role is malformed, with the field and its pattern; nothing is placed", () => {
    bus = Bus.init();
    const plan = join(bus.dir, "plan.json");
    writeFileSync(plan, "{}\n");
    for (const [over, says] of [
      [{ epic_id: "../../outside" }, /epic_id "\.\.\/\.\.\/outside" does not match/],
      [{ role: "developer/../quality" }, /role "developer\/\.\.\/quality" does not match/],
    ] as const) {
      const s = bus.cliWith({ CONSENSUS_TOKEN: tokenWith(over) }, "submit", plan);
      expect(s.code, s.stderr).toBe(2);
      expect(s.stderr).toMatch(/TOKEN_MISSING/);
      expect(s.stderr).toMatch(says);
      const m = bus.cliWith({ CONSENSUS_TOKEN: tokenWith(over) }, "mcp", "--role", "developer");
      expect(m.code, m.stderr).toBe(2);
      expect(m.stderr).toMatch(says);
      expect(m.stdout).toBe("");
    }
    expect(existsSync(join(bus.dir, "outside"))).toBe(false);
    expect(readdirSync(join(bus.root, "artifacts")).filter((n) => !n.startsWith("."))).toEqual([]);
  });
});
