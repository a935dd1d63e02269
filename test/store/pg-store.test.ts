/**
 * The PostgreSQL store against a real server (a database of its own): migrations under a lock and
 * refused when edited, one input's entries + state + mark in one transaction, and two engines on one
 * database deciding about the same epic at once: exactly one applies each input, the loser re-reads.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, type Prepared } from "../../src/engine/engine.js";
import { silentLogger } from "../../src/daemon/logger.js";
import { ChainVerifier } from "../../src/log/chain.js";
import { PgStore } from "../../src/store/pg/pg-store.js";
import { ConsensusError } from "../../src/errors/issue.js";
import { classifyPath } from "../../src/transports/files/classify.js";
import { prepareContent } from "../../src/transports/files/prepare.js";
import { artifact } from "../support/bus.js";
import { pipeline } from "../support/pipeline.js";
import { freshDatabase, type TestDb } from "../support/pg.js";

let db: TestDb;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => db?.drop());

const open = () => PgStore.open(db.url, { staleMs: 2000 });

async function engineOn(store: PgStore): Promise<Engine> {
  await store.lease("daemon", "test");
  return Engine.open(pipeline, store, silentLogger());
}

function drop(engine: Engine, rel: string, text: string): Prepared {
  const c = classifyPath(rel);
  if (c.kind !== "artifact" && c.kind !== "message") throw new Error(`not a drop: ${rel}`);
  const bytes = new TextEncoder().encode(text);
  const p = prepareContent(c, { bytes, sha256: createHash("sha256").update(bytes).digest("hex"), mtimeMs: Date.now() }, { pipeline, world: engine.world, now: Date.now() + 10_000 });
  if (p.kind !== "ready") throw new Error(`${rel}: ${p.kind}`);
  return p.item;
}

describe("PostgreSQL store", () => {
  it("applies its migrations once when two open at the same time, and refuses a migration changed after it was applied", async () => {
    const [a, b] = await Promise.all([open(), open()]);
    await Promise.all([a.close(), b.close()]);
    const rows = await db.sql`SELECT name FROM consensus.migrations ORDER BY id`;
    expect(rows.map((r) => r.name)).toEqual(["create-migrations-table", "schema", "nonce_marks"]);
    const [orig] = await db.sql`SELECT hash FROM consensus.migrations WHERE id = 1`;
    await db.sql`UPDATE consensus.migrations SET hash = 'edited' WHERE id = 1`;
    const err = await open().then(() => undefined, (e: unknown) => e);
    await db.sql`UPDATE consensus.migrations SET hash = ${orig!.hash} WHERE id = 1`;
    expect(err).toBeInstanceOf(ConsensusError);
    expect((err as ConsensusError).issues[0]).toMatchObject({ code: "STORE_MIGRATION_EDITED", file: "migrations/pg/1_schema.sql" });
  });

  it("commits an input's entries, its epic's state and its processed mark together, and the log verifies as a file", async () => {
    const store = await open();
    const engine = await engineOn(store);
    const [o] = await engine.process([{ input: { type: "start", epic_id: "EP-001", title: "one", by: "tester" }, key: "request:1" }]);
    expect(o!.status).toBe("committed");
    const plan = drop(engine, "artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    const [p] = await engine.process([plan]);
    expect(p!.status).toBe("committed");
    await engine.checkpoint();
    const [epic] = await db.sql`SELECT epic_seq, state FROM consensus.epics WHERE epic_id = 'EP-001'`;
    expect((epic!.state as { stage: string }).stage).toBe("implementation");
    const marks = await db.sql`SELECT mark FROM consensus.marks WHERE kind = 'p' ORDER BY seq`;
    expect(marks.map((m) => m.mark)).toEqual(["request:1", plan.key]);
    const notices = await db.sql`SELECT role FROM consensus.notices`;
    expect(notices.map((n) => n.role)).toContain("developer");
    expect((await store.published("EP-001")).map((x) => x.file)).toEqual(["plan.json"]);
    expect(Buffer.from((await store.getBlob(plan.input.type === "artifact" ? plan.input.sha256 : ""))!).toString()).toBe(artifact("plan.json", "EP-001", 1));
    // the same input again: a duplicate, nothing written
    const before = engine.state.seq;
    expect((await engine.process([plan]))[0]!.status).toBe("duplicate");
    expect(engine.state.seq).toBe(before);
    const v = new ChainVerifier();
    for await (const l of store.readEntries()) v.push(l.raw);
    expect(v.result()).toMatchObject({ ok: true, lastSeq: before, daemonLines: before });
    // a fresh process recovers the same view
    await store.close();
    const again = await open();
    const rec = await again.recover();
    expect(rec.view.seq).toBe(before);
    expect(rec.view.epics.get("EP-001")).toEqual(engine.state.epics.get("EP-001"));
    expect(rec.view.processed.has(plan.key!)).toBe(true);
    await again.close();
  });

  it("two engines deciding the same inputs about one epic at once: each input applied once, the epic advanced once", async () => {
    const [s1, s2] = await Promise.all([open(), open()]);
    const [e1, e2] = [await engineOn(s1), await engineOn(s2)];
    const [started] = await e1.process([{ input: { type: "start", epic_id: "EP-RACE", title: "race", by: "tester" }, key: "request:race" }]);
    expect(started!.status).toBe("committed");
    // e2 has not seen EP-RACE: it learns of it by the conflict on its first commit, or by catching up
    const plan = drop(e1, "artifacts/EP-RACE/plan.json", artifact("plan.json", "EP-RACE", 1));
    await e2.catchUp();
    const [r1, r2] = await Promise.all([e1.process([plan]), e2.process([plan])]);
    const statuses = [r1[0]!.status, r2[0]!.status].sort();
    expect(statuses).toEqual(["committed", "duplicate"]);
    const advanced = await db.sql`SELECT count(*)::int AS n FROM consensus.entries WHERE epic_id = 'EP-RACE' AND decision = 'stage_advanced'`;
    expect(advanced[0]!.n).toBe(1);
    // cancel from both at once: one cancels, the other is refused (the epic is closed by then)
    const cancel = (n: number) => ({ input: { type: "cancel" as const, epic_id: "EP-RACE", reason: "race", by: `t${n}` }, key: `request:c${n}` });
    const [c1, c2] = await Promise.all([e1.process([cancel(1)]), e2.process([cancel(2)])]);
    expect([c1[0]!.status, c2[0]!.status].sort()).toEqual(["committed", "refused"]);
    expect((await db.sql`SELECT count(*)::int AS n FROM consensus.entries WHERE decision = 'cancelled'`)[0]!.n).toBe(1);
    // per-epic sequence has no gap and the chain is whole
    const seqs = await db.sql`SELECT epic_seq::int AS n FROM consensus.entries WHERE epic_id = 'EP-RACE' ORDER BY seq`;
    expect(seqs.map((r) => r.n)).toEqual(seqs.map((_, i) => i + 1));
    const v = new ChainVerifier();
    for await (const l of s1.readEntries()) v.push(l.raw);
    expect(v.result().ok).toBe(true);
    await Promise.all([s1.close(), s2.close()]);
  });

  it("migration 2 puts the launch-token nonces of entries from before it in the ledger of used ids", async () => {
    const own = await freshDatabase();
    try {
      const store = await PgStore.open(own.url, { staleMs: 2000 });
      const engine = await engineOn(store);
      await engine.process([{ input: { type: "start", epic_id: "EP-009", title: "n", by: "tester" }, key: "request:n9" }]);
      const [o] = await engine.process([drop(engine, "artifacts/EP-009/plan.json", artifact("plan.json", "EP-009", 1))]);
      expect(o!.status).toBe("committed");
      await store.close();
      // as a version 1 database holds it: the entry names the nonce its signature used, no mark does
      const [row] = await own.sql`SELECT seq::int AS seq, line FROM consensus.entries WHERE decision = 'artifact_accepted' AND epic_id = 'EP-009'`;
      const line = JSON.parse(String(row!.line)) as { details: Record<string, unknown> };
      line.details.proof = { by: "token", role: "planner", nonce: "MigNonce1234" };
      await own.sql`UPDATE consensus.entries SET line = ${JSON.stringify(line)} WHERE seq = ${row!.seq}`;
      await own.sql`DELETE FROM consensus.migrations WHERE id = 2`;
      expect(await own.sql`SELECT 1 FROM consensus.marks WHERE mark = 'nonce/MigNonce1234'`).toHaveLength(0);
      await (await PgStore.open(own.url, { staleMs: 2000 })).close();
      const marks = await own.sql`SELECT kind, seq::int AS seq FROM consensus.marks WHERE mark = 'nonce/MigNonce1234'`;
      expect(marks.map((m) => ({ kind: m.kind, seq: m.seq }))).toEqual([{ kind: "m", seq: row!.seq }]);
    } finally {
      await own.drop();
    }
  });
});
