/**
 * The rows daemon's decisions on a real PostgreSQL, with two engines as two daemons: an input a
 * daemon defers on a view another writer's commit (or its own, in the same batch) has made stale is
 * never lost to that deferral. The epic's entry into the stage ran its rescan (the undefer) before the
 * deferral was written, so nothing but the periodic reconcile (CONSENSUS_RESCAN_MS, 30 s) would
 * release the input: the epic stood still meanwhile (the pg-crash e2e test's "no progress").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { silentLogger } from "../../src/daemon/logger.js";
import { decideRows } from "../../src/daemon/decide-rows.js";
import { PgStore } from "../../src/store/pg/pg-store.js";
import { PgInputs } from "../../src/store/pg/inputs.js";
import { artifact } from "../support/bus.js";
import { pipeline } from "../support/pipeline.js";
import { freshDatabase, type TestDb } from "../support/pg.js";
import { stageDropPaths } from "../../src/transports/files/classify.js";

let db: TestDb;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db?.drop());

/** PgInputs whose deferrals land after the undefers already asked for: the interleaving that lost an input. */
class RescanFirst extends PgInputs {
  readonly undefers: Array<Promise<unknown>> = [];
  override async defer(...args: Parameters<PgInputs["defer"]>): ReturnType<PgInputs["defer"]> {
    await Promise.all(this.undefers);
    return super.defer(...args);
  }
}

/** A daemon as the rows daemon wires one: its rescan effect undefers the stage's drop paths. */
async function daemon(): Promise<{ store: PgStore; engine: Engine; inputs: RescanFirst }> {
  const store = await PgStore.open(db.url, { staleMs: 2000 });
  await store.lease("daemon", "test");
  const inputs = new RescanFirst(store);
  const engine = await Engine.open(pipeline, store, silentLogger(), {
    hooks: {
      onRescan: (epicId, stageId) => {
        const paths = stageDropPaths(pipeline, epicId, stageId);
        inputs.undefers.push(inputs.undefer(paths));
      },
    },
  });
  return { store, engine, inputs };
}

/** One turn of the rows daemon's loop: catch up, claim, decide (now: past any settle wait). */
async function turn(d: { store: PgStore; engine: Engine; inputs: PgInputs }): Promise<void> {
  await d.engine.catchUp();
  const rows = await d.inputs.claim(d.store.writerId!, 128);
  if (rows.length) await decideRows(d.engine, d.inputs, rows, undefined, Date.now() + 10_000);
}

const send = async (inputs: PgInputs, rel: string, text: string): Promise<number> => (await inputs.addFile(rel, new TextEncoder().encode(text), Date.now(), "test"))!;

async function row(id: number): Promise<string> {
  const [r] = await db.sql`SELECT path, deferred, claimed_by, done_at, result FROM consensus.inputs WHERE id = ${id}`;
  return JSON.stringify(r);
}

async function accepted(epic: string, name: string): Promise<number> {
  const [r] = await db.sql`SELECT count(*)::int AS n FROM consensus.entries WHERE epic_id = ${epic} AND decision = 'artifact_accepted' AND line LIKE ${`%/${name}"%`}`;
  return r!.n as number;
}

describe("deciding claimed rows (rows daemon)", () => {
  it("an artifact deferred on a view another daemon's stage entry made stale is decided again, not left deferred", async () => {
    const [a, b] = [await daemon(), await daemon()];
    await b.engine.process([{ input: { type: "start", epic_id: "EP-001", title: "one", by: "tester" }, key: "request:1" }]);
    await a.engine.catchUp();
    // b accepts the plan: EP-001 enters implementation, and b's rescan undefers its paths (nothing deferred yet)
    const plan = await send(b.inputs, "artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    await decideRows(b.engine, b.inputs, await b.inputs.claim(b.store.writerId!, 128, [plan]), undefined, Date.now() + 10_000);
    await Promise.all(b.inputs.undefers);
    expect(await accepted("EP-001", "plan.json")).toBe(1);
    // the agent drops implementation.json at once; a claims it, its view still from before b's commit
    const impl = await send(a.inputs, "artifacts/EP-001/implementation.json", artifact("implementation.json", "EP-001", 1));
    await decideRows(a.engine, a.inputs, await a.inputs.claim(a.store.writerId!, 128), undefined, Date.now() + 10_000);
    // the daemons' next turns (no periodic reconcile) decide it
    for (let n = 0; n < 2 && !(await accepted("EP-001", "implementation.json")); n++) await Promise.all([turn(a), turn(b)]);
    expect(await accepted("EP-001", "implementation.json"), `implementation.json not accepted: its row ${await row(impl)}`).toBe(1);
    expect(await row(impl)).toMatch(/"done_at":"/);
    await Promise.all([a.store.close(), b.store.close()]);
  });

  it("a row is never left to settle: a half-written file, just modified, is decided at once (the bridge settled it before sending)", async () => {
    const a = await daemon();
    await a.engine.process([{ input: { type: "start", epic_id: "EP-003", title: "three", by: "tester" }, key: "request:3" }]);
    const half = await send(a.inputs, "artifacts/EP-003/plan.json", '{"epic_id": "EP-0');
    const d = await decideRows(a.engine, a.inputs, await a.inputs.claim(a.store.writerId!, 128, [half]), undefined);
    // the rows daemon's settle timer (rows-daemon.ts `settling`) stays unarmed: its rows never wait today
    expect(d.waits).toEqual([]);
    expect(await row(half)).toMatch(/"done_at":"/);
    await a.store.close();
  });

  it("an artifact deferred in a batch whose own commit moved its epic into the stage is decided again, not left deferred", async () => {
    const a = await daemon();
    await a.engine.process([{ input: { type: "start", epic_id: "EP-002", title: "two", by: "tester" }, key: "request:2" }]);
    // one batch: implementation.json (decided first: the epic is at plan) and the plan that moves it on
    const impl = await send(a.inputs, "artifacts/EP-002/implementation.json", artifact("implementation.json", "EP-002", 1));
    await send(a.inputs, "artifacts/EP-002/plan.json", artifact("plan.json", "EP-002", 1));
    const rows = await a.inputs.claim(a.store.writerId!, 128);
    expect(rows.map((r) => r.path)).toEqual(["artifacts/EP-002/implementation.json", "artifacts/EP-002/plan.json"]);
    await decideRows(a.engine, a.inputs, rows, undefined, Date.now() + 10_000);
    expect(await accepted("EP-002", "plan.json")).toBe(1);
    for (let n = 0; n < 2 && !(await accepted("EP-002", "implementation.json")); n++) await turn(a);
    expect(await accepted("EP-002", "implementation.json"), `implementation.json not accepted: its row ${await row(impl)}`).toBe(1);
    await a.store.close();
  });
});
