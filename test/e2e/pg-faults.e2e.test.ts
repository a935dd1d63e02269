/**
 * Faults against a real PostgreSQL, with real daemons: a daemon SIGKILLed inside its transaction,
 * two daemons racing on one epic, every connection killed (pg_terminate_backend), a table locked for
 * seconds, and the server itself restarted under load (a throwaway server of the test's own; the
 * machine's shared server is never restarted). In each: nothing lost, nothing applied twice, and the
 * daemons recover by themselves (they are still running and decide what comes after the fault).
 */
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/daemon/logger.js";
import { decideRows } from "../../src/daemon/decide-rows.js";
import { Engine } from "../../src/engine/engine.js";
import { PgStore } from "../../src/store/pg/pg-store.js";
import { artifact } from "../support/bus.js";
import { pipeline } from "../support/pipeline.js";
import { startEmbedded, type EmbeddedServer } from "../support/embedded-pg.js";
import { PgBus, driveToPromotion, expectEachOnce } from "../support/pg-bus.js";
import { startProxy, type TcpProxy } from "../support/tcp-proxy.js";

let bus: PgBus | undefined;
let server: EmbeddedServer | undefined;
let proxy: TcpProxy | undefined;
afterEach(async () => {
  await bus?.cleanup();
  bus = undefined;
  await proxy?.close();
  proxy = undefined;
  await server?.destroy();
  server = undefined;
});

const epicsOf = (n: number, prefix = "EP") => Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(3, "0")}`);

async function startEpics(b: PgBus, epics: string[]): Promise<void> {
  for (const e of epics) {
    const r = b.cli("start", e, "--title", `fault ${e}`);
    if (r.code !== 0) throw new Error(`start ${e}: ${r.stderr}`);
  }
}

async function daemonsRegistered(b: PgBus, n: number, alive: string[]): Promise<void> {
  await b.until(`${n} daemons registered`, async () => (await b.sql`SELECT count(*)::int AS n FROM writers WHERE kind = 'daemon'`)[0]!.n >= n, 60_000, alive);
}

/**
 * Two daemons, six epics driven to promotion by input rows, and `fault` run once when a third of the
 * epics' inputs are in: every epic must come through, each input once, the chain whole.
 */
async function twoDaemonsThrough(b: PgBus, fault: () => Promise<void>): Promise<void> {
  b.startDaemon("d1");
  b.startDaemon("d2");
  const alive = ["d1", "d2"];
  await daemonsRegistered(b, 2, alive);
  const epics = epicsOf(6);
  await startEpics(b, epics);
  await underLoad(b, epics, alive, fault);
  await expectEachOnce(b, epics);
  const v = b.cli("log", "verify");
  expect(v.code, v.stdout).toBe(0);
}

/** Runs `fault` once, when a third of the epics' inputs are in; the daemons must carry every epic through it. */
async function underLoad(b: PgBus, epics: string[], alive: string[], fault: () => Promise<void>): Promise<void> {
  let faulted = false;
  await driveToPromotion(b, epics, (rel, text) => b.send(rel, text), (n, e) => artifact(n, e, 1), {
    alive,
    timeoutMs: 420_000,
    between: async () => {
      if (faulted) return;
      const accepted = (await b.entries().catch(() => [])).filter((x) => x.decision === "artifact_accepted").length;
      if (accepted < (epics.length * 6) / 3) return;
      faulted = true;
      await fault();
    },
  });
  expect(faulted).toBe(true);
}

/**
 * One daemon behind a proxy that resets its connection at the instant it sends `marker` (while
 * starting, or once running after every connection was dropped): it must stay up and go on deciding.
 */
async function daemonThroughReset(marker: string, when: "starting" | "running"): Promise<void> {
  const b = (bus = await PgBus.create());
  const p = (proxy = await startProxy(b.db.url));
  await startEpics(b, ["EP-001"]); // decided by the command itself: no daemon yet
  const msg = (id: string) => `id: ${id}\nfrom: developer\nto: quality\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: EP-001\niteration: 1\ntype: info\nsubject: fyi\n`;
  const accepted = async (n: number) => (await b.entries()).filter((x) => x.decision === "message_accepted").length >= n;
  if (when === "starting") p.resetOn(marker);
  // the daemon only: commands wait synchronously (spawnSync), and the proxy lives in this process
  b.env.CONSENSUS_STORE = p.url;
  b.startDaemon("d1");
  b.env.CONSENSUS_STORE = b.db.url;
  await b.send("messages/inbox/quality/m-1.yaml", msg("m-1"));
  await b.until("d1 deciding", () => accepted(1), 60_000, ["d1"]);
  if (when === "running") {
    p.resetOn(marker);
    p.dropAll();
  }
  await b.until(`the connection reset at ${JSON.stringify(marker)}`, async () => p.resets > 0, 60_000, ["d1"]);
  await b.send("messages/inbox/quality/m-2.yaml", msg("m-2"));
  await b.until("a message decided after the reset", () => accepted(2), 60_000, ["d1"]);
  expect(b.procs.get("d1")!.exitCode).toBeNull();
}

describe("PostgreSQL faults", () => {
  it("a daemon SIGKILLed inside its append transaction: the transaction is rolled back, another daemon takes the input over, applied once", async () => {
    const b = (bus = await PgBus.create());
    b.startDaemon("d1");
    await daemonsRegistered(b, 1, ["d1"]);
    await startEpics(b, ["EP-001"]);
    await b.until("EP-001 started", async () => (await b.stages()).get("EP-001"));
    // hold the chain's head: d1's next append waits inside its transaction
    const holder = await b.sql.reserve();
    await holder`BEGIN`;
    await holder`SELECT seq FROM head FOR UPDATE`;
    await b.send("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    await b.until("d1 waiting on the head inside its transaction", async () => (await b.sql`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'consensus' AND wait_event_type = 'Lock'`).length > 0, 60_000, ["d1"]);
    await b.stop("d1", "SIGKILL");
    await holder`ROLLBACK`;
    holder.release();
    b.startDaemon("d2");
    await b.until("plan accepted", async () => (await b.stages()).get("EP-001")?.stage === "implementation", 60_000, ["d2"]);
    const entries = await b.entries();
    expect(entries.filter((e) => e.decision === "artifact_accepted").length).toBe(1);
    expect(entries.filter((e) => e.decision === "stage_advanced").length).toBe(1);
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    // and it goes on
    await driveToPromotion(b, ["EP-001"], (rel, text) => b.send(rel, text), (n, e) => artifact(n, e, 1), { alive: ["d2"] });
    await expectEachOnce(b, ["EP-001"]);
    expect(b.cli("log", "verify").code).toBe(0);
  }, 600_000);

  it("a daemon that died right after moving an epic into a stage: the next one re-runs its rescan at start-up, and the stage's deferred drop is decided without an effect failing", async () => {
    const b = (bus = await PgBus.create());
    // only the taken-over rescan can release the deferred drop (the periodic reconcile is out of reach)
    b.env.CONSENSUS_RESCAN_MS = "600000";
    expect(b.cli("start", "EP-001", "--title", "takeover").code).toBe(0);
    // the dying daemon: an engine of this process, registered as a daemon
    const store = await PgStore.open(b.db.url, { staleMs: 2000 });
    await store.lease("daemon", "watch");
    const engine = await Engine.open(pipeline, store, silentLogger());
    const decide = async (id: number) => decideRows(engine, b.inputs, await b.inputs.claim(store.writerId!, 1, [id]), undefined, Date.now() + 10_000);
    // implementation.json dropped early: deferred (EP-001 is at plan)
    const impl = (await b.inputs.addFile("artifacts/EP-001/implementation.json", new TextEncoder().encode(artifact("implementation.json", "EP-001", 1)), Date.now(), "test"))!;
    await decide(impl);
    expect((await b.sql`SELECT deferred FROM inputs WHERE id = ${impl}`)[0]!.deferred).toBe(true);
    // the plan moves EP-001 into implementation; the daemon dies before its effects (the rescan among them) are done
    const plan = (await b.inputs.addFile("artifacts/EP-001/plan.json", new TextEncoder().encode(artifact("plan.json", "EP-001", 1)), Date.now(), "test"))!;
    await decide(plan);
    expect((await b.stages()).get("EP-001")?.stage).toBe("implementation");
    await store.close();
    await b.until("the dead daemon's heartbeat stale", async () => (await b.sql`SELECT 1 FROM writers WHERE id = ${store.writerId!} AND heartbeat_at < now() - interval '2 seconds'`).length > 0);
    b.startDaemon("d1");
    await b.until("implementation.json accepted", async () => (await b.entries()).some((e) => e.decision === "artifact_accepted" && String((e.details as { file: string }).file).endsWith("/implementation.json")), 60_000, ["d1"]);
    // its recovery took the stage entry over and ran its rescan: no effect failed on the way
    await b.until("the taken-over entries' effects done", async () => (await b.sql`SELECT count(*)::int AS n FROM entries WHERE NOT effects_done`)[0]!.n === 0, 60_000, ["d1"]);
    expect(b.stderr.get("d1"), "the daemon's stderr").not.toMatch(/failed/);
  }, 600_000);

  it("a stage entry's rescan whose undefer fails (its connection terminated): the deferred drop is released at the daemon's next turn, not at the periodic reconcile", async () => {
    const b = (bus = await PgBus.create());
    b.env.CONSENSUS_RESCAN_MS = "600000";
    b.startDaemon("d1");
    await daemonsRegistered(b, 1, ["d1"]);
    await startEpics(b, ["EP-001"]);
    await b.until("EP-001 started", async () => (await b.stages()).get("EP-001"), 60_000, ["d1"]);
    await b.send("artifacts/EP-001/implementation.json", artifact("implementation.json", "EP-001", 1));
    const [impl] = await b.until("implementation.json deferred (EP-001 is at plan)", async () => {
      const r = await b.sql`SELECT id::int FROM inputs WHERE path = 'artifacts/EP-001/implementation.json' AND deferred`;
      return r.length ? r : undefined;
    }, 60_000, ["d1"]);
    // hold the deferred row: the rescan's undefer waits on it, and is cut off there
    const holder = await b.sql.reserve();
    try {
      await holder`BEGIN`;
      await holder`SELECT id FROM inputs WHERE id = ${impl!.id} FOR UPDATE`;
      await b.send("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
      const [undefer] = await b.until("the rescan's undefer waiting on the row", async () => {
        const r = await b.sql`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE inputs SET deferred = false%'`;
        return r.length ? r : undefined;
      }, 60_000, ["d1"]);
      await b.sql`SELECT pg_terminate_backend(${undefer!.pid})`;
    } finally {
      await holder`ROLLBACK`;
      holder.release();
    }
    await b.until("implementation.json accepted", async () => (await b.entries()).some((e) => e.decision === "artifact_accepted" && String((e.details as { file: string }).file).endsWith("/implementation.json")), 60_000, ["d1"]);
  }, 600_000);

  it("two daemons racing on one epic: each of many messages accepted once, a replayed id rejected once", async () => {
    const b = (bus = await PgBus.create());
    b.startDaemon("d1");
    b.startDaemon("d2");
    const alive = ["d1", "d2"];
    await daemonsRegistered(b, 2, alive);
    await startEpics(b, ["EP-RACE"]);
    await b.until("EP-RACE started", async () => (await b.stages()).get("EP-RACE"), 60_000, alive);
    const msg = (id: string) => `id: ${id}\nfrom: developer\nto: quality\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: EP-RACE\niteration: 1\ntype: info\nsubject: fyi\n`;
    const N = 60;
    await Promise.all(Array.from({ length: N }, (_, i) => b.send(`messages/inbox/quality/m-${i}.yaml`, msg(`m-${i}`))));
    await b.send("messages/inbox/quality/replay.yaml", msg("m-7"));
    await b.until(`${N + 1} messages decided`, async () => (await b.entries()).filter((e) => e.decision.startsWith("message_")).length >= N + 1, 120_000, alive);
    const entries = await b.entries();
    const accepted = entries.filter((e) => e.decision === "message_accepted").map((e) => (e.details as { message_id: string }).message_id);
    expect(accepted.length).toBe(N);
    expect(new Set(accepted).size).toBe(N);
    const rejected = entries.filter((e) => e.decision === "message_rejected");
    expect(rejected.length).toBe(1);
    expect((rejected[0]!.details as { errors: Array<{ code: string }> }).errors[0]!.code).toBe("REPLAYED_MESSAGE");
    const seqs = await b.sql`SELECT epic_seq::int AS n FROM entries WHERE epic_id = 'EP-RACE' ORDER BY seq`;
    expect(seqs.map((r) => r.n)).toEqual(seqs.map((_, i) => i + 1));
    await b.until("every row marked done", async () => (await b.sql`SELECT count(*)::int AS n FROM inputs WHERE done_at IS NULL`)[0]!.n === 0, 60_000, alive);
  }, 600_000);

  it("every connection killed (pg_terminate_backend) under load: the daemons reconnect and carry every epic through, once", async () => {
    const b = (bus = await PgBus.create());
    await twoDaemonsThrough(b, async () => {
      const killed = await b.sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'consensus'`;
      expect(killed.length).toBeGreaterThan(0);
    });
  }, 600_000);

  it("a connection reset while the driver sets it up (its type lookup after a reconnect): the daemon goes on, the query that opened it is retried", async () => {
    // postgres.js looks up array types on every new connection from a promise nobody holds
    // (fetchArrayTypes); a reset there was an unhandled rejection that ended the daemon (exit 1)
    // while a restarted server was coming back.
    await daemonThroughReset("b.typarray", "running");
  }, 600_000);

  it.each([
    ["registering", "INSERT INTO writers"],
    ["reading the rules in force", "SELECT version, text, applied_by"],
    ["recovering", "FROM snapshots ORDER BY"],
    ["listening", 'listen "consensus_inputs"'],
  ])("a connection reset while the daemon starts (%s): it waits the store out and goes on", async (_, marker) => {
    await daemonThroughReset(marker, "starting");
  }, 600_000);

  it("a table locked for seconds under load: decisions wait, then go on; nothing lost or doubled", async () => {
    const b = (bus = await PgBus.create());
    await twoDaemonsThrough(b, async () => {
      await b.sql.begin(async (tx) => {
        await tx`LOCK TABLE entries IN ACCESS EXCLUSIVE MODE`;
        const before = (await tx`SELECT count(*)::int AS n FROM entries`)[0]!.n;
        // the fault itself lasts this long; the test waits for conditions, not for it
        await new Promise((r) => setTimeout(r, 3000));
        expect((await tx`SELECT count(*)::int AS n FROM entries`)[0]!.n).toBe(before);
      });
    });
  }, 600_000);

  it("the PostgreSQL server restarted under load (a throwaway server): the daemons re-listen, re-sync and carry every epic through, once", async () => {
    server = await startEmbedded();
    const b = (bus = await PgBus.create(server.url));
    const s = server;
    await twoDaemonsThrough(b, async () => {
      await s.stop();
      await s.start();
    });
  }, 600_000);
});
