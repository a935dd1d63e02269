/**
 * The file store's crash test against PostgreSQL, with two daemons: one of them is SIGKILLed at
 * random instants (seeded) while a stream of drops over many epics goes on through a bridge, and
 * restarted; the other keeps running, so a killed daemon's claims and unfinished effects are taken
 * over while it is down. At the end every valid input was accepted exactly once, every epic is where
 * its inputs put it, the epics' state rows equal a fold of the log, and the chain is intact.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { applyEntry, emptyView } from "../../src/log/replay.js";
import { artifact } from "../support/bus.js";
import { PgBus, STAGE_FILES, expectEachOnce } from "../support/pg-bus.js";
import { mulberry32 } from "../support/random.js";

const SEED = Number(process.env.CRASH_SEED ?? 20261130);
const EPICS = 8;
const MIN_KILLS = Number(process.env.CRASH_KILLS ?? 10);
/**
 * Each drop but an epic's first waits for its epic to move: no drop for this long, with drops queued,
 * is an epic that stopped advancing. The product's own bounds are far below it: a killed daemon's
 * claims are taken over after CONSENSUS_LOCK_STALE_MS (2 s) plus a poll (1 s), and what a watcher
 * missed is found by the rescans every CONSENSUS_RESCAN_MS (30 s); 4× that, for a loaded machine.
 * (A count of kills is no measure: a kill comes every 0.3 to 3 s, however fast the daemons go.)
 */
const STALL_MS = 120_000;

let bus: PgBus | undefined;
afterAll(async () => bus?.cleanup());

describe("crash safety on PostgreSQL, two daemons", () => {
  it(`survives ${MIN_KILLS}+ SIGKILLs of a daemon at random instants (seed ${SEED})`, async () => {
    const rnd = mulberry32(SEED);
    const b = (bus = await PgBus.create());
    const epics = Array.from({ length: EPICS }, (_, i) => `EP-${String(i + 1).padStart(3, "0")}`);
    b.startDaemon("steady");
    b.start("bridge", "bridge");
    const alive = ["steady", "bridge"];
    await b.until("the steady daemon registered", async () => (await b.sql`SELECT count(*)::int AS n FROM writers WHERE kind = 'daemon'`)[0]!.n === 1, 60_000, alive);
    for (const e of epics) expect(b.cli("start", e, "--title", `crash ${e}`).code).toBe(0);
    // each epic's queue: a note message, its stages' artifacts, the same note replayed under another name
    const note = (e: string) => `id: note-${e}\nfrom: developer\nto: quality\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: ${e}\niteration: 1\ntype: info\nsubject: fyi\n`;
    const queues = epics.map((e) => [
      { rel: `messages/inbox/quality/note-${e}.yaml`, text: note(e) },
      ...STAGE_FILES.map(([stage, n]) => ({ rel: `artifacts/${e}/${n}`, text: artifact(n, e, 1), stage })),
      { rel: `messages/inbox/quality/replay-${e}.yaml`, text: note(e) },
    ] as Array<{ rel: string; text: string; stage?: string }>);
    let kills = 0;
    const lastDrop = new Map<string, string>();
    const dropSome = async (max: number) => {
      const at = await b.stages();
      for (let n = 0; n < max; n++) {
        const ready = queues.map((q, i) => ({ q, e: epics[i]! })).filter(({ q, e }) => q.length && (!q[0]!.stage || at.get(e)?.stage === q[0]!.stage));
        if (!ready.length) return;
        const pick = ready[Math.floor(rnd() * ready.length)]!;
        const d = pick.q.shift()!;
        b.drop(d.rel, d.text);
        lastDrop.set(pick.e, d.rel);
      }
    };
    /** For a failure: each epic not through (drops queued, or not promoted), where it stands, and what holds it (its input rows, its entries whose effects have not run, the writers). */
    const stuck = async (): Promise<string> => {
      const at = await b.stages();
      const writers = await b.sql`SELECT id, kind, pid, (extract(epoch from now() - heartbeat_at) * 1000)::int AS age_ms, stale_ms FROM writers ORDER BY started_at`;
      const live = new Set(writers.filter((w) => Number(w.age_ms) < Number(w.stale_ms)).map((w) => String(w.id)));
      const out: string[] = [];
      for (const [i, e] of epics.entries()) {
        const q = queues[i]!;
        const s = at.get(e);
        if (!q.length && s?.status === "promoted") continue;
        out.push(`${e}: at ${s ? `${s.stage} (${s.status}, iteration ${s.iteration})` : "no state row"}; ${q.length ? `next drop ${q[0]!.rel}${q[0]!.stage ? ` (waits for stage ${q[0]!.stage})` : ""}, ${q.length} left` : "every drop made"}`);
        const rows = await b.sql`SELECT id::int, path, deferred, claimed_by, claimed_at, done_at, result FROM inputs WHERE path LIKE ${`%${e}%`} ORDER BY id`;
        const last = lastDrop.get(e);
        if (last && !rows.some((r) => r.path === last)) out.push(`  last drop ${last}: NO INPUT ROW (the bridge has not mirrored it up)`);
        for (const r of rows) {
          const claim = r.claimed_by ? `claimed by ${String(r.claimed_by)} (${live.has(String(r.claimed_by)) ? "alive" : "dead"}) at ${(r.claimed_at as Date).toISOString()}` : "unclaimed";
          out.push(`  input ${r.id} ${String(r.path)}: ${r.done_at ? `done ${JSON.stringify(r.result).slice(0, 300)}` : `PENDING, ${r.deferred ? "deferred, " : ""}${claim}`}`);
        }
        const entries = await b.sql`SELECT seq::int, decision, writer, effects_done FROM entries WHERE epic_id = ${e} ORDER BY seq`;
        out.push(`  ${entries.length} entries: ${entries.map((x) => `${x.seq} ${String(x.decision)}${x.effects_done ? "" : ` (effects not run, held by ${x.writer ? `${String(x.writer)}, ${live.has(String(x.writer)) ? "alive" : "dead"}` : "nobody"})`}`).join(", ")}`);
      }
      out.push(`writers: ${writers.map((w) => `${String(w.id)} ${String(w.kind)} pid ${w.pid} heartbeat ${w.age_ms} ms ago`).join("; ")}`);
      return out.join("\n");
    };
    const left = () => queues.reduce((n, q) => n + q.length, 0);
    let queued = left();
    let movedAt = Date.now();
    while (queues.some((q) => q.length) || kills < MIN_KILLS) {
      await dropSome(Math.floor(rnd() * 3));
      const victim = b.startDaemon("victim");
      // now and then kill it during start-up; otherwise once it has registered (this one: killed daemons' rows stay until their work is taken over)
      if (rnd() >= 0.15) await b.until(`the victim (pid ${victim.pid}) registered`, async () => (await b.sql`SELECT count(*)::int AS n FROM writers WHERE kind = 'daemon' AND pid = ${victim.pid!}`)[0]!.n === 1, 60_000, [...alive, "victim"]);
      const burst = 1 + Math.floor(rnd() * 5);
      for (let n = 0; n < burst; n++) {
        await dropSome(1);
        await new Promise((r) => setTimeout(r, Math.floor(rnd() * 30)));
      }
      // kill at a random instant: mid-claim, mid-transaction, mid-effects, or idle
      await new Promise((r) => setTimeout(r, Math.floor(rnd() * 300)));
      await b.stop("victim", "SIGKILL");
      kills++;
      // CRASH_TRACE=1: a line per kill, to see where a run slows down
      if (process.env.CRASH_TRACE) {
        const [t] = await b.sql`SELECT (SELECT seq::int FROM head) AS seq, count(*) FILTER (WHERE done_at IS NULL)::int AS pending, count(*) FILTER (WHERE done_at IS NULL AND deferred)::int AS deferred, count(*) FILTER (WHERE done_at IS NULL AND claimed_by IS NOT NULL)::int AS claimed FROM inputs`;
        // what the killed victim held (its row stays until its work is taken over)
        const [v] = await b.sql`SELECT count(*)::int AS registered, (SELECT count(*)::int FROM inputs i WHERE i.done_at IS NULL AND i.claimed_by = ANY(array_agg(w.id))) AS inputs, (SELECT count(*)::int FROM entries e WHERE NOT e.effects_done AND e.writer = ANY(array_agg(w.id))) AS entries FROM writers w WHERE w.pid = ${victim.pid!}`;
        console.log(`kill ${kills} at ${new Date().toISOString()}: seq ${t!.seq} pending ${t!.pending} deferred ${t!.deferred} claimed ${t!.claimed} ${epics.map((e, i) => `${e}+${queues[i]!.length}`).join(" ")}; the victim ${v!.registered ? `had registered, held ${v!.inputs} inputs and ${v!.entries} entries with effects to run` : "had not registered"}`);
      }
      if (left() < queued) [queued, movedAt] = [left(), Date.now()];
      else if (queued && Date.now() - movedAt > STALL_MS) throw new Error(`no epic advanced for ${STALL_MS / 1000} s (${kills} kills, ${queued} drops queued): what holds each epic\n${await stuck()}\n${await b.diagnosis()}`);
      for (const n of alive) {
        const p = b.procs.get(n)!;
        if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${n} exited\n${b.errors()}`);
      }
    }
    // a wait that fails says what holds each epic too
    const holds = (e: unknown) => stuck().then((s) => Promise.reject(new Error(`${(e as Error).message}\nwhat holds each epic:\n${s}`)));
    await b.until("every epic promoted", async () => [...(await b.stages()).values()].filter((s) => s.status === "promoted").length === EPICS, 180_000, alive).catch(holds);
    await b.until("every input decided", async () => (await b.sql`SELECT count(*)::int AS n FROM inputs WHERE done_at IS NULL`)[0]!.n === 0, 60_000, alive).catch(holds);
    const entries = await expectEachOnce(b, epics);
    for (const e of epics) {
      expect(entries.filter((x) => x.decision === "message_accepted" && x.epic_id === e).length, `${e} note accepted once`).toBe(1);
      const replay = entries.filter((x) => x.decision === "message_rejected" && String((x.details as { file: string }).file).includes(`replay-${e}`));
      expect(replay.length, `${e} replay rejected once`).toBe(1);
    }
    // the archive copies the bridge brings down hold the accepted bytes
    for (const x of entries.filter((y) => y.decision === "artifact_accepted")) {
      const d = x.details as { file: string; sha256: string };
      const archived = join(b.root, "archive", x.epic_id!, String(x.iteration), basename(d.file));
      await b.until(`${archived} mirrored`, async () => existsSync(archived), 30_000, alive);
      expect(createHash("sha256").update(readFileSync(archived)).digest("hex")).toBe(d.sha256);
    }
    // every notice's effect ran (taken over from killed daemons where needed)
    await b.until("a devops notice per epic", async () => (await b.sql`SELECT count(*)::int AS n FROM notices WHERE role = 'devops' AND name LIKE '%stage_entered%'`)[0]!.n >= EPICS, 60_000, alive);
    // the epics' rows equal a fold of the log
    const view = emptyView();
    for (const e of entries) applyEntry(view, e);
    const rows = await b.stages();
    for (const e of epics) expect(rows.get(e)).toEqual(view.epics.get(e));
    const v = b.cli("log", "verify");
    expect(v.code, v.stdout).toBe(0);
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
  }, 600_000);
});
