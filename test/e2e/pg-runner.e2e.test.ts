/**
 * Agents on a PostgreSQL store with two daemons: each stage entry launches its agent exactly once,
 * whichever daemon committed it (the other folds the entry in without acting on it), and a launch
 * decided by both at once is fenced like any decision about the epic.
 */
import { appendFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repo } from "../support/bus.js";
import { PgBus } from "../support/pg-bus.js";

let bus: PgBus | undefined;
afterAll(async () => bus?.cleanup());

describe("agents with two daemons on PostgreSQL", () => {
  it("launches each stage's agent once per stage entry, not once per daemon", async () => {
    const b = (bus = await PgBus.create());
    const spec = { command: [process.execPath, join(repo, "test", "fixtures", "agents", "scripted.mjs")], retries: 0, env: { AGENT_MODE: "nothing", TEST_DIR: b.dir } };
    appendFileSync(join(b.root, "consensus.yaml"), `\nagents:\n  planner: ${JSON.stringify(spec)}\n`);
    b.startDaemon("d1");
    b.startDaemon("d2");
    const alive = ["d1", "d2"];
    await b.until("two daemons", async () => (await b.sql`SELECT count(*)::int AS n FROM writers WHERE kind = 'daemon'`)[0]!.n === 2, 60_000, alive);
    const epics = ["EP-001", "EP-002", "EP-003", "EP-004"];
    for (const e of epics) expect(b.cli("start", e, "--title", e).code).toBe(0);
    await b.until("every launch's exit", async () => (await b.entries()).filter((e) => e.decision === "agent_exited").length >= epics.length, 180_000, alive);
    const entries = await b.entries();
    for (const e of epics) expect(entries.filter((x) => x.decision === "agent_launched" && x.epic_id === e).length, `${e} launched`).toBe(1);
    const runs = existsSync(join(b.dir, "runs")) ? readdirSync(join(b.dir, "runs")).filter((n) => !n.startsWith(".")) : [];
    expect(runs.length).toBe(epics.length);
    for (const n of alive) expect(await b.stop(n)).toBe(0);
  }, 600_000);
});
