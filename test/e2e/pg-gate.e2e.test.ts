/**
 * Issue 18 item 3 on the PostgreSQL store (issue 16 item 4: every reading command reads the database):
 * `consensus gate EPIC --store postgres://…` opens for a promoted epic whose log verifies, and for
 * nothing else: not for an epic in progress or unknown, not for a log whose rows were edited, not for
 * a database that does not answer. The root folder of the host (where the gate runs) has no log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifact } from "../support/bus.js";
import { PgBus, driveToPromotion } from "../support/pg-bus.js";

let b: PgBus;

beforeAll(async () => {
  b = await PgBus.create();
  b.startDaemon("d1");
  for (const e of ["EP-001", "EP-002"]) expect(b.cli("start", e, "--title", `gate ${e}`).code).toBe(0);
  await driveToPromotion(b, ["EP-001"], (rel, text) => b.send(rel, text), (n, e) => artifact(n, e, 1), { alive: ["d1"], timeoutMs: 120_000 });
  expect(await b.stop("d1")).toBe(0);
}, 240_000);
afterAll(async () => b?.cleanup());

describe("consensus gate on the PostgreSQL store", () => {
  it("opens for the promoted epic: the database's log verifies and its state is the log's", () => {
    const r = b.cli("gate", "EP-001");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/open/);
    const j = JSON.parse(b.cli("gate", "EP-001", "--format", "json").stdout) as { open: boolean; checks: Array<{ id: string; status: string }> };
    expect(j.open).toBe(true);
    expect(j.checks.map((c) => c.status)).toEqual(["pass", "pass", "pass", "pass", "pass"]);
  });

  it("stays closed for an epic in progress (1) and an unknown one (3)", () => {
    const inProgress = b.cli("gate", "EP-002");
    expect(inProgress.code).toBe(1);
    expect(inProgress.stdout).toMatch(/not promoted/);
    expect(b.cli("gate", "EP-009").code).toBe(3);
  });

  it("stays closed when the database does not answer", () => {
    const url = new URL(b.db.url);
    url.port = "1";
    const r = b.cli("gate", "EP-001", "--store", url.toString());
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/did not answer|not reachable|ECONNREFUSED|cannot/i);
  });

  it("stays closed when an epic's state row was forged to promoted (the log says otherwise)", async () => {
    await b.sql`UPDATE epics SET state = jsonb_set(state, '{status}', '"promoted"') WHERE epic_id = 'EP-002'`;
    const r = b.cli("gate", "EP-002");
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+state/);
  });

  it("stays closed when a row of the log was edited", async () => {
    await b.sql`UPDATE entries SET line = replace(line, '"gate EP-001"', '"gate EP-00X"') WHERE seq = 1`;
    const r = b.cli("gate", "EP-001");
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/broken|hash/);
  });
});
