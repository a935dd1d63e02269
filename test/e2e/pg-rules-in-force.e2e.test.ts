/**
 * Issue 16 item 4: on a PostgreSQL store the rules in force are the database's (every daemon decides
 * by them; the host's consensus.yaml only seeds a store that has none). `consensus graph` and
 * `consensus agents` show those rules, as status, validate and gate do, not a local file edited since.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PgBus } from "../support/pg-bus.js";

let b: PgBus | undefined;
afterAll(async () => b?.cleanup());

describe("reading commands on a PostgreSQL store show the rules in force", () => {
  it("graph and agents read the database's rules, not the host's consensus.yaml edited after they were seeded", async () => {
    b = await PgBus.create();
    expect(b.cli("start", "EP-001", "--title", "seeds the rules").code).toBe(0);
    expect((await b.sql`SELECT count(*)::int AS n FROM rules`)[0]!.n).toBe(1);
    const cfg = join(b.root, "consensus.yaml");
    writeFileSync(cfg, `${readFileSync(cfg, "utf8").replace("max_iterations: 3", "max_iterations: 7")}\nagents:\n  planner:\n    command: [local-only-planner]\n`);
    const graph = b.cli("graph");
    expect(graph.code, graph.stderr).toBe(0);
    expect(graph.stdout).toContain("veto past max_iterations (3)");
    const agents = b.cli("agents", "--format", "json");
    expect(agents.stdout).not.toContain("local-only-planner");
  });
});
