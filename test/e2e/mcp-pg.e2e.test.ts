/**
 * MCP on a PostgreSQL store (issue 16 item 3): `consensus mcp` talks to the database the daemons decide
 * from. Two real daemons on a real server; the SDK's own client as the agent. What it submits becomes an
 * input row that one daemon decides, once, and the verdict comes back in the same call; a refusal comes
 * back with its issues and adds no row; with no daemon running the input waits as a row and the tool
 * says so, and the next daemon decides it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { artifact } from "../support/bus.js";
import { Agent } from "../support/mcp.js";
import { freePort } from "../support/embedded-pg.js";
import { PgBus } from "../support/pg-bus.js";

const buses: PgBus[] = [];
const agents: Agent[] = [];
afterAll(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  for (const b of buses.splice(0)) await b.cleanup();
});

const daemons = async (b: PgBus): Promise<number> => Number((await b.sql`SELECT count(*)::int AS n FROM writers WHERE kind = 'daemon'`)[0]!.n);
const rowsAt = async (b: PgBus, path: string): Promise<number> => Number((await b.sql`SELECT count(*)::int AS n FROM inputs WHERE path = ${path}`)[0]!.n);

describe("MCP on a PostgreSQL store", () => {
  it("an agent's plan is decided once by one of two daemons and its verdict returned; a refusal returns the issues; with no daemon it waits as a row", async () => {
    const b = await PgBus.create();
    buses.push(b);
    b.startDaemon("d1");
    b.startDaemon("d2");
    await b.until("both daemons registered", async () => (await daemons(b)) === 2, 60_000, ["d1", "d2"]);
    const started = b.cli("start", "EP-001", "--title", "MCP on PostgreSQL");
    expect(started.code, started.stderr).toBe(0);

    const planner = await Agent.stdio(b, "planner", ["--wait-ms", "20000"]);
    agents.push(planner);
    // the state comes from the database: the started epic waits for the planner
    const t = await planner.call("task");
    expect(t.isError, t.text).toBe(false);
    expect(t.data).toMatchObject({ role: "planner", work: [{ epic_id: "EP-001", stage: "plan", iteration: 1, produce: [{ file: "plan.json" }] }] });

    // a refusal: every issue, and nothing submitted
    const bad = await planner.call("submit_artifact", { epic_id: "EP-001", file: "plan.json", content: { epic_id: "EP-001", iteration: "one", timestamp: "yesterday" } });
    expect(bad.isError).toBe(true);
    expect((bad.data.issues as Array<{ code: string }>).length).toBeGreaterThan(0);
    expect(bad.text).toContain("plan.json");
    expect(await rowsAt(b, "artifacts/EP-001/plan.json")).toBe(0);

    // the plan: one row, one decision, the verdict in the same call
    const ok = await planner.call("submit_artifact", { epic_id: "EP-001", file: "plan.json", content: artifact("plan.json", "EP-001", 1) });
    expect(ok.isError, ok.text).toBe(false);
    expect(ok.data).toMatchObject({ ok: true, verdict: "accepted", file: "artifacts/EP-001/plan.json", epic: { epic_id: "EP-001", stage: "implementation", iteration: 1 } });
    expect(await rowsAt(b, "artifacts/EP-001/plan.json")).toBe(1);
    // sent again: the earlier verdict, no second decision
    const again = await planner.call("submit_artifact", { epic_id: "EP-001", file: "plan.json", content: artifact("plan.json", "EP-001", 1) });
    expect(again.isError, again.text).toBe(false);
    const accepted = (await b.entries()).filter((e) => e.decision === "artifact_accepted" && (e.details as { file?: string }).file === "artifacts/EP-001/plan.json");
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.details).toMatchObject({ transport: "mcp" });
    expect((await b.entries()).filter((e) => e.decision === "stage_advanced" && e.epic_id === "EP-001")).toHaveLength(1);

    // status, log and inbox read the database
    const developer = await Agent.stdio(b, "developer");
    agents.push(developer);
    expect((await developer.call("status", { epic_id: "EP-001" })).data).toMatchObject({ epics: [{ epic_id: "EP-001", stage: "implementation" }] });
    expect(((await developer.call("log", { epic_id: "EP-001", decision: "artifact_accepted" })).data.entries as unknown[]).length).toBe(1);
    const inbox = await b.until("the developer's notice", async () => {
      const r = await developer.call("inbox", { epic_id: "EP-001" });
      const items = r.data.items as Array<{ kind: string; status: string }>;
      return items.some((i) => i.kind === "notice" && i.status === "in_force") ? items : undefined;
    }, 60_000, ["d1", "d2"]);
    expect(inbox.length).toBeGreaterThan(0);

    // no daemon: the input waits as a row, and the tool says so
    await b.stop("d1");
    await b.stop("d2");
    await b.until("no daemon registered", async () => (await daemons(b)) === 0, 60_000);
    const waiting = await developer.call("submit_artifact", { epic_id: "EP-001", file: "implementation.json", content: artifact("implementation.json", "EP-001", 1) });
    expect(waiting.isError).toBe(true);
    expect(waiting.data).toMatchObject({ verdict: "pending", file: "artifacts/EP-001/implementation.json" });
    expect(waiting.text).toContain("no daemon is running");
    expect(await rowsAt(b, "artifacts/EP-001/implementation.json")).toBe(1);
    // the next daemon decides it, once
    b.startDaemon("d3");
    await b.until("implementation decided", async () => (await b.stages()).get("EP-001")?.stage === "review", 60_000, ["d3"]);
    expect((await b.entries()).filter((e) => e.decision === "artifact_accepted" && (e.details as { file?: string }).file === "artifacts/EP-001/implementation.json")).toHaveLength(1);
  }, 360_000);

  it("watch --mcp-port serves the database too: a session's plan is decided once, whichever daemon takes it", async () => {
    const b = await PgBus.create();
    buses.push(b);
    const port = await freePort();
    b.start("d1", "watch", "--mcp-port", String(port));
    b.startDaemon("d2");
    await b.until("both daemons registered", async () => (await daemons(b)) === 2, 60_000, ["d1", "d2"]);
    expect(b.cli("start", "EP-002", "--title", "MCP over HTTP on PostgreSQL").code).toBe(0);
    const planner = await Agent.http(`http://127.0.0.1:${port}/mcp`, "planner");
    agents.push(planner);
    const ok = await planner.call("submit_artifact", { epic_id: "EP-002", file: "plan.json", content: artifact("plan.json", "EP-002", 1) });
    expect(ok.isError, ok.text).toBe(false);
    expect(ok.data).toMatchObject({ verdict: "accepted", epic: { epic_id: "EP-002", stage: "implementation" } });
    expect((await b.entries()).filter((e) => e.decision === "stage_advanced" && e.epic_id === "EP-002")).toHaveLength(1);
  }, 360_000);
});
