/**
 * The engine: decide, commit, then act. It owns the replayed view and the store, takes a batch of
 * prepared inputs, decides each against the view plus the batch so far, makes the whole batch durable
 * with one append (one fsync), and only then runs the effects derived from the committed entries.
 * Used by the daemon and by commands that change state when no daemon runs.
 *
 * Other writers (a store several daemons share): their entries are folded into the view as they are
 * learnt (catchUp, or with an append), without running their effects (the writer that committed them
 * runs those). A commit refused as a Conflict folds the newer entries in and decides the same inputs
 * again, so no input is applied twice and no epic advanced twice.
 */
import { MAX_LINE_BYTES } from "../log/mirror-entries.js";
import { formatNoticeBody } from "./notice-body.js";
import type { Pipeline } from "../config/pipeline.js";
import { formatFound, issue } from "../errors/issue.js";
import { applyEntry, type View } from "../log/replay.js";
import { decide, slim, type Decision, type Draft, type Input } from "../machine/decide.js";
import { effectsOf, type AgentTrigger, type Effect, type LaunchWant, type NoticeDoc } from "../machine/effects.js";
import { strandedBy } from "../machine/reconfigure.js";
import { placeNotice, placeOf, type RootPlace } from "../machine/notice-paths.js";
import { BatchWorld } from "../machine/world.js";
import { parseDocument } from "../schemas/parse.js";
import { validateKind } from "../schemas/registry.js";
import type { Epic, LogEntry } from "../schemas/types.gen.js";
import { isConflict, type CommittedEntry, type EffectOptions, type Store, type Txn } from "../store/port.js";
import type { Logger } from "../daemon/logger.js";
import { summary } from "../log/summary.js";
import { inLanes } from "./lanes.js";
import { EPIC_ID } from "../config/names.js";
import { FloodGate } from "./flood-gate.js";
import type { Keyring } from "../trust/keyring.js";
import { sealNotice } from "../trust/notice-mac.js";
import { ensureKeyring } from "../trust/key-file.js";
import { join } from "node:path";

/**
 * Epics whose effects run at once: enough that a burst's writes reach the daemon's effect writer
 * thread in messages of many (16 made one round trip per 16 writes: a warm 2,000-drop burst had its
 * notices at 1,027–1,153/s, with 128 at 1,204–1,684/s), few enough to bound the files open at once
 * (an archive copy over 256 KiB is written in the pool, its file open meanwhile).
 */
const EFFECT_LANES = 128;
/**
 * Decisions of one batch made again after conflicts before giving up: each conflict means another
 * writer committed, so the system as a whole progresses; this bounds a starved writer.
 */
const MAX_ATTEMPTS = 100;

/** How often a failed effect is tried (once per due checkpoint, about a minute) before checkpoints go on without it. */
const MAX_EFFECT_TRIES = 60;

export interface Prepared {
  input: Input;
  /** The processed mark; undefined for commands that carry none. */
  key?: string;
  /** Other marks that make the input a duplicate when recorded (inputMarks). */
  also?: string[];
  /** Bytes of an artifact, stored as a blob before the commit so the archive copy is exact. */
  bytes?: Uint8Array;
}

export type Outcome =
  | { status: "duplicate" }
  /** seq: the view it was decided on (an entry committed since, the caller's own too, may change the answer). */
  | { status: "deferred"; reason: string; seq: number }
  | { status: "refused"; decision: Extract<Decision, { kind: "refuse" }> }
  | { status: "committed"; entries: CommittedEntry[] };

export interface EngineHooks {
  /** An epic entered a stage: its early files may now be read. */
  onRescan?(epicId: string, stage: string): void;
  /** Committed entries, in order (the demo and `log --follow` print these). */
  onEntries?(entries: CommittedEntry[]): void;
  /** Entries other writers committed, folded into the view (their effects are not ours to run). */
  onAbsorbed?(entries: CommittedEntry[]): void;
  /** A launch effect: the runner decides it (src/runner/). */
  onLaunch?(want: LaunchWant): void;
  /** Agent triggers from agents/*.md: entries matching them yield launch effects. */
  triggers?: readonly AgentTrigger[];
}

export class Engine {
  private batchWorld: BatchWorld;
  private sinceCheckpoint = 0;
  /** One author's flood is rate-limited in the log lines and notices, never in what is decided. */
  private readonly flood: FloodGate;

  private constructor(
    private current: Pipeline,
    readonly store: Store,
    private view: View,
    private readonly log: Logger,
    private readonly clock: () => Date,
    private readonly hooks: EngineHooks,
    private readonly place?: RootPlace,
    private readonly keys?: () => Keyring | undefined,
  ) {
    this.batchWorld = new BatchWorld(current, view);
    this.flood = new FloodGate(log);
  }

  /** The rules in force (they change when consensus.yaml does: see reconfigure). */
  get pipeline(): Pipeline {
    return this.current;
  }

  /** Recovers from the store, reports what recovery found, and re-runs effects not known to be done. */
  /** opts.root: the root's absolute path; notices then give each path from the agent's working folder and absolute (notice-paths.ts). */
  /**
   * opts.overlapEffects (the daemon's): a batch's effects run while the next batch is read, decided and
   * committed, instead of before it (see commitTxns); checkpoint() and effectsSettled() wait for them.
   */
  static async open(pipeline: Pipeline, store: Store, log: Logger, opts: { clock?: () => Date; hooks?: EngineHooks; root?: string; keys?: () => Keyring | undefined; overlapEffects?: boolean } = {}): Promise<Engine> {
    // only the replayed entries that have effects are kept for them (most have none: issue 17.4)
    const keep = (e: LogEntry): boolean => {
      try {
        return effectsOf(e, pipeline, opts.hooks?.triggers).length > 0;
      } catch {
        return true; // runEffects says what is wrong with it
      }
    };
    const rec = await store.recover({ keep });
    if (store.takenOver) {
      const h = store.takenOver;
      rec.findings.unshift({ decision: "lock_taken_over", details: { reason: store.takenOverReason ?? `the previous ${h.kind} (pid ${h.pid} on ${h.host}, since ${h.started_at}) died holding the lock`, previous: h, fix: "Nothing to do: its work is recovered from the log." } });
    }
    // notices carry the daemon's MAC whichever process writes them (a command deciding with no daemon too)
    let keys = opts.keys;
    if (!keys && opts.root !== undefined) {
      const ring = await ensureKeyring(join(opts.root, ".consensus")).then((r) => r.keyring, (e: unknown) => log.warn({ err: e }, "no daemon key: notices are written without a MAC"));
      keys = () => ring ?? undefined;
    }
    const engine = new Engine(pipeline, store, rec.view, log, opts.clock ?? (() => new Date()), opts.hooks ?? {}, opts.root !== undefined ? placeOf(opts.root) : undefined, keys);
    engine.overlapEffects = opts.overlapEffects === true;
    for (const f of rec.findings) log.warn({ decision: f.decision, ...f.details }, `recovery: ${String(f.details.reason)}`);
    if (rec.unapplied.length) {
      log.info({ entries: rec.unapplied.length, from_seq: rec.unapplied[0]!.seq }, "re-running effects of entries after the last checkpoint");
      await engine.runEffects(rec.unapplied, { replay: true });
    }
    if (rec.findings.length) await engine.commitDecided(() => rec.findings.map((f) => ({ drafts: [{ decision: f.decision, details: f.details }] })));
    // consensus.yaml changed while nothing ran: the same as a change seen live.
    if (rec.view.configVersion !== undefined && rec.view.configVersion !== pipeline.version) await engine.reconfigure(pipeline);
    // Not saved here: the replayed entries count as not yet checkpointed, and the caller's next
    // checkpoint saves them (the daemon's within a second, beside its work; a command's before it
    // exits). After a cold start that checkpoint digests every mark of the log (2 per line), which
    // kept a daemon from being ready for seconds (issue 17.4).
    engine.sinceCheckpoint += rec.replayed ?? rec.unapplied.length;
    return engine;
  }

  /**
   * Puts new rules in force: logs config_changed (from, to), then escalates every in-flight epic whose
   * stage or mode the new config no longer has. Decisions from here on use the new rules.
   */
  async reconfigure(next: Pipeline): Promise<CommittedEntry[]> {
    const prev = this.current.version;
    this.current = next;
    this.batchWorld = new BatchWorld(next, this.view);
    let stranded: ReturnType<typeof strandedBy> = [];
    // Another writer may put the same rules in force first: then there is nothing left to log.
    const entries = await this.commitDecided(() => {
      if (this.view.configVersion === next.version) return [];
      stranded = strandedBy(next, this.view.epics.values());
      const from = this.view.configVersion ?? prev;
      return [{ drafts: [{ decision: "config_changed", details: { from, to: next.version, stages: next.stages.map((s) => s.id), modes: Object.keys(next.modes), stranded: stranded.map((s) => s.epic_id) } }] }];
    });
    if (!stranded.length) return entries;
    const outcomes = await this.process(stranded.map((s) => ({ input: { type: "escalate" as const, epic_id: s.epic_id, reason: s.reason, detail: s.detail, by: "orchestrator", data: { config_version: next.version } } })));
    return [...entries, ...outcomes.flatMap((o) => (o.status === "committed" ? o.entries : []))];
  }

  /** What decide() sees: the view plus the batch in hand. */
  get world(): BatchWorld {
    return this.batchWorld;
  }

  get state(): View {
    return this.view;
  }

  processed(key: string): boolean {
    return this.batchWorld.processed(key);
  }

  /**
   * Judges what agents appended to the readable log since the last read (stores that have one):
   * each whole entry is checked (checkForeignLine; one written over several lines is rejected as a
   * whole, with the fix), accepted ones are recorded in the log of record as written, and lines that
   * claim to be the daemon's but are not its sealed lines are reported as forged. One transaction;
   * its last entry carries where the next read starts. Returns the entries committed.
   */
  async readAgentLines(): Promise<CommittedEntry[]> {
    const r = await this.store.readMirror?.();
    if (!r) return [];
    const judged: Array<{ line: number; draft?: Draft; accepted?: string }> = [];
    for (const f of r.forged) judged.push({ line: f.line, draft: forgedDraft(f.line, f.text, f.reason) });
    for (const o of r.oversized ?? []) judged.push({ line: o.line, draft: withAuthor(oversizedDraft(o), o.head) });
    for (const en of r.entries) {
      const rejected = en.multiline ? multilineDraft(en) : checkForeignLine(en.line, en.text)?.drafts[0];
      judged.push(rejected ? { line: en.line, draft: withAuthor(rejected, en.text) } : { line: en.line, accepted: en.text });
    }
    judged.sort((a, b) => a.line - b.line);
    const drafts = judged.flatMap((j) => (j.draft ? [j.draft] : []));
    const foreign = judged.flatMap((j) => (j.accepted !== undefined ? [j.accepted] : []));
    if (r.unusable) drafts.push({ decision: "log_mirror_unusable", details: { file: "current/decision_log.jsonl", reason: `current/decision_log.jsonl ${r.unusable}`, fix: "Remove it (`rm current/decision_log.jsonl`): the daemon starts a new readable copy with its next lines (`consensus log` shows them all). Agents append to that file; they never replace or link it." } });
    if (r.shrunk) drafts.push({ decision: "log_mirror_truncated", details: { file: "current/decision_log.jsonl", from_bytes: r.shrunk.from, to_bytes: r.shrunk.to, reason: "the readable log got shorter: someone cut it (the log of record is unchanged)", fix: "Never truncate current/decision_log.jsonl; it is refilled from .consensus/log.jsonl only for lines the daemon writes from now on." } });
    if (foreign.length) drafts.push({ decision: "agent_lines_recorded", details: { lines: ranges(judged.filter((j) => j.accepted !== undefined).map((j) => j.line)), count: foreign.length } });
    const last = drafts[drafts.length - 1]!;
    last.details = { ...last.details, mirror: r.cursor };
    return this.commitDecided(() => [{ drafts, ...(foreign.length ? { foreign } : {}) }]);
  }

  /**
   * Folds in what other writers committed since the view's seq (a store with one writer has none).
   * Returns how many entries were folded in.
   */
  async catchUp(): Promise<number> {
    const newer = (await this.store.since?.(this.view.seq)) ?? [];
    this.absorb(newer);
    return newer.length;
  }

  /** Decides and commits a batch; the outcomes are in input order. A conflict: decided again on the refreshed view. */
  async process(items: Prepared[]): Promise<Outcome[]> {
    for (let attempt = 1; ; attempt++) {
      const outcomes = await this.processOnce(items);
      if (outcomes) return outcomes;
      if (attempt >= MAX_ATTEMPTS) throw new Error(`gave up deciding a batch of ${items.length} after ${attempt} conflicts with other writers`);
      this.log.debug({ attempt, inputs: items.length }, "conflict with another writer: deciding the batch again");
    }
  }

  /** One attempt: undefined when another writer's commit conflicted (its entries are folded in by then). */
  private async processOnce(items: Prepared[]): Promise<Outcome[] | undefined> {
    // A batch decides from the view alone: what an earlier batch staged and then failed to commit
    // (a blob or the append threw) must not make its inputs look processed now.
    this.batchWorld.reset(this.view);
    const basis = this.view.seq;
    const now = this.clock().toISOString();
    const outcomes: Outcome[] = [];
    const txns: Txn[] = [];
    const owners: number[] = [];
    const blobs: Array<Promise<void>> = [];
    for (const item of items) {
      if (item.key !== undefined && (this.batchWorld.processed(item.key) || item.also?.some((k) => this.batchWorld.processed(k)))) {
        outcomes.push({ status: "duplicate" });
        continue;
      }
      let d: Decision;
      try {
        d = decide(this.world, item.input, now);
      } catch (e) {
        // A bug, not bad input: reject the input with the error so it is visible, and keep running.
        this.log.error({ err: e, input: describe(item.input), ...this.epicFields(epicOfInput(item.input)) }, "decide failed");
        const file = "file" in item.input ? item.input.file : undefined;
        d = { kind: "commit", drafts: [{ decision: "input_failed", details: { ...(file ? { file } : {}), errors: [slim(issue("INTERNAL", { message: `internal error: ${(e as Error).message}` }))] } }] };
      }
      if (d.kind === "defer") {
        outcomes.push({ status: "deferred", reason: d.reason, seq: basis });
        continue;
      }
      if (d.kind === "refuse") {
        outcomes.push({ status: "refused", decision: d });
        continue;
      }
      const txn: Txn = { drafts: d.drafts };
      if (d.epic) {
        txn.state = d.epic;
        if (sameEpic(this.batchWorld.epic(d.epic.epic_id), d.epic)) txn.same = true;
      }
      if (item.key !== undefined) txn.input = item.key;
      txns.push(txn);
      owners.push(outcomes.length);
      outcomes.push({ status: "committed", entries: [] });
      this.batchWorld.stage(d.epic, d.messageId, item.key);
      if (item.bytes && item.input.type === "artifact" && d.drafts.some((x) => x.decision === "artifact_accepted")) {
        blobs.push(this.store.putBlob(item.input.sha256, item.bytes));
      }
    }
    if (txns.length === 0) {
      this.batchWorld.reset(this.view);
      return outcomes;
    }
    await Promise.all(blobs);
    const entries = await this.commitTxns(txns);
    if (!entries) return undefined;
    // Hand each committed outcome its entries.
    let at = 0;
    txns.forEach((t, i) => {
      (outcomes[owners[i]!] as { entries: CommittedEntry[] }).entries = entries.slice(at, at + t.drafts.length);
      at += t.drafts.length;
    });
    return outcomes;
  }

  /** Commits decisions made outside decide() that do not depend on the view (config_rejected …), as one transaction. */
  async commitDrafts(drafts: Draft[], epic?: Epic): Promise<CommittedEntry[]> {
    return this.commitDecided(() => [{ drafts, ...(epic ? { state: epic } : {}) }]);
  }

  /**
   * Commits what `decideNow` decides from the view as it is (the runner's decisions), deciding again
   * after a conflict; returns the decision that was committed (or decided nothing to commit).
   */
  async decideAndCommit<T extends { drafts: Draft[]; epic?: Epic }>(decideNow: () => T): Promise<T> {
    let d!: T;
    await this.commitDecided(() => {
      d = decideNow();
      return d.drafts.length ? [{ drafts: d.drafts, ...(d.epic ? { state: d.epic } : {}) }] : [];
    });
    return d;
  }

  /** Commits the transactions `decideNow` returns, deciding again on the refreshed view after each conflict. */
  private async commitDecided(decideNow: () => Txn[]): Promise<CommittedEntry[]> {
    for (let attempt = 1; ; attempt++) {
      const txns = decideNow();
      if (!txns.length) return [];
      const entries = await this.commitTxns(txns);
      if (entries) return entries;
      if (attempt >= MAX_ATTEMPTS) throw new Error(`gave up committing ${txns[0]!.drafts[0]?.decision ?? "a decision"} after ${attempt} conflicts with other writers`);
    }
  }

  /** Folds other writers' entries into the view (no effects: they are their writer's to run). */
  private absorb(entries: CommittedEntry[]): void {
    if (!entries.length) return;
    for (const e of entries) applyEntry(this.view, e);
    this.batchWorld.reset(this.view);
    this.hooks.onAbsorbed?.(entries);
  }

  /** Our entries, committed and acted on; undefined after a conflict (the newer entries are folded in). */
  private async commitTxns(txns: Txn[]): Promise<CommittedEntry[] | undefined> {
    const now = this.clock().toISOString();
    let res;
    // the log may hold these entries before the view does (the store copies them to the readable log
    // before append() returns): no checkpoint takes the view meanwhile (see checkpoint)
    this.appending++;
    try {
      res = await this.store.append(txns, now, this.view.seq);
    } finally {
      this.appending--;
      // Whether or not the append held, the staged decisions are gone; the view is the truth.
      this.batchWorld.reset(this.view);
    }
    if (isConflict(res)) {
      this.log.debug({ epics: res.epics, newer: res.newer.length }, "another writer decided about the same epics first");
      this.absorb(res.newer);
      return undefined;
    }
    if (res.others) this.absorb(res.others);
    // Fields for the log line: a transaction's earlier entries happened at the stage before its last entry's state.
    const fields = res.entries.map((e) => {
      const f = logFields(e, this.epicOf(e.epic_id));
      applyEntry(this.view, e);
      return f;
    });
    this.batchWorld.reset(this.view);
    this.sinceCheckpoint += res.entries.length;
    const nowMs = this.clock().getTime();
    res.entries.forEach((e, i) => this.flood.admit(e, nowMs, this.current.security.floodPerMinute) && this.log.info(fields[i]!, summary(e)));
    this.hooks.onEntries?.(res.entries);
    // Effects in commit order, one batch's after the other's (an epic's archive copy before the notice
    // that lists it, whatever batch each came in). Chained here, in the same synchronous step as the
    // view took the entries, so a checkpoint that waits for `effects` covers every entry in its view.
    const before = this.effects;
    this.effectsPending++;
    const mine = before.then(() => this.runEffects(res.entries)).finally(() => this.effectsPending--);
    this.effects = mine.catch((err: unknown) => {
      // runEffects records each effect's own failure; this is a fault of its own (never expected)
      this.effectsBroken = err instanceof Error ? err : new Error(String(err));
      this.log.error({ err }, "running a batch's effects failed as a whole: no checkpoint is written until a restart re-runs them from the log");
    });
    // overlapped (the daemon): what waits is the previous batch's effects, so the effect writer works on
    // this batch's files while the loop reads, decides and commits the next; else this batch's own
    await (this.overlapEffects ? before : this.effects);
    const rejected = res.foreign.map((f) => checkForeignLine(f.line, f.text)).filter((t): t is Txn => t !== undefined);
    const more = rejected.length ? await this.commitDecided(() => rejected) : [];
    return [...res.entries, ...more];
  }

  /** An epic's effects in order; different epics' concurrently (EFFECT_LANES at a time). opts.replay: re-run by recovery. */
  async runEffects(entries: LogEntry[], opts: EffectOptions = {}): Promise<void> {
    // Most entries have no effect (an accepted info message): derive first, and queue only the
    // entries that have one (recovery re-runs every entry after the checkpoint: a promise and an
    // await per entry were 0.4 s of a 200,000-line cold start; issue 17.4)
    const work: Array<{ e: LogEntry; fxs: Effect[] }> = [];
    for (const e of entries) {
      const fxs = effectsOf(e, this.pipeline, this.hooks.triggers);
      if (fxs.length) work.push({ e, fxs });
    }
    await inLanes(work, (w) => w.e.epic_id ?? "", EFFECT_LANES, async ({ e, fxs }) => {
      for (const fx of fxs) {
        if (fx.type === "notice" && this.flood.isHeld(e)) continue;
        try {
          await this.runEffect(fx, opts);
        } catch (err) {
          // The decision is durable; the effect is not done: no checkpoint may claim it until it is
          // (checkpoint() retries it first; a restart re-derives it from the entries after the last checkpoint)
          this.failedEffects.push({ fx, e, tries: 1 });
          this.log.error({ err, effect: fx.type, ...logFields(e, this.epicOf(e.epic_id)) }, `effect ${fx.type} failed; it will be retried before the next checkpoint and on restart`);
        }
      }
    });
  }

  private async runEffect(fx: Effect, opts: EffectOptions): Promise<void> {
    switch (fx.type) {
      case "publish":
        return this.store.publish(fx.epic_id, fx.iteration, fx.file, fx.sha256, opts);
      case "notice": {
        const listed = await this.withReadList(fx.notice);
        const notice = this.place ? placeNotice(listed, this.place) : listed;
        // the same text as js-yaml's dump (notice-body.ts), written directly where it can be: ~8 µs, not ~50
        const body = formatNoticeBody(notice);
        // the daemon's MAC on the notice, with the recipient role's notice key (trust/notice-mac.ts)
        const key = this.keys?.()?.keysForFile().at(-1);
        return this.store.deliver({ role: fx.role, name: fx.name, body: key ? sealNotice(key, fx.role, body) : body }, opts);
      }
      case "rescan":
        this.hooks.onRescan?.(fx.epic_id, fx.stage);
        return;
      case "launch":
        this.hooks.onLaunch?.(fx.want);
        return;
      case "prune":
        return this.store.prune(fx.epic_id, fx.files);
    }
  }

  /** A stage notice lists the accepted artifacts of earlier stages (latest iteration of each) to read. */
  private async withReadList(n: NoticeDoc): Promise<NoticeDoc> {
    const stage = typeof n.content.stage === "string" ? this.pipeline.stage(n.content.stage) : undefined;
    if (!stage || !n.epic_id || typeof n.content.read !== "string") return n;
    const earlier = new Set(this.pipeline.stages.filter((s) => s.index < stage.index).flatMap((s) => s.artifacts));
    const latest = new Map<string, string>();
    for (const p of await this.store.published(n.epic_id)) if (earlier.has(p.file)) latest.set(p.file, p.path);
    return { ...n, content: { ...n.content, read: [...latest.values()] } };
  }

  /** Saves the checkpoint and state.json; cheap enough per batch at small scale, batched by the daemon. */
  async checkpoint(): Promise<void> {
    // every effect of the entries in the view has run (or failed, and is in failedEffects) before the
    // view is taken. The wait (and the retries below) may end while the daemon's next batch is being
    // appended (the store then holds entries the view does not: its checkpoint would refuse the view,
    // and stop the daemon) or once another batch committed: checked with no await before the store
    // takes the view, and then this checkpoint claims nothing; the next one, taken between batches, does
    await this.effectsSettled();
    if (this.effectsBroken || this.appending || this.effectsPending) return;
    // a checkpoint claims every effect up to its seq done: effects that failed are tried again first,
    // and while one still fails there is no checkpoint (a restart re-runs it from the last one)
    if (this.failedEffects.length) {
      // the retries await, and the daemon's next batch runs meanwhile (checkpoints run beside its loop):
      // a batch committed by then may still be running its effects, or fail one after this returns, so
      // this checkpoint claims nothing; the next one (its view taken between batches) does
      const seq = this.view.seq;
      if (!(await this.retryFailedEffects()) || this.view.seq !== seq || this.appending || this.effectsPending) return;
    }
    // entries committed while it is written (the daemon lets the next batch run) are not in it
    const covered = this.sinceCheckpoint;
    await this.store.checkpoint(this.view);
    this.sinceCheckpoint -= covered;
  }

  /** Effects that failed, tried again in order (each at most MAX_EFFECT_TRIES times); true when none is left failing. */
  private async retryFailedEffects(): Promise<boolean> {
    const failed = this.failedEffects.splice(0);
    for (const f of failed) {
      try {
        await this.runEffect(f.fx, { replay: true });
        this.log.info({ effect: f.fx.type, ...logFields(f.e, this.epicOf(f.e.epic_id)) }, `effect ${f.fx.type} done on a later try`);
      } catch (err) {
        // bounded: an agent that planted what blocks an effect must not stop every checkpoint for good
        if (++f.tries >= MAX_EFFECT_TRIES) {
          this.log.error({ err, effect: f.fx.type, tries: f.tries, ...logFields(f.e, this.epicOf(f.e.epic_id)) }, `effect ${f.fx.type} given up after ${f.tries} tries: checkpoints go on without it (the error says what blocks it and the fix)`);
          continue;
        }
        this.failedEffects.push(f);
        this.log.debug({ err, effect: f.fx.type, seq: f.e.seq }, "effect still failing; the checkpoint waits for it");
      }
    }
    return this.failedEffects.length === 0;
  }

  /** Resolves once the effects of every batch committed so far have run (the daemon, before it closes its store). */
  async effectsSettled(): Promise<void> {
    while (this.effectsPending) await this.effects;
  }

  /** The effects of every batch committed so far, in order; never rejects (see commitTxns). */
  private effects: Promise<void> = Promise.resolve();
  /** Batches whose effects have not finished running (chained on `effects`). */
  private effectsPending = 0;
  /** Set when a batch's effects failed as a whole (not one effect: those are in failedEffects): no more checkpoints. */
  private effectsBroken?: Error;
  /** Appends in flight (commitTxns): while one is, the store's log is ahead of the view. */
  private appending = 0;
  /** Whether a batch's effects overlap the next batch (Engine.open's overlapEffects). */
  private overlapEffects = false;

  /** Effects that failed (a folder planted where the notice goes, a link on the archive's way): retried before a checkpoint. */
  private failedEffects: Array<{ fx: Effect; e: LogEntry; tries: number }> = [];

  private epicOf(epicId: string | undefined): Epic | undefined {
    return epicId === undefined ? undefined : this.view.epics.get(epicId);
  }

  /** epic, stage and iteration for a log line about an epic (empty when it is not known). */
  epicFields(epicId: string | undefined): Record<string, unknown> {
    const ep = this.epicOf(epicId);
    return ep ? { epic: ep.epic_id, stage: ep.stage, iteration: ep.iteration } : epicId ? { epic: epicId } : {};
  }

  get dirty(): boolean {
    return this.sinceCheckpoint > 0;
  }
}

/** An agent's own log line: validated, never rewritten; a bad one is reported by an entry of ours. */
export function checkForeignLine(line: number, text: string): Txn | undefined {
  const parsed = parseDocument(new TextEncoder().encode(text), "json");
  let errors = parsed.issues.filter((i) => i.severity === "error");
  if (!errors.length) {
    errors = validateKind("log-entry", parsed.value);
    const v = parsed.value as { agent?: unknown };
    if (!errors.length && v.agent === "orchestrator") errors = [issue("LOG_LINE_INVALID", { message: "a line claims to be the orchestrator's but has no valid chain hash", path: "/agent", found: "orchestrator", fix: "Agents log under their own role name." })];
  }
  if (!errors.length) return undefined;
  return { drafts: [{ decision: "log_line_rejected", details: { line, found: formatFound(text, 200), errors: errors.map(slim) } }] };
}

/** Ascending line numbers as [first, last] runs: 2,3,4,7 → [[2,4],[7,7]]. */
function ranges(lines: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const n of lines) {
    const last = out[out.length - 1];
    if (last && n === last[1] + 1) last[1] = n;
    else out.push([n, n]);
  }
  return out;
}

/** A mirror line that claims to be the daemon's and is not one of its sealed lines. */
function forgedDraft(line: number, text: string, reason: string): Draft {
  return { decision: "log_line_forged", details: { file: "current/decision_log.jsonl", line, found: formatFound(text, 200), errors: [slim(issue("LOG_LINE_FORGED", { message: `line ${line} of current/decision_log.jsonl: ${reason}`, path: "/agent", found: "orchestrator" }))], fix: "Nothing was applied. Agents log under their own role name; the daemon's lines are in .consensus/log.jsonl (`consensus log`)." } };
}

/** A line longer than an entry may be: skipped unread (but for its first bytes), with the fix. */
function oversizedDraft(o: { line: number; bytes: number; head: string }): Draft {
  return { decision: "log_line_rejected", details: { line: o.line, found: formatFound(o.head, 200), errors: [slim(issue("LOG_LINE_INVALID", { message: `line ${o.line} of current/decision_log.jsonl is ${o.bytes} bytes, more than the ${MAX_LINE_BYTES} a log entry may have: it was skipped unread` }))], fix: "Log a short entry (its details a few fields); put long output in a file of its own and name that file in the entry." } };
}

/** An entry pretty-printed over several lines: rejected whole, with the fix. */
function multilineDraft(en: { line: number; lastLine: number; text: string }): Draft {
  return { decision: "log_line_rejected", details: { line: en.line, last_line: en.lastLine, found: formatFound(en.text.replace(/\s*\n\s*/g, " "), 200), errors: [slim(issue("LOG_ENTRY_MULTILINE", { message: `the entry on lines ${en.line}-${en.lastLine} of current/decision_log.jsonl is written over ${en.lastLine - en.line + 1} lines` }))], fix: "Write each entry on one line, e.g. `jq -c . entry.json >> current/decision_log.jsonl`." } };
}

/** Names the author (the entry's `agent`) and epic of a rejected entry where they read as such, so the author is told. */
function withAuthor(d: Draft, text: string): Draft {
  let v: { agent?: unknown; epic_id?: unknown } = {};
  try {
    const p = JSON.parse(text) as unknown;
    if (p && typeof p === "object" && !Array.isArray(p)) v = p as typeof v;
  } catch {
    const a = /"agent"\s*:\s*"([A-Za-z][A-Za-z0-9_-]{0,63})"/.exec(text);
    const e = /"epic_id"\s*:\s*"([A-Za-z][A-Za-z0-9_-]{0,63})"/.exec(text);
    v = { ...(a ? { agent: a[1] } : {}), ...(e ? { epic_id: e[1] } : {}) };
  }
  const author = typeof v.agent === "string" && EPIC_ID.test(v.agent) && v.agent !== "orchestrator" ? v.agent : undefined;
  const epic = typeof v.epic_id === "string" && EPIC_ID.test(v.epic_id) ? v.epic_id : undefined;
  return { ...d, ...(epic ? { epic_id: epic } : {}), details: { ...d.details, ...(author ? { author } : {}), fix: d.details.fix ?? "Write each entry as one JSON line of the log-entry shape (PROTOCOL §7), e.g. with `jq -c`." } };
}

/** "; warning: /iteration iteration was a string; read as the integer 2 (Write …)" for each warning of an entry. */
/**
 * Whether a decision left the epic as it was, as its JSON text (the same fields and values in the same
 * key order: what a replay folds and state.json holds, so equal here is equal everywhere; a mere
 * reordering counts as a change and is written). Its log line then leaves the state out (Txn.same).
 */
function sameEpic(before: Epic | undefined, after: Epic): boolean {
  return before !== undefined && sameJson(before, after);
}

/**
 * True only when JSON.stringify(a) === JSON.stringify(b), found without building either string: it
 * stops at the first difference (a plan's acceptance changes the epic's first keys), where two
 * stringify calls of the whole epic per decision were 4 % of the daemon's thread in a burst (issue
 * 17.2). Conservative: keys must come in the same order, and two different values that would print the
 * same (undefined and null in a list, a key holding undefined and no key, two Dates with toJSON,
 * NaN and null) count as a difference; false only costs a line that carries its state.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  // the same value stringifies the same (NaN is never === itself, and is left to the rules below)
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || !isPlainObject(a) || !isPlainObject(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || !sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

function isPlainObject(o: object): boolean {
  const proto = Object.getPrototypeOf(o) as unknown;
  return proto === Object.prototype || proto === null;
}


function describe(input: Input): string {
  return "file" in input ? input.file : `${input.type} ${input.epic_id}`;
}

/** A committed entry's log fields; `epic` is the epic's state before the entry (its stage when the entry has none). */
export function logFields(e: LogEntry, epic?: Epic): Record<string, unknown> {
  const out: Record<string, unknown> = { seq: e.seq, decision: e.decision };
  if (e.epic_id) out.epic = e.epic_id;
  const stage = e.state?.stage ?? epic?.stage;
  if (stage) out.stage = stage;
  const iteration = e.iteration ?? epic?.iteration;
  if (iteration) out.iteration = iteration;
  return out;
}

function epicOfInput(input: Input): string | undefined {
  if (input.type === "artifact") return input.folder ?? ((input.doc as { epic_id?: unknown } | undefined)?.epic_id as string | undefined);
  if (input.type === "message") return input.doc?.epic_id;
  if (input.type === "stray") return input.says.epic_id;
  if (input.type === "request_refused") return undefined;
  return input.epic_id;
}

/** One readable line per decision: moved to the pure log room (report/ uses it too). */
export { summary } from "../log/summary.js";
