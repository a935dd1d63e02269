/**
 * `consensus watch --store postgres://…`: one of any number of daemons sharing a PostgreSQL store,
 * with no leader. The loop is the file daemon's with another transport: input rows (from bridges and
 * CLI commands) instead of dropped files. Each turn it folds in what other daemons committed, claims
 * a batch of rows (FOR UPDATE SKIP LOCKED), decides and commits it through the engine (a conflict
 * with another daemon is decided again there), records each row's outcome, and runs the runner.
 *
 * Wake-ups: LISTEN on the log and inputs channels; notifications are lost while disconnected, so every
 * (re)listen triggers a re-sync (catch up, claim, take over dead daemons' unfinished effects), and a
 * slow poll (CONSENSUS_POLL_MS, default 5 s) is the floor. A lost connection or a restarted server
 * fails the turn in hand, which is retried after a short back-off: nothing was acknowledged, and a
 * commit whose outcome was in doubt is resolved by the store (pg-store.ts append).
 */
import { readAgentTriggers } from "../agents/read-definitions.js";
import { Engine } from "../engine/engine.js";
import { layoutOf } from "../store/fs/layout.js";
import { Backoff, unreachable } from "../store/pg/connect.js";
import { PgInputs, type InputRow } from "../store/pg/inputs.js";
import { CHANNEL_INPUTS, CHANNEL_LOG, PgStore } from "../store/pg/pg-store.js";
import { rulesInForce } from "../store/pg/rules.js";
import { Runner } from "../runner/runner.js";
import type { LaunchWant } from "../machine/effects.js";
import type { CommittedEntry } from "../store/port.js";
import { ConfigReloader } from "./config-reload.js";
import { decideRows } from "./decide-rows.js";
import { earliestDeadline, overdue } from "./deadlines.js";
import { DeadlineTimer } from "./deadline-timer.js";
import { CHECKPOINT_MS, idle, stopCleanly } from "./loop.js";
import type { DaemonOptions } from "./daemon.js";
import { stageDropPaths } from "../transports/files/classify.js";


export async function runRowsDaemon(opts: DaemonOptions & { store: string }): Promise<number> {
  const log = opts.log;
  const layout = layoutOf(opts.root);
  const store = await PgStore.open(opts.store);
  const inputs = new PgInputs(store);
  // a connection lost while starting (a server restarting) is waited out as in the loop, step by step
  const backoff = new Backoff(log);
  let wake: () => void = () => {};
  const kick = () => wake();
  let stopping = false;
  void opts.stop?.then(() => {
    stopping = true;
    kick();
  });
  const giveUpIfStopping = async (): Promise<void> => {
    if (stopping) throw unreachable(store.target, new Error("stopped while the store was unreachable"));
  };
  const lease = await backoff.retry(() => store.lease("daemon", opts.once ? "watch --once" : "watch", opts.holderInfo), giveUpIfStopping);
  const rules = await backoff.retry(() => rulesInForce(store, layout.config, `daemon pid ${process.pid}`), giveUpIfStopping);
  log.info({ store: store.description, writer: store.writerId, config: rules.pipeline.version.slice(0, 12) }, "registered on the store");

  let resync = true;
  /** When the next periodic reconcile releases every deferred drop (sooner after a rescan's undefer failed). */
  let reconcileAt = Date.now() + Number(process.env.CONSENSUS_RESCAN_MS ?? 30_000);
  let claimMore = true;
  let deadlineSweep = true;
  // one timer for the earliest row still settling, however many rows settle and however often they are claimed again
  // (claimed again, a row still settling arms its wait anew); kept alive: `watch --once` waits for it
  const settling = new DeadlineTimer(() => ((claimMore = true), kick()), { ref: true });
  const deadlines = new DeadlineTimer(() => ((deadlineSweep = true), kick()), { off: opts.once });
  const armDeadline = (at: number | undefined): void => deadlines.arm(at);
  const armFrom = (entries: CommittedEntry[]) => {
    for (const e of entries) if (e.state?.deadline && e.state.status === "in_progress") armDeadline(Date.parse(e.state.deadline.at));
  };

  const early: LaunchWant[] = [];
  let runner: Runner | undefined;
  const triggers = opts.once ? undefined : await readAgentTriggers(layout, rules.pipeline, log);
  const obs = opts.observer;
  let opened = false;
  // an attempt that failed part way may have claimed dead writers' entries: handed back, claimed again
  const engine = await backoff.retry(() => Engine.open(rules.pipeline, obs ? obs.wrapStore(store) : store, log, {
    hooks: {
      ...(triggers ? { triggers, onLaunch: (w) => (runner ? runner.want(w) : early.push(w)) } : {}),
      onEntries: (entries) => {
        armFrom(entries);
        obs?.committed(entries);
        opts.onEntries?.(entries);
      },
      onAbsorbed: armFrom,
      onRescan: (epicId, stageId) => {
        // recovery re-runs a dead daemon's rescans inside Engine.open, before `engine` is assigned: the rules it opened with
        const paths = stageDropPaths(opened ? engine.pipeline : rules.pipeline, epicId, stageId);
        // not released (the store unreachable): the reconcile releases every deferred drop at the next turn, not in CONSENSUS_RESCAN_MS
        void inputs.undefer(paths).then((n) => n && ((claimMore = true), kick()), () => ((reconcileAt = 0), (resync = true), kick()));
      },
    },
  }), async () => {
    await giveUpIfStopping();
    early.length = 0;
    await store.releaseClaims();
  });
  opened = true;
  let rulesText = rules.text;
  let rulesBy: { by: string; at?: string } | undefined;
  const reloader = new ConfigReloader("consensus.yaml (rules in force)", engine, log, async () => rulesText, () => rulesBy);
  obs?.opened({ view: () => engine.state, queueDepth: () => 0, configVersion: () => engine.pipeline.version.slice(0, 12) });
  if (triggers) {
    const r = new Runner({ engine, layout, log, wake: kick, launchedElsewhere: (id) => store.launchedByOtherLiveWriter(id) });
    await r.start();
    for (const w of early) r.want(w);
    runner = r;
  }

  // A LISTEN that fails is not fatal: the poll below is the floor. Not retried here: after a reset
  // during its LISTEN, postgres.js 3.4.9 can leave the listen connection stuck (a later listen or
  // unlisten on it never settles), while the channels that did listen, and the driver's own
  // re-listen after the next reconnect, go on.
  const subscribe = async () => {
    const got = await Promise.allSettled([
      store.sql.listen(CHANNEL_LOG, () => kick(), () => ((resync = true), kick())),
      store.sql.listen(CHANNEL_INPUTS, () => ((claimMore = true), kick()), () => ((resync = true), kick())),
    ]);
    for (const r of got) if (r.status === "rejected") log.warn({ err: r.reason as unknown, poll_ms: pollMs }, "not listening for wake-ups from the store; the poll wakes this daemon");
  };
  const pollMs = Number(process.env.CONSENSUS_POLL_MS ?? 5000);
  if (!opts.once) await subscribe();
  // a new client after a driver fault: listen on it, and re-sync (notifications in between are lost)
  store.onClientReplaced = () => {
    resync = true;
    kick();
    if (!opts.once) void subscribe();
  };
  const poll = opts.once ? undefined : setInterval(() => ((resync = true), kick()), pollMs);
  poll?.unref();

  // smaller than the file daemon's batch: rows a daemon has claimed wait for it, so a burst is shared among the daemons
  const batchSize = opts.batchSize ?? Number(process.env.CONSENSUS_CLAIM_BATCH ?? 128);
  let lastCheckpoint = Date.now();
  try {
    for (;;) {
      if (!(await backoff.turn(turn))) {
        resync = true;
        continue;
      }
      if (stopping) break;
      if (opts.once && !claimMore && !resync && !settling.armed && !runner?.hasWork) break;
      await idle((w) => (wake = w), stopping || resync || claimMore || deadlineSweep || !!runner?.hasWork, engine.dirty ? lastCheckpoint + CHECKPOINT_MS : undefined);
      wake = () => {};
    }
    return await stopCleanly(runner, engine, log);
  } finally {
    clearInterval(poll);
    deadlines.clear();
    settling.clear();
    // no UNLISTEN first: closing the client ends its LISTEN connection (and an unlisten on a stuck one never settles)
    await lease.release();
    await store.close();
  }

  /** One turn of the loop; a transient store error anywhere in it is retried as a whole. */
  async function turn(): Promise<void> {
    if (resync) {
      resync = false;
      claimMore = true;
      await engine.catchUp();
      const orphans = await store.orphans(engine.state.seq);
      if (orphans.length) {
        log.warn({ entries: orphans.length, from_seq: orphans[0]!.seq }, "re-running effects of a stopped daemon's decisions");
        await engine.runEffects(orphans, { replay: true });
      }
      if (Date.now() >= reconcileAt) {
        reconcileAt = Date.now() + Number(process.env.CONSENSUS_RESCAN_MS ?? 30_000);
        await inputs.undefer();
      }
      // read here, where a lost connection fails the turn (the reloader would take it for a missing file)
      const row = await store.rules();
      rulesText = row?.text ?? rulesText;
      rulesBy = row?.applied_by ? { by: row.applied_by, ...(row.applied_at ? { at: row.applied_at } : {}) } : undefined;
      await reloader.check();
    }
    if (deadlineSweep) {
      deadlineSweep = false;
      const due = overdue(engine.state.epics.values(), Date.now());
      if (due.length) await engine.process(due.map((epic_id) => ({ input: { type: "deadline" as const, epic_id } })));
      armDeadline(earliestDeadline(engine.state.epics.values()));
    }
    if (claimMore && !stopping) {
      await engine.catchUp();
      // cleared before the claim, so a NOTIFY that arrives while it runs is kept, not overwritten
      claimMore = false;
      const rows = await inputs.claim(store.writerId!, batchSize);
      if (rows.length === batchSize) claimMore = true;
      if (rows.length) await decideRowsNow(rows);
    }
    if (runner?.hasWork && !stopping) await runner.pump();
    if (engine.dirty && Date.now() - lastCheckpoint >= CHECKPOINT_MS) {
      await engine.checkpoint();
      lastCheckpoint = Date.now();
    }
  }

  async function decideRowsNow(rows: InputRow[]): Promise<void> {
    const { waits, again } = await decideRows(engine, inputs, rows, obs);
    if (again) claimMore = true;
    if (waits.length) settling.arm(Date.now() + Math.min(...waits));
  }
}
