/**
 * `consensus watch`: the daemon. Takes the writer lease, recovers, arms the watcher, scans for what
 * was dropped while it was down, then turns every reported path into decisions in batches (one fsync
 * per batch). `--once` handles everything pending and exits. SIGTERM/SIGINT finish the batch in hand,
 * checkpoint, release the lease and exit 0.
 */
import { lstatSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeAtomic } from "../store/fs/atomic-write.js";
import { ConsensusError, shellArg } from "../errors/issue.js";
import { GuardedReadError } from "../store/fs/guarded-read.js";
import { classifyPath, stageDropPaths } from "../transports/files/classify.js";
import { prepare, type Held } from "../transports/files/prepare.js";
import { eventsDelivered, unchangedSince } from "../transports/files/confirm-read.js";
import { releaseClaims } from "../transports/placement.js";
import { writeResult } from "../transports/files/requests.js";
import { findWhoMakes } from "../store/fs/entry-aside.js";
import { setAsideRefused, squatAgain, squatByOwner, squatIn, type Squat } from "../transports/files/set-aside.js";
import { Arrivals, type PathEvent } from "../transports/files/arrivals.js";
import { STRAY_CAP, scanCandidates } from "../transports/files/scan.js";
import { watchBus, type BusWatcher } from "../transports/files/watch.js";
import { FsStore } from "../store/fs/fs-store.js";
import { effectFolders, reportTempSweep, startedAtMs, sweepDaemonTemps } from "../store/fs/temp-sweep.js";
import { layoutOf } from "../store/fs/layout.js";
import type { Lease } from "../store/port.js";
import { FolderRules, watchConfig } from "./config-reload.js";
import { appliedDraft, rulesForWriter } from "../store/fs/rules.js";
import { earliestDeadline, overdue } from "./deadlines.js";
import { DeadlineTimer } from "./deadline-timer.js";
import { checkpointDueAt, idle, stopCleanly } from "./loop.js";
import { Engine, type Outcome, type Prepared } from "../engine/engine.js";
import { decide } from "../machine/decide.js";
import { prepareAll } from "../transports/files/prepare-all.js";
import type { Logger } from "./logger.js";
import type { CommittedEntry } from "../store/port.js";
import type { DaemonObserver } from "./observer.js";
import { readAgentTriggers } from "../agents/read-definitions.js";
import { Runner } from "../runner/runner.js";
import { ensureKeyring } from "../trust/key-file.js";
import type { Keyring } from "../trust/keyring.js";
import { agentUsersOf, keyringOf } from "../transports/prove.js";
import { giveDropZones, reportDropZones } from "../runner/drop-zones.js";
import { upgradeClaimsOnce } from "../transports/claim-upgrade.js";
import { sharedUserNote } from "../machine/authority.js";


/**
 * Inputs decided (and committed, one fsync) together at most. A batch's notices and archive copies are
 * written while the next batch is decided (overlapEffects), so the first batch's effects wait for its
 * decisions and the last batch's effects run alone: the smaller the batch, the shorter that fill and
 * drain. Measured (bench/throughput.mjs --warm 2000, alternated, quiet): with 512, the notices of a
 * 2,000-drop burst were written at 55–82 % of the rate of the decisions; with 128, at 90–98 %, the
 * decisions as fast within the noise (issue 17.2). A commit costs one flush (~0.3 ms), 16 for the burst.
 */
export const BATCH_SIZE = 128;

export interface DaemonOptions {
  root: string;
  once?: boolean;
  poll?: boolean;
  log: Logger;
  /** Called with every committed entry (the demo prints a timeline from these). */
  onEntries?: (entries: CommittedEntry[]) => void;
  /** Resolves when the daemon should stop (signals are wired by the CLI). */
  stop?: Promise<void>;
  batchSize?: number;
  /** A safety-net reconcile scan this often (ms), for events a watcher can drop; 0 turns it off. */
  rescanMs?: number;
  /** An onlooker (metrics, readiness); the daemon runs the same without one. */
  observer?: DaemonObserver;
  /** Written into the lock holder's file (.consensus/writer.json), such as the metrics address. */
  holderInfo?: { metrics?: string };
}

export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const layout = layoutOf(opts.root);
  const log = opts.log;
  // the rules in force (sealed in the private area), never the root's consensus.yaml (config-reload.ts)
  const { pipeline, firstApply } = await rulesForWriter(layout, new Date());
  let fatal: Error | undefined;
  let wake: () => void = () => {};
  const store = new FsStore(layout, {
    // notices and archive copies made on the second core (issue 17.2)
    effectWorker: true,
    onEffectWorkerFailed: (err) => log.warn({ err: err.message, fix: "Nothing to do: notices and archive copies are written on the daemon's main thread from now on (slower under a burst). Restart the daemon to use the thread again; report this if it repeats." }, `the effect writer thread failed: ${err.message}`),
    onLeaseLost: (err) => {
      // a ConsensusError (LEASE_LOST) says who holds the root now and that this daemon steps down
      fatal = err instanceof ConsensusError ? err : new Error(`lost the writer lock: ${err.message}`);
      wake();
    },
    // an agent's entry at a notice's name (its seq is predictable) would fail the notice, and every checkpoint, for good
    onNoticeNameFreed: (a) =>
      log.warn({ file: a.file, moved_to: a.moved_to, owner_uid: a.uid, found: a.found, fix: `Nothing to do for the daemon: the notice is written. uid ${a.uid} may delete ${a.moved_to}; agents write only their own messages into an inbox, never at a notice's name.` }, `${a.found} at a notice's name renamed aside (neither followed nor opened): uid ${a.uid} made it where the daemon writes its notice`),
    // the name was taken again before the daemon's rename (or could not be taken): written at its keyed name
    onNoticeKeyedName: (a) => {
      // the entry may be gone again before the daemon looked at it (made and removed in a loop): no uid to name then
      const who = a.uid === undefined ? `${a.found} (gone again when the daemon looked, so its owner is not known)` : `${a.found} of uid ${a.uid}`;
      log.warn(
        { file: a.file, written_to: a.written_to, owner_uid: a.uid ?? null, found: a.found, cause: a.cause, fix: `Nothing to do for the daemon: the notice is written at ${a.written_to}. ${findWhoMakes(a.uid, a.found, join(layout.root, dirname(a.file)))}, stop it, then remove the entry as that user or root: \`rm -r ${shellArg(join(layout.root, a.file))}\`.` },
        `${who} took the notice's name ${a.file} again after it was renamed aside (or it cannot be taken): the notice is written at its keyed name ${a.written_to}, one no agent can know first`,
      );
    },
    // an archive copy re-run by recovery: what the killed writer left beside it (temp-sweep.ts)
    onTempSweep: (s) => reportTempSweep(s, log),
  });
  const obs = opts.observer;
  const lease: Lease = await store.lease("daemon", opts.once ? "watch --once" : "watch", opts.holderInfo);
  log.info({ root: layout.root, config: pipeline.version.slice(0, 12) }, "lease taken");
  // before recovery re-runs any effect: what a killed daemon (or command) left mid-write (temp-sweep.ts)
  reportTempSweep(sweepDaemonTemps(layout.root, effectFolders(layout, { daemon: true }), startedAtMs()), log);
  reportDropZones(giveDropZones(layout, pipeline), log);
  // claims an earlier version placed under their old name, for inputs not decided yet: read under the
  // name this version reads (transports/claim-upgrade.ts), not decided as plain drops without a word
  const upgraded = (await upgradeClaimsOnce(layout)) ?? { renamed: 0, left: [] };
  if (upgraded.renamed) log.info({ renamed: upgraded.renamed }, "claims of an earlier version renamed to the name this version reads");
  for (const l of upgraded.left) log.warn({ path: l.path, error: l.why, fix: `Its input is decided as a plain drop; submit it again to have its transport and role recorded, then remove the old claim (\`rm ${shellArg(l.path)}\`).` }, "a claim of an earlier version could not be renamed to the name this version reads");
  // roles that share an OS user: the owner of their files proves none of them (transports/prove.ts)
  for (const shared of agentUsersOf(pipeline).shared.values()) {
    const note = sharedUserNote(shared);
    log.warn({ user: shared.user, roles: shared.roles }, `${note.reason}. ${note.fix}`);
  }
  const realRoot = realpathSync(layout.root);
  // The daemon key (issue 15: launch tokens, notice MACs): made at the first start; re-read when rotated.
  let keyring: Keyring | undefined;
  try {
    keyring = (await ensureKeyring(layout.dot)).keyring;
  } catch (e) {
    log.warn({ err: e }, "no daemon key: agents get no launch token and notices no MAC (run `consensus doctor`)");
  }
  const keys = (): Keyring | undefined => keyring;

  const pending = new Set<string>();
  /** Signature (mtime:size) of files a scan found and that were handled: unchanged ones are not read again. */
  const known = new Map<string, string>();
  const scanned = new Map<string, string>();
  const waiting = new Map<string, NodeJS.Timeout>();
  /** A path's squat put back and set aside again: when it was last logged, and how many since were not. */
  const asideRepeats = new Map<string, { since: number; quiet: number }>();
  /** What the watcher said about each path since it was decided: settle.ts reads it. */
  const arrivals = new Arrivals();
  let stopping = false;
  let scanRequested = true;
  const kick = () => wake();
  const enqueue = (rel: string, ev?: PathEvent) => {
    // What classifyPath leaves alone (temporaries, the daemon's own notices) is never read: not queued.
    // In a burst 5 of a drop's 7 events are such (its temporary's, its notice's and the notice's
    // temporary's), each a slot in a batch and a pass through prepare to be skipped (issue 17.2).
    if (classifyPath(rel).kind === "ignored") return;
    if (ev) arrivals.saw(rel, ev, Date.now());
    const t = waiting.get(rel);
    if (t) (clearTimeout(t), waiting.delete(rel));
    pending.add(rel);
    obs?.seen(rel);
    kick();
  };

  /** An effect asked for a launch since the runner last decided its inputs (settleEffects). */
  let launchAsked = false;
  let engine!: Engine;
  /** Set once Engine.open returned: before that, effects replayed by recovery must not touch `engine`. */
  let opened = false;
  // one timer for the earliest stage deadline in the state (deadlines.ts); entries that set an
  // earlier one re-arm it
  let deadlineSweep = true;
  const deadlines = new DeadlineTimer(() => ((deadlineSweep = true), kick()), { off: opts.once });
  const armDeadline = (at: number | undefined): void => deadlines.arm(at);
  // Agents (src/runner/): launches decided, logged, then spawned; not with --once (nothing would wait for them).
  const early: Array<import("../machine/effects.js").LaunchWant> = [];
  let runner: Runner | undefined;
  const triggers = opts.once ? undefined : await readAgentTriggers(layout, pipeline, log);
  engine = await Engine.open(pipeline, obs ? obs.wrapStore(store) : store, log, {
    root: realRoot,
    keys,
    // a batch's notices and archive copies are written while the next batch is decided (issue 17.2);
    // not with --once, whose loop ends when nothing is pending (a rescan an effect asks for must be seen)
    overlapEffects: !opts.once,
    hooks: {
      // launches are wanted whenever a daemon runs, even one started with no agents: `config apply` may
      // add them. The loop is woken: an overlapped batch's effects may run after it went idle.
      ...(opts.once ? {} : { triggers: triggers ?? [], onLaunch: (w: import("../machine/effects.js").LaunchWant) => ((runner ? runner.want(w) : early.push(w)), (launchAsked = true), kick()) }),
      onEntries: (entries) => {
        for (const e of entries) if (e.state?.deadline && e.state.status === "in_progress") armDeadline(Date.parse(e.state.deadline.at));
        obs?.committed(entries);
        opts.onEntries?.(entries);
      },
      onRescan: (epicId, stageId) => {
        // only names something is at: a file that lands later is reported by the watcher (or found by
        // --once's scan). Queuing the missing ones made a batch after every stage entry, read and
        // skipped in front of the next drop (~0.2 ms of the loop and two realpath walks; issue 17.2)
        for (const p of dropPaths(epicId, stageId)) if (somethingAt(p)) pending.add(p);
        kick();
      },
    },
  });
  opened = true;

  if (firstApply) {
    await engine.commitDrafts([appliedDraft(firstApply, { first_start: true, via: "watch" })]);
    log.warn({ version: firstApply.version.slice(0, 12) }, "no rules were in force: applied consensus.yaml once; from now on edits take effect only through `consensus config apply`");
  }
  // the rules in force change only by `consensus config apply`; an edit of consensus.yaml is reported (config-reload.ts)
  const reloader = new FolderRules(layout, engine, log);
  let configTouched = true;
  const configWatch = opts.once ? undefined : watchConfig(layout.config, () => ((configTouched = true), kick()));
  // agents append to the readable log: their entries are judged as soon as they land, like a drop
  let mirrorTouched = true;
  const mirrorWatch = opts.once ? undefined : watchConfig(layout.log, () => ((mirrorTouched = true), kick()));
  /** A write that failed for lack of space (or an I/O error): the inputs are decided again after this pause. */
  const retryAfterMs = 1000;
  const rulesWatch = opts.once ? undefined : watchConfig(layout.rules, () => ((configTouched = true), kick()));
  obs?.opened({ view: () => engine.state, queueDepth: () => pending.size + waiting.size, configVersion: () => engine.pipeline.version.slice(0, 12) });
  /** Arms the runner once the rules in force name an agent (at start, or after a `config apply` that adds the first). */
  const armRunner = async (): Promise<void> => {
    if (runner || opts.once || engine.pipeline.agents.size === 0) return;
    const r = new Runner({ engine, layout, log, wake: () => wake(), keys, exitGate: { beforeExit: answersOf, undecided: (paths) => paths.filter((p) => pending.has(p) || waiting.has(p)) } });
    await r.start();
    for (const w of early.splice(0)) r.want(w);
    runner = r;
  };
  if (triggers) await armRunner();

  let watcher: BusWatcher | undefined;
  if (!opts.once) {
    watcher = await watchBus(layout, {
      onPath: enqueue,
      onRescanNeeded: (reason) => {
        log.info({ reason }, "reconcile scan");
        scanRequested = true;
        kick();
      },
    }, { poll: opts.poll });
    log.info({ poll: !!opts.poll, folders: watcher.folders }, "watcher armed");
    obs?.watcherArmed();
  }
  const rescanMs = opts.rescanMs ?? Number(process.env.CONSENSUS_RESCAN_MS ?? 30_000);
  const rescanTimer = !opts.once && rescanMs > 0 ? setInterval(() => ((scanRequested = true), (configTouched = true), (mirrorTouched = true), kick()), rescanMs) : undefined;
  rescanTimer?.unref();
  void opts.stop?.then(() => {
    stopping = true;
    kick();
  });

  const batchSize = opts.batchSize ?? BATCH_SIZE;
  let lastCheckpoint = Date.now();
  /** When the loop last finished a batch or a launch (checkpointDueAt waits for it to be quiet). */
  let lastBusy = 0;
  /** When the oldest change the next checkpoint is to hold was first seen (checkpointDueAt). */
  let dirtySince: number | undefined;
  const checkpointAt = (): number | undefined => checkpointDueAt({ dirtySince: engine.dirty ? (dirtySince ??= Date.now()) : (dirtySince = undefined), lastCheckpoint, lastBusy });
  /** The checkpoint in flight (checkpointIfDue), if any. */
  let checkpointing: Promise<void> | undefined;
  try {
    for (;;) {
      if (fatal) throw fatal;
      if (deadlineSweep) {
        deadlineSweep = false;
        const due = overdue(engine.state.epics.values(), Date.now());
        if (due.length) await engine.process(due.map((epic_id) => ({ input: { type: "deadline" as const, epic_id } })));
        armDeadline(earliestDeadline(engine.state.epics.values()));
      }
      if (configTouched) {
        configTouched = false;
        await reloader.check();
        await armRunner();
      }
      if (mirrorTouched && !stopping) {
        mirrorTouched = false;
        try {
          // a read takes at most a chunk (8 MiB): while it records something, read on
          if ((await engine.readAgentLines()).length) mirrorTouched = true;
        } catch (e) {
          if (opts.once || !writeFailed(e)) throw e;
          log.error({ err: e }, `could not record agents' log entries; trying again in ${retryAfterMs} ms`);
          setTimeout(() => ((mirrorTouched = true), kick()), retryAfterMs).unref();
        }
      }
      if (scanRequested) {
        scanRequested = false;
        let strays = 0;
        for (const c of await scanCandidates(layout.root)) {
          if (known.get(c.rel) === c.sig || waiting.has(c.rel)) continue;
          if (c.stray && ++strays > STRAY_CAP) continue; // the next scan takes the next ones
          arrivals.saw(c.rel, "found", Date.now());
          scanned.set(c.rel, c.sig);
          pending.add(c.rel);
          obs?.seen(c.rel);
        }
        obs?.scanned();
      }
      if (pending.size > 0 && !stopping) {
        const batch = [...pending].slice(0, batchSize);
        for (const rel of batch) pending.delete(rel);
        await handleBatch(batch);
        // launches the batch asked for are decided before a checkpoint can pass their trigger entries
        // (checkpointIfDue also waits for the effects that ask for them)
        if (runner?.hasWork) await pump(runner);
        lastBusy = Date.now();
        await checkpointIfDue();
        continue;
      }
      if (runner?.hasWork && !stopping) {
        await pump(runner);
        lastBusy = Date.now();
        continue;
      }
      await checkpointIfDue();
      if (stopping) break;
      if (opts.once && pending.size === 0 && waiting.size === 0 && !mirrorTouched) break;
      await idle((w) => (wake = w), pending.size > 0 || stopping || scanRequested || configTouched || mirrorTouched || deadlineSweep || !!fatal || !!runner?.hasWork, checkpointing ? undefined : checkpointAt());
      wake = () => {};
    }
    await checkpointing;
    if (fatal) throw fatal;
    // the launches the last batches' effects ask for are decided before the last checkpoint passes
    // their entries (a trigger's is asked by nothing else: lost after it), as when a batch awaited its
    // own effects; stopCleanly then stops the agents so started, relaunched at the next start
    await settleEffects(true);
    return await stopCleanly(runner, engine, log);
  } finally {
    await checkpointing;
    if (rescanTimer) clearInterval(rescanTimer);
    configWatch?.close();
    mirrorWatch?.close();
    rulesWatch?.close();
    deadlines.clear();
    for (const t of waiting.values()) clearTimeout(t);
    await watcher?.close();
    // the effects of the last batches are written before the store (and its effect writer) closes
    if (opened) await engine.effectsSettled();
    await store.close();
    await lease.release();
  }

  /**
   * The checkpoint (and state.json) when checkpointDueAt says (loop.ts): at most once a second (each
   * is a full rewrite, so writing it per batch would make every drop pay for all epics), once the
   * daemon is quiet, or every 10 s while it never is. Recovery replays the log after it, so nothing
   * depends on it being fresh. It is started between batches (its snapshot of the view is taken at
   * once, while no append is in flight) and its fsyncs and writes run while the loop takes the next
   * batch: a drop that arrived meanwhile no longer waits behind them (issue 17.3; they made the
   * latency's tail). One at a time; a failure stops the daemon as before (through `fatal`).
   */
  async function checkpointIfDue(): Promise<void> {
    const at = checkpointAt();
    if (checkpointing || at === undefined || Date.now() < at) return;
    // the last batches' effects run beside the loop (overlapEffects): they are waited for, and the
    // launches they ask for decided, before a checkpoint passes the entries that asked for them
    await settleEffects(false);
    lastCheckpoint = Date.now();
    // what is committed from now on waits for the next one
    dirtySince = undefined;
    checkpointing = engine
      .checkpoint()
      .catch((e: unknown) => {
        // the log is the record; a checkpoint that cannot be written now (full disk) is written later
        if (opts.once || !writeFailed(e)) fatal ??= e instanceof Error ? e : new Error(String(e));
        else log.error({ err: e }, `could not write the checkpoint (${(e as Error).message}); trying again later`);
      })
      .finally(() => {
        checkpointing = undefined;
        lastCheckpoint = Date.now();
        kick();
      });
  }

  /**
   * Until nothing is left: the effects of every batch so far run (overlapEffects), and the launches
   * they ask for decided (the runner's pump), whose entries' effects are waited for in turn. A trigger's
   * launch is asked only by its entry's effect, re-run after a crash only while the entry is after the
   * checkpoint: no checkpoint may pass it undecided. With nothing left, the checkpoint that follows
   * takes its view at once (no batch of the loop runs meanwhile). `atStop`: the launches effects asked
   * for are decided while stopping too.
   */
  async function settleEffects(atStop: boolean): Promise<void> {
    for (;;) {
      await engine.effectsSettled();
      // while stopping only for the launches effects asked for (nothing else starts then)
      if (!runner?.hasWork || (stopping && !(atStop && launchAsked))) return;
      await pump(runner);
    }
  }

  /** The runner decides its inputs: the launches effects asked for so far among them. */
  function pump(r: Runner): Promise<void> {
    launchAsked = false;
    return r.pump();
  }

  /** Whether anything (a file, a link, a folder, a FIFO) is at `rel`; true when that cannot be told (prepare says why). */
  function somethingAt(rel: string): boolean {
    try {
      return lstatSync(join(layout.root, rel), { throwIfNoEntry: false }) !== undefined;
    } catch {
      return true;
    }
  }

  /** Where an epic's artifacts for a stage can be dropped: its own folder, and flat. */
  function dropPaths(epicId: string, stageId: string): string[] {
    // recovery replays rescan effects inside Engine.open, before `engine` is assigned: the rules it opened with
    const rules = opened ? engine.pipeline : pipeline;
    return stageDropPaths(rules, epicId, stageId);
  }

  /**
   * Before an agent's exit is judged: read what it dropped for its epic (it may not have been seen
   * yet). Its process is gone, so every file it wrote is closed: complete, also one written in place
   * and still settling.
   */
  async function rescanEpic(epicId: string): Promise<void> {
    const epic = engine.state.epics.get(epicId);
    if (!epic) return;
    const paths = dropPaths(epicId, epic.stage);
    for (const p of paths) {
      pending.delete(p);
      const t = waiting.get(p);
      if (t) (clearTimeout(t), waiting.delete(p));
      arrivals.closed(p);
    }
    await handleBatch(paths);
  }

  /**
   * Before a stage agent's exit is judged (Runner's ExitGate): its drops are read (rescanEpic), and
   * the messages still to be decided are returned, its exit waiting for them. A veto it sent to
   * another role's inbox may still be settling (linked into place while its temporary was still
   * there, or written in place) or not yet reported by the watcher: so the inboxes are listed for
   * messages written since the launch (sinceMs, ms since the epoch) and not decided as they are now;
   * each is read again at once (one that waited out its settle time may have lost its temporary since).
   * Not marked closed: another agent, still running, may be writing it. Messages older than the
   * launch never hold the exit.
   */
  async function answersOf(epicId: string, sinceMs: number): Promise<string[]> {
    await rescanEpic(epicId);
    const answers: string[] = [];
    // the inboxes only: a message is all that can hold the exit (not a walk of the whole root per exit)
    for (const c of await scanCandidates(layout.root, ["messages/inbox/*/*"])) {
      // only what was written while the agent ran: messages decided earlier, or another agent's older
      // ones still settling, do not hold this exit
      if (c.mtimeMs < sinceMs || classifyPath(c.rel).kind !== "message" || known.get(c.rel) === c.sig) continue;
      answers.push(c.rel);
      const t = waiting.get(c.rel);
      if (t) (clearTimeout(t), waiting.delete(c.rel));
      else if (!pending.has(c.rel)) {
        arrivals.saw(c.rel, "found", Date.now());
        scanned.set(c.rel, c.sig);
      }
      pending.add(c.rel);
    }
    if (answers.length) kick();
    return answers;
  }

  async function handleBatch(batch: string[]): Promise<void> {
    const now = Date.now();
    obs?.taken(batch);
    const ready: Array<{ rel: string; item: Prepared; request?: string; held?: Held }> = [];
    // Reading and hashing the files overlaps (their I/O); the decisions below stay in batch order.
    const gens = new Map(batch.map((rel) => [rel, arrivals.gen(rel)]));
    // the key file stat'ed once a batch: its proofs and the daemon's own keys (a rotation is seen by
    // the next batch, and by a claim the batch's keyring cannot prove: prepare.ts; a stat per file was
    // one more system call a drop: issue 17.2)
    const batchKeys = { keyring: await keyringOf(layout.root) };
    keyring = batchKeys.keyring ?? keyring;
    const prepared = await prepareAll(batch, (rel) => prepare(rel, { root: layout.root, realRoot, pipeline: engine.pipeline, world: engine.world, now, arrivals, keys: batchKeys }));
    await confirmReads(batch, prepared);
    for (const [i, rel] of batch.entries()) {
      const sig = scanned.get(rel);
      scanned.delete(rel);
      const p = prepared[i]!;
      if (p instanceof GuardedReadError) {
        // a FIFO, device, link or oversized file where a request goes: said once per signature, with the fix
        if (sig !== undefined) known.set(rel, sig);
        log.error({ file: rel, found: p.found, fix: p.fix }, p.message);
        continue;
      }
      if (p instanceof Error) {
        log.error({ err: p, file: rel }, "could not prepare input; will retry on the next scan");
        continue;
      }
      if (p.kind !== "wait" && sig !== undefined) known.set(rel, sig);
      if (p.kind !== "wait") arrivals.settled(rel, gens.get(rel)!);
      if (p.kind === "skip") {
        obs?.settled(rel);
        log.debug({ file: rel, why: p.why }, "skipped");
      } else if (p.kind === "wait") {
        log.debug({ file: rel, ms: p.ms, ...engine.epicFields(epicOfPath(rel)) }, p.why);
        waiting.set(rel, setTimeout(() => {
          waiting.delete(rel);
          enqueue(rel);
        }, p.ms));
      } else ready.push({ rel, item: p.item, ...(p.request ? { request: p.request } : {}), ...(p.held ? { held: p.held } : {}) });
    }
    if (!ready.length) return;
    let outcomes: Outcome[];
    try {
      outcomes = await engine.process(ready.map((r) => r.item));
    } catch (e) {
      if (opts.once || !writeFailed(e)) throw e;
      // nothing was committed (the store cut back what it wrote): the same files are decided again later
      log.error({ err: e, files: ready.map((r) => r.rel) }, `could not commit the batch (${(e as Error).message}); deciding it again in ${retryAfterMs} ms`);
      setTimeout(() => {
        for (const r of ready) enqueue(r.rel);
      }, retryAfterMs).unref();
      return;
    }
    await releaseClaims(layout.root, ready.map((r, i) => ({ input: r.item.input, outcome: outcomes[i]! })));
    await setAsideSquats(ready, outcomes);
    obs?.decided(ready.map((r, i) => ({ rel: r.rel, kind: r.item.input.type, outcome: outcomes[i]! })));
    // a request (an MCP tool call, a command) is answered once its effects are written: the agent told
    // "accepted" can read the archive copy and the notices at once (overlapEffects runs them later)
    if (ready.some((r) => r.request)) await engine.effectsSettled();
    await Promise.all(ready.map((r, i) => report(r.rel, r.request, outcomes[i]!)));
  }

  /**
   * Whether an input decided before would be refused if decided now (decide() is pure: nothing is
   * committed). A bug in decide() is logged and answers no: the file stays, the daemon runs on.
   */
  function refusedIfDecidedNow(input: Prepared["input"]): boolean {
    try {
      const d = decide(engine.world, input, new Date().toISOString());
      return d.kind === "commit" && d.drafts.some((x) => x.decision === "artifact_rejected");
    } catch (e) {
      log.error({ err: e, file: "file" in input ? input.file : undefined }, "decide failed while checking a squat put back");
      return false;
    }
  }

  /**
   * Whether a squat put back at `path` (a duplicate set aside again) is logged now: the first in a
   * minute is (returned: how many were set aside unlogged before it), the rest are counted (undefined).
   */
  function repeatedAside(path: string, now: number): number | undefined {
    const r = asideRepeats.get(path);
    if (r && now - r.since < 60_000) {
      r.quiet++;
      return undefined;
    }
    if (asideRepeats.size >= 10_000) for (const [k, v] of asideRepeats) if (now - v.since >= 60_000) asideRepeats.delete(k);
    asideRepeats.set(path, { since: now, quiet: 0 });
    return r?.quiet ?? 0;
  }

  /**
   * An artifact refused because its owner's role may not write that name no longer holds the name
   * (sticky zones: transports/files/set-aside.ts); a duplicate too (its owner may have put the refused
   * bytes back, which are never decided again). The move that follows a refusal is recorded.
   */
  async function setAsideSquats(ready: ReadonlyArray<{ rel: string; item: Prepared; held?: Held }>, outcomes: readonly Outcome[]): Promise<void> {
    const mayWrite = (role: string, name: string): boolean => engine.pipeline.permissions.write(role, name).ok;
    const refusedNow = new Set<string>();
    const squats = ready.flatMap((r, i) => {
      const o = outcomes[i]!;
      // a squat by its owner alone only when refused: now, or (bytes decided before, put back) as they would be now
      const byOwner = (refused: () => boolean): Squat | undefined => {
        const s = squatByOwner(r.rel, r.item.input, mayWrite);
        return s && refused() ? s : undefined;
      };
      const s =
        o.status === "committed"
          ? (squatIn(r.rel, o.entries) ?? byOwner(() => o.entries.some((e) => e.decision === "artifact_rejected")))
          : o.status === "duplicate"
            ? (squatAgain(r.rel, r.item.input, mayWrite) ?? byOwner(() => refusedIfDecidedNow(r.item.input)))
            : undefined;
      if (s && o.status === "committed") refusedNow.add(r.rel);
      // an entry whose bytes were not read (a folder, FIFO, link …) is moved by what lstat said of it
      return s ? [r.held ? { ...s, entry: r.held.entry, ...(r.held.found ? { found: r.held.found } : {}) } : s] : [];
    });
    const aside = await setAsideRefused(layout.root, squats);
    const setAside = aside.moved.flatMap((a) => {
      const what = a.found ? ` (${a.found}${a.found === "a folder" ? ", moved with its contents unread and untouched" : ", neither followed nor opened"})` : "";
      const reason = `refused artifact renamed aside: its owner ${a.owner} may not write that name, and in a sticky drop zone no other role could replace it${what}`;
      const fix = `Nothing to do for the role that may write ${a.from}: the name is free. ${a.owner} may delete ${a.to}${a.found === "a folder" ? " (`rm -r`)" : ""}.`;
      // recorded with the refusal it follows; the same bytes put back (a duplicate) only in the daemon's
      // log, so an agent looping them cannot grow the log of record, and there once a minute a path
      // (an agent's mkdir loop at plan.json was ~665 set-asides and 380 KB of this log a second)
      if (!refusedNow.has(a.from)) {
        const quiet = repeatedAside(a.from, Date.now());
        if (quiet !== undefined) log.warn({ file: a.from, moved_to: a.to, owner: a.owner, ...(a.found ? { found: a.found } : {}), ...(quiet ? { also_set_aside_unlogged: quiet } : {}), fix }, `${reason}; put back again (the same again within a minute is set aside unlogged, and counted here)`);
        return [];
      }
      log.warn({ file: a.from, moved_to: a.to, owner: a.owner, ...(a.found ? { found: a.found } : {}), fix }, reason);
      const epic = epicOfPath(a.from);
      return [{ decision: "artifact_set_aside", ...(epic && engine.state.epics.has(epic) ? { epic_id: epic } : {}), details: { file: a.from, moved_to: a.to, owner: a.owner, reason, fix } }];
    });
    // in the log of record too: a person reading `consensus log` or the report sees where the file went
    if (setAside.length) await engine.commitDrafts(setAside);
    // what a swap between the check and the rename made the daemon move, the name taken again before
    // it could be put back: may be the rightful role's drop, so never left at a dot-name unsaid
    for (const a of aside.stranded) {
      log.warn({ file: a.from, moved_to: a.to, owner_uid: a.uid, fix: `uid ${a.uid} may rename ${a.to} back to ${a.from} once the name is free (\`mv ${shellArg(a.to)} ${shellArg(a.from)}\`); if it is a squat, it is refused again.` }, `an entry swapped in at ${a.from} while the daemon set a squat aside was moved to ${a.to} and could not be put back: the name was taken again meanwhile`);
    }
    for (const a of aside.left) {
      log.warn({ file: a.from, folder: a.folder, folder_uid: a.uid, fix: `Give the folder to the daemon's user (\`chown ${process.geteuid?.() ?? 0} ${shellArg(join(layout.root, a.folder))}\` as root), then remove ${join(layout.root, a.from)} so the role that may write it can.` }, `refused artifact left in place: folder ${a.folder} is owned by uid ${a.uid}, not the daemon's user, who could swap it for a link while the daemon renames below it`);
    }
  }

  /**
   * A file taken as complete is confirmed after its read: once the event loop has gone round twice (any
   * inotify event queued before the read ended has then been delivered), no event may have come for
   * it and its size and mtime must be those read. Else the read raced a writer: the result is dropped
   * and the path, queued again by its event, is read anew (as written in place, so it settles).
   */
  async function confirmReads(batch: string[], prepared: Array<Awaited<ReturnType<typeof prepare>> | Error>): Promise<void> {
    const toConfirm = batch.flatMap((rel, i) => {
      const p = prepared[i]!;
      return !(p instanceof Error) && p.kind === "ready" && p.confirm ? [{ i, rel, stamp: p.confirm }] : [];
    });
    if (!toConfirm.length) return;
    await eventsDelivered();
    await Promise.all(
      toConfirm.map(async ({ i, rel, stamp }) => {
        if (unchangedSince(layout.root, rel, stamp, arrivals)) return;
        prepared[i] = { kind: "skip", why: "changed while it was read; read again" };
        pending.add(rel);
        kick();
      }),
    );
  }

  async function report(rel: string, request: string | undefined, o: Outcome): Promise<void> {
    if (o.status === "deferred") log.debug({ file: rel, reason: o.reason, ...engine.epicFields(epicOfPath(rel)) }, "deferred");
    if (!request) return;
    // a request sealed with the key but written by another OS user than it names: someone holds the key
    const notYours = o.status === "refused" ? o.decision.issues.find((i) => i.code === "REQUEST_NOT_YOURS") : undefined;
    if (notYours) log.warn({ file: rel, found: notYours.found, expected: notYours.expected }, `${notYours.message}: not acted on. ${notYours.fix ?? ""}`);
    const result =
      o.status === "refused"
        ? { ok: false, issues: o.decision.issues }
        : o.status === "committed"
          ? { ok: true, entries: o.entries.map((e) => ({ seq: e.seq, decision: e.decision, epic_id: e.epic_id })) }
          : { ok: true, duplicate: true };
    await writeResult(layout, request, result);
  }
}

/** A write that failed for lack of space or an I/O error (worth trying again), not a bug. */
function writeFailed(e: unknown): boolean {
  if (e instanceof ConsensusError) return e.issues.some((i) => i.code === "LOG_WRITE_FAILED");
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT" || code === "EIO";
}

/** The epic of a per-epic drop (artifacts/<EPIC>/<file>), for log fields. */
function epicOfPath(rel: string): string | undefined {
  const c = classifyPath(rel);
  return c.kind === "artifact" ? c.folder : undefined;
}
