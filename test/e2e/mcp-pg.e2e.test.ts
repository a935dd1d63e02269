/**
 * The MCP server reads and places through the folder. Pointed at a PostgreSQL store it answered from a
 * folder the daemons do not decide from: a started epic was "not known" and nothing it placed reached
 * the database. Until it talks to the database it refuses to start there, saying so (exit 2).
 */
import { afterEach, describe, expect, it } from "vitest";
import { Bus } from "../support/bus.js";

let bus: Bus | undefined;
afterEach(() => bus?.cleanup());

describe("MCP on a PostgreSQL store", () => {
  it("consensus mcp and watch --mcp-port refuse a database store with the reason", () => {
    bus = Bus.init();
    const env = { CONSENSUS_STORE: "postgres://nobody@127.0.0.1:1/none" };
    for (const args of [["mcp", "--role", "planner"], ["watch", "--mcp-port", "0"]]) {
      const r = bus.cliWith(env, ...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("MCP_STORE_UNSUPPORTED");
      expect(r.stderr).toContain("folder store");
    }
  });
});
