/**
 * The PostgreSQL store: the log of record, epic state, processed marks, blobs, notices and published
 * artifacts in one database, shared by any number of daemons (migrations/pg/1_schema.sql).
 *
 * One append is one transaction: it locks the chain's head row, so entries get their seq and hash in
 * commit order (one global chain: an exported log verifies like a file-store log), refuses the commit
 * as a Conflict when entries after the caller's basis touched the same epics, inputs or message ids
 * (fence.ts), and writes the entries, the epics' state rows (with each epic's sequence, UNIQUE
 * (epic_id, epic_seq) as the backstop), the marks, the new head and a NOTIFY together.
 *
 * Effects (notices, publish) are rows written after the commit; a writer marks its entries'
 * effects done at its checkpoint. A writer that stops heartbeating is dead: its entries whose effects
 * are not done are claimed and re-run by the next writer to recover or sweep (orphans()).
 */
import { createHash, randomUUID } from "node:crypto";
import type postgres from "postgres";
import { hostname } from "node:os";
import { ConsensusError, issue } from "../../errors/issue.js";
import { chainHash, unsealLine } from "../../log/chain.js";
import { lockStaleMs } from "../fs/fs-store.js";
import { applyEntry, emptyView, type View } from "../../log/replay.js";
import { agentViewFromJson, agentViewToJson, type AgentViewJson } from "../../log/agent-jobs.js";
import type { Epic, LogEntry } from "../../schemas/types.gen.js";
import type { AppendResult, CommittedEntry, Conflict, EffectOptions, Holder, Lease, LogLine, Notice, ReadFrom, Recovery, Store, Txn } from "../port.js";
import { afterSeqOf } from "../read-from.js";
import { sealTxns } from "../seal.js";
import { connect, isDriverTypeLookupFault, isDriverWriteFault, migrate, migrateIfBehind, pgTarget, redact, unreachable, type PgTarget, type Sql } from "./connect.js";
import { clashes, epicKeyOf, touchedBy } from "./fence.js";
import { Coalescer } from "./coalesce.js";
import { isDerivedFileOf } from "../../machine/effects.js";

export interface PgStoreOptions {
  /** Commands that only read: no migrations, no writes. */
  readOnly?: boolean;
  /** "check" (commands): migrate only when the schema is behind; default (daemons, migrate): always, refusing edited migrations. */
  migrations?: "always" | "check";
  /** Recover only the epics (status): from the epics table, no marks, no fold. */
  epicsOnly?: boolean;
  /** A writer whose heartbeat is older than this is dead (CONSENSUS_LOCK_STALE_MS, default 10 s). */
  staleMs?: number;
  /** Entries between two snapshots of the view (recovery folds at most this many). */
  snapshotEvery?: number;
  /** Connections in the pool. */
  max?: number;
}

interface SnapshotJson {
  hash: string;
  epics: Record<string, Epic>;
  config_version?: string;
  agents: AgentViewJson;
}

/** An entry's line number, kept to count on from: its seq, its row as it was (rowMark), its line. */
interface LineMark {
  seq: number;
  row: string;
  line: number;
}

/** What a line mark checks its row by: `<hash>:<md5 of its agents' lines>` (as the count's SQL makes it: md5 of '' when none). */
function rowMark(hash: string, foreign: string | null): string {
  return `${hash}:${createHash("md5").update(foreign ?? "", "utf8").digest("hex")}`;
}

/** How many line marks a PostgreSQL store keeps (PgStore.lineAt): as many waits on one store count on each from its own. */
const LINE_MARKS = 8;

/** Thrown inside the append transaction to roll it back; turned into a Conflict outside. */
class ConflictSignal {
  constructor(readonly conflict: Conflict) {}
}

export const CHANNEL_LOG = "consensus_log";
export const CHANNEL_INPUTS = "consensus_inputs";
export const CHANNEL_EFFECTS = "consensus_effects";

export class PgStore implements Store {
  /** Set by lease(): this writer's id (entries it commits, inputs it claims). */
  writerId?: string;
  private heartbeat?: NodeJS.Timeout;
  private lastSnapshot = 0;
  /** An effect failed since the last checkpoint: this writer's pending entries go back to the orphan sweep instead of being marked done. */
  private effectFailed = false;
  /** Blobs put since the last append: written in its transaction. */
  private readonly pendingBlobs = new Map<string, Buffer>();
  readonly staleMs: number;

  private client: Sql;
  /** Called after the client was replaced (a driver fault): LISTENs made on the old one are gone. */
  onClientReplaced?: () => void;

  private constructor(
    sql: Sql,
    readonly target: PgTarget,
    private readonly opts: PgStoreOptions,
  ) {
    this.client = sql;
    this.staleMs = opts.staleMs ?? lockStaleMs();
    guardDriverFaults(this);
  }

  /** The client; replaced after a driver fault, so read it at each use. */
  get sql(): Sql {
    return this.client;
  }

  /** A fresh client for a poisoned one (isDriverWriteFault); the old one is ended without waiting. */
  replaceClient(): void {
    const old = this.client;
    this.client = connect(this.target, { max: this.opts.max ?? 4 });
    void old.end({ timeout: 0 }).catch(() => {});
    this.onClientReplaced?.();
  }

  /** Connects, and (unless read-only) brings the schema up to date under the migrations' lock. */
  static async open(url: string, opts: PgStoreOptions = {}): Promise<PgStore> {
    const target = pgTarget(url);
    if (!opts.readOnly && opts.migrations !== "check") await migrate(target);
    const sql = connect(target, { max: opts.max ?? 4 });
    if (!opts.readOnly && opts.migrations === "check") {
      try {
        await migrateIfBehind(target, sql);
      } catch (e) {
        await sql.end({ timeout: 1 }).catch(() => {});
        throw e;
      }
    }
    const store = new PgStore(sql, target, opts);
    try {
      await sql`SELECT seq FROM head`;
    } catch (e) {
      await sql.end({ timeout: 1 }).catch(() => {});
      if ((e as { code?: string }).code === "42P01") throw new ConsensusError(issue("NOT_FOUND", { message: `no consensus store in ${redact(target.url)} (schema ${target.schema})`, fix: `Start a daemon with --store (it creates the schema), or move a folder in: consensus migrate --from-folder DIR --store URL.` }));
      throw unreachable(target, e);
    }
    return store;
  }

  get description(): string {
    return `${redact(this.target.url)} (schema ${this.target.schema})`;
  }

  async recover(): Promise<Recovery> {
    const findings: Recovery["findings"] = [];
    if (this.opts.epicsOnly) {
      const [head] = await this.sql`SELECT seq::float8 AS seq, hash FROM head`;
      const view = emptyView();
      view.seq = Number(head!.seq);
      view.hash = String(head!.hash);
      for (const r of await this.sql`SELECT state FROM epics WHERE epic_id <> '' AND state IS NOT NULL`) view.epics.set((r.state as Epic).epic_id, r.state as Epic);
      return { view, unapplied: [], findings };
    }
    let view = emptyView();
    await this.sql.begin("isolation level repeatable read read only", async (tx) => {
      const [snap] = await tx`SELECT seq::float8 AS seq, view FROM snapshots ORDER BY seq DESC LIMIT 1`;
      if (snap) {
        const j = snap.view as SnapshotJson;
        view = { seq: Number(snap.seq), hash: j.hash, epics: new Map(Object.entries(j.epics)), processed: new Set(), messageIds: new Set(), agents: agentViewFromJson(j.agents), ...(j.config_version ? { configVersion: j.config_version } : {}) };
        this.lastSnapshot = view.seq;
      }
      for (const r of await tx`SELECT kind, mark FROM marks WHERE seq <= ${view.seq}`) (r.kind === "p" ? view.processed : view.messageIds).add(String(r.mark));
      let broken = false;
      await tx`SELECT line, foreign_text FROM entries WHERE seq > ${view.seq} ORDER BY seq`.cursor(2000, (rows) => {
        for (const r of rows) {
          const line = String(r.line);
          const e = JSON.parse(line) as CommittedEntry;
          const sealed = unsealLine(line);
          if (!broken && (e.seq !== view.seq + 1 || !sealed || chainHash(view.hash, r.foreign_text === null ? "" : String(r.foreign_text), sealed.body) !== sealed.hash)) {
            broken = true;
            findings.push({ decision: "log_chain_broken", details: { seq: e.seq, reason: e.seq !== view.seq + 1 ? `seq ${e.seq} where ${view.seq + 1} was due` : "hash does not match", fix: "Run `consensus log export` and `consensus log verify` on the file; restore the database from a backup (pg_dump) if rows were edited." } });
          }
          applyEntry(view, e);
        }
      });
    });
    const unapplied = this.writerId ? await this.orphans(view.seq, findings) : [];
    return { view, unapplied, findings };
  }

  /**
   * Claims the entries of dead writers (and of this one's previous life) whose effects never ran,
   * up to seq: returned for the caller to re-run (notices and publish are idempotent; a launch is
   * decided again against the log). A finding per dead writer names it.
   */
  async orphans(upTo = Number.MAX_SAFE_INTEGER, findings?: Recovery["findings"]): Promise<CommittedEntry[]> {
    if (!this.writerId) return [];
    const rows = await this.sql`
      WITH dead AS (
        SELECT e.seq, e.writer FROM entries e
        WHERE NOT e.effects_done AND e.seq <= ${upTo} AND e.writer IS DISTINCT FROM ${this.writerId}
          AND NOT EXISTS (SELECT 1 FROM writers w WHERE w.id = e.writer AND w.heartbeat_at > now() - make_interval(secs => w.stale_ms / 1000.0))
        ORDER BY e.seq FOR UPDATE OF e SKIP LOCKED
      ), claimed AS (
        UPDATE entries SET writer = ${this.writerId} FROM dead WHERE entries.seq = dead.seq RETURNING entries.seq, entries.line, dead.writer AS was
      )
      SELECT c.line, c.was, w.host, w.pid, w.kind, w.started_at FROM claimed c LEFT JOIN writers w ON w.id = c.was ORDER BY c.seq`;
    if (!rows.length) return [];
    const was = new Map<string, { host?: string; pid?: number; kind?: string; started_at?: Date; n: number }>();
    for (const r of rows) {
      const k = String(r.was ?? "unknown");
      const w = was.get(k) ?? { ...(r.host ? { host: String(r.host), pid: Number(r.pid), kind: String(r.kind), started_at: r.started_at as Date } : {}), n: 0 };
      w.n++;
      was.set(k, w);
    }
    for (const [id, w] of was) {
      findings?.push({ decision: "writer_taken_over", details: { writer: id, ...(w.host ? { previous: { kind: w.kind, pid: w.pid, host: w.host, started_at: w.started_at?.toISOString() } } : {}), entries: w.n, reason: `${w.host ? `the ${w.kind} (pid ${w.pid} on ${w.host})` : "a writer"} stopped with ${w.n} decision(s) whose effects had not run`, fix: "Nothing to do: their notices and publications are re-run here, and launches decided again." } });
    }
    const dead = [...was.keys()].filter((k) => k !== "unknown");
    if (dead.length) await this.sql`DELETE FROM writers WHERE id = ANY(${dead}::uuid[]) AND heartbeat_at < now() - make_interval(secs => stale_ms / 1000.0)`;
    return rows.map((r) => JSON.parse(String(r.line)) as CommittedEntry);
  }

  async append(txns: Txn[], timestamp: string, basis: number): Promise<AppendResult | Conflict> {
    if (this.opts.readOnly) throw new Error("store opened read-only");
    const draftEntries = txns.flatMap((t) => t.drafts.map((d, i) => ({ epic_id: d.epic_id, ...(i === t.drafts.length - 1 && t.state ? { state: t.state } : {}), ...(i === t.drafts.length - 1 && t.input ? { input: t.input } : {}), decision: d.decision, details: d.details }) as LogEntry));
    const ours = touchedBy(draftEntries);
    const epicIds = [...ours.epics];
    /** Entries after basis this writer committed without learning it: released after the transaction, whatever its outcome. */
    let mine: number[] = [];
    try {
      return await this.sql.begin(async (tx) => {
        const [h] = await tx`
          SELECT seq::float8 AS seq, hash,
            (SELECT coalesce(jsonb_object_agg(epic_id, epic_seq), '{}') FROM epics WHERE epic_id = ANY(${epicIds})) AS epic_seqs
          FROM head FOR UPDATE`;
        const at = Number(h!.seq);
        if (at < basis) throw new Error(`the store's log ends at seq ${at}, before the caller's basis ${basis}`);
        let others: CommittedEntry[] = [];
        if (at > basis) {
          ({ entries: others, mine } = await this.newer(tx, basis));
          const clash = clashes(ours, touchedBy(others));
          if (clash.length) throw new ConflictSignal({ conflict: true, epics: clash, newer: others });
        }
        const sealed = sealTxns(txns, { seq: at, head: String(h!.hash), timestamp });
        const blobs = [...this.pendingBlobs];
        if (blobs.length) await tx`INSERT INTO blobs (sha256, bytes) SELECT k, decode(h, 'hex') FROM unnest(${blobs.map(([k]) => k)}::text[], ${blobs.map(([, b]) => b.toString("hex"))}::text[]) AS u(k, h) ON CONFLICT DO NOTHING`;
        const epicSeq = new Map(Object.entries(h!.epic_seqs as Record<string, number>).map(([k, v]) => [k, Number(v)]));
        const states = new Map<string, { epic_seq: number; last_seq: number; state: Epic | null }>();
        const rows = sealed.entries.map((e, i) => {
          const key = epicKeyOf(e);
          const n = (epicSeq.get(key) ?? 0) + 1;
          epicSeq.set(key, n);
          states.set(key, { epic_seq: n, last_seq: e.seq, state: e.state ?? states.get(key)?.state ?? null });
          return { seq: e.seq, epic_id: key, epic_seq: n, decision: e.decision, input: e.input ?? null, line: sealed.lines[i], hash: e.hash, writer: this.writerId ?? null };
        });
        const marks = sealed.entries.flatMap((e) => [...(e.input ? [{ kind: "p", mark: e.input, seq: e.seq }] : []), ...[...touchedBy([e]).messageIds].map((m) => ({ kind: "m", mark: m, seq: e.seq }))]);
        const epicRows = [...states].map(([epic_id, s]) => ({ epic_id, ...s }));
        await tx`
          WITH e AS (
            INSERT INTO entries (seq, epic_id, epic_seq, decision, input, line, hash, writer)
            SELECT * FROM jsonb_to_recordset(${tx.json(rows as never)}) AS x(seq int8, epic_id text, epic_seq int8, decision text, input text, line text, hash text, writer uuid)
          ), s AS (
            INSERT INTO epics (epic_id, epic_seq, last_seq, state)
            SELECT * FROM jsonb_to_recordset(${tx.json(epicRows as never)}) AS x(epic_id text, epic_seq int8, last_seq int8, state jsonb)
            ON CONFLICT (epic_id) DO UPDATE SET epic_seq = excluded.epic_seq, last_seq = excluded.last_seq, state = coalesce(excluded.state, epics.state), updated_at = now()
          ), m AS (
            INSERT INTO marks (kind, mark, seq) SELECT * FROM jsonb_to_recordset(${tx.json(marks as never)}) AS x(kind text, mark text, seq int8)
          )
          UPDATE head SET seq = ${sealed.seq}, hash = ${sealed.head} RETURNING pg_notify(${CHANNEL_LOG}, ${String(sealed.seq)})`;
        return { entries: sealed.entries, foreign: [], ...(others.length ? { others } : {}), blobs };
      }).then(({ blobs, ...r }) => {
        for (const [k] of blobs) this.pendingBlobs.delete(k);
        return r;
      });
    } catch (e) {
      if (e instanceof ConflictSignal) return e.conflict;
      // UNIQUE (epic_id, epic_seq) or a mark: only another writer can have taken them; read again.
      if ((e as { code?: string }).code === "23505") return { conflict: true, epics: epicIds, newer: await this.since(basis) };
      throw e;
    } finally {
      if (mine.length) await this.release(mine);
    }
  }

  async since(seq: number): Promise<CommittedEntry[]> {
    const { entries, mine } = await this.newer(this.sql, seq);
    if (mine.length) await this.release(mine);
    return entries;
  }

  /**
   * Entries after seq. Any of them this writer committed without learning it (the connection died
   * during COMMIT, so append failed but the transaction held) are released to the orphan sweep:
   * their effects have not run here, and orphans() re-runs them.
   */
  private async newer(sql: Sql | postgres.TransactionSql, seq: number): Promise<{ entries: CommittedEntry[]; mine: number[] }> {
    const rows = await sql`SELECT line, writer = ${this.writerId ?? null} AND NOT effects_done AS mine, seq::float8 AS seq FROM entries WHERE seq > ${seq} ORDER BY seq`;
    return { entries: rows.map((r) => JSON.parse(String(r.line)) as CommittedEntry), mine: rows.filter((r) => r.mine === true).map((r) => Number(r.seq)) };
  }

  /**
   * Hands back to the orphan sweep every entry this writer holds whose effects have not run: after a
   * recovery that failed part way (it may have claimed dead writers' entries, or committed findings),
   * so the next attempt claims and re-runs them instead of taking them for its own, already run.
   */
  async releaseClaims(): Promise<void> {
    if (this.writerId) await this.sql`UPDATE entries SET writer = NULL WHERE writer = ${this.writerId} AND NOT effects_done`;
  }

  /** Hands entries to the orphan sweep (their effects never ran here). */
  private async release(seqs: number[]): Promise<void> {
    await this.sql`UPDATE entries SET writer = NULL WHERE seq = ANY(${seqs}) AND NOT effects_done`;
  }

  /**
   * The log as the file store would hold it: agents' lines moved in from a folder come before the entry
   * they were chained into. With `from`, the entries after that seq (and the agents' lines chained into
   * them): `WHERE seq > afterSeq`, so a wait on the log reads what is new. Rows commit in seq order (an
   * append holds the head row), so none appears later below a seq already read.
   */
  async *readEntries(from?: ReadFrom): AsyncIterable<LogLine> {
    const after = afterSeqOf(from);
    let line = after > 0 ? await this.linesUpTo(after) : 0;
    /** The last entry given out, with its line number (kept even when the caller stops early). */
    let last: { seq: number; hash: string; foreign: string | null; line: number } | undefined;
    try {
      for await (const rows of this.sql`SELECT seq::float8 AS seq, hash, line, foreign_text FROM entries WHERE seq > ${after} ORDER BY seq`.cursor(1000)) {
        for (const r of rows) {
          if (r.foreign_text !== null) for (const text of String(r.foreign_text).split("\n").slice(0, -1)) yield { line: ++line, raw: text };
          const raw = String(r.line);
          last = { seq: Number(r.seq), hash: String(r.hash), foreign: r.foreign_text === null ? null : String(r.foreign_text), line: ++line };
          yield { line, raw, entry: JSON.parse(raw) as LogEntry };
        }
      }
    } finally {
      if (last) this.noteLineAt({ seq: last.seq, row: rowMark(last.hash, last.foreign), line: last.line });
    }
  }

  /**
   * Line numbers of entries the latest reads stopped at, by seq and row (rowMark: its hash and its
   * agents' lines; at most LINE_MARKS, one per seq, oldest first): a read after a later seq counts on
   * from the greatest of them at or below it, so waits that read after different seqs (several on one
   * store) each count only what is new to them.
   */
  private lineAt: LineMark[] = [];

  /** Rows the line counts of readEntries after a seq went over, in all (what a wait costs: a measure, nothing depends on it). */
  rowsCounted = 0;

  private noteLineAt(m: LineMark): void {
    this.lineAt = [...this.lineAt.filter((x) => x.seq !== m.seq), m].slice(-LINE_MARKS);
  }

  /**
   * How many lines the log has up to and including the entry of `seq` (entries and the agents' lines
   * before them): counted on from a mark of an earlier read when that entry is still there as it was,
   * hash and agents' lines (one indexed range), else from the start (the database was restored, the
   * row rewritten, or no read was made yet). Consensus never rewrites a row's line or agents' lines; a
   * rewrite of a row below the mark by hand is not seen (the database is trusted: no MAC is checked
   * here either).
   */
  private async linesUpTo(seq: number): Promise<number> {
    const m = this.lineAt.reduce<LineMark | undefined>((best, x) => (x.seq <= seq && (!best || x.seq > best.seq) ? x : best), undefined);
    const count = async (above: number): Promise<{ n: number; above?: string; at?: string }> => {
      const [r] = await this.sql`
        SELECT count(*)::float8 AS rows, count(*)::float8 + coalesce(sum(length(foreign_text) - length(replace(foreign_text, E'\n', ''))), 0)::float8 AS n,
          (SELECT hash || ':' || md5(coalesce(foreign_text, '')) FROM entries WHERE seq = ${above}) AS above,
          (SELECT hash || ':' || md5(coalesce(foreign_text, '')) FROM entries WHERE seq = ${seq}) AS at
        FROM entries WHERE seq > ${above} AND seq <= ${seq}`;
      this.rowsCounted += Number(r!.rows);
      return { n: Number(r!.n), ...(r!.above !== null ? { above: String(r!.above) } : {}), ...(r!.at !== null ? { at: String(r!.at) } : {}) };
    };
    let c = m ? await count(m.seq) : undefined;
    if (m && c && c.above !== m.row) this.lineAt = this.lineAt.filter((x) => x.seq < m.seq);
    const n = c && m && c.above === m.row ? m.line + c.n : (c = await count(0)).n;
    // the next read after this seq (a wait reading again) counts on from here, found or not
    if (c.at !== undefined) this.noteLineAt({ seq, row: c.at, line: n });
    return n;
  }

  /**
   * Held until the next append, which writes it in the same transaction as the entry that names it:
   * durable no later than that entry, at no extra round trip. (A blob of a batch that ends up not
   * committed is written with a later append: it is content-addressed, so that is harmless.)
   */
  async putBlob(sha256: string, bytes: Uint8Array): Promise<void> {
    this.pendingBlobs.set(sha256, Buffer.from(bytes));
  }

  async getBlob(sha256: string): Promise<Uint8Array | undefined> {
    const held = this.pendingBlobs.get(sha256);
    if (held) return held;
    const [r] = await this.sql`SELECT bytes FROM blobs WHERE sha256 = ${sha256}`;
    return r ? (r.bytes as Uint8Array) : undefined;
  }

  async publish(epicId: string, iteration: number, file: string, sha256: string): Promise<void> {
    await this.effect(this.publishes.add({ epic_id: epicId, iteration, file, sha256 }));
  }

  private readonly publishes = new Coalescer<{ epic_id: string; iteration: number; file: string; sha256: string }>(async (rows) => {
    await this.sql`
      WITH p AS (
        INSERT INTO published (epic_id, iteration, file, sha256)
        SELECT * FROM jsonb_to_recordset(${this.sql.json(rows as never)}) AS x(epic_id text, iteration int, file text, sha256 text)
        ON CONFLICT (epic_id, iteration, file) DO UPDATE SET sha256 = excluded.sha256, id = nextval(pg_get_serial_sequence('published', 'id')), published_at = now()
        WHERE published.sha256 <> excluded.sha256
        RETURNING id
      )
      SELECT pg_notify(${CHANNEL_EFFECTS}, 'published') FROM (SELECT 1 FROM p LIMIT 1) AS one`;
  });

  private readonly deliveries = new Coalescer<Notice>(async (rows) => {
    await this.sql`
      WITH n AS (
        INSERT INTO notices (role, name, body) SELECT * FROM jsonb_to_recordset(${this.sql.json(rows as never)}) AS x(role text, name text, body text)
        ON CONFLICT DO NOTHING RETURNING id
      )
      SELECT pg_notify(${CHANNEL_EFFECTS}, 'notice') FROM (SELECT 1 FROM n LIMIT 1) AS one`;
  });

  private async effect<T>(q: PromiseLike<T>): Promise<T> {
    try {
      return await q;
    } catch (e) {
      this.effectFailed = true;
      throw e;
    }
  }

  async published(epicId: string): Promise<Array<{ iteration: number; file: string; path: string }>> {
    const rows = await this.sql`SELECT iteration, file FROM published WHERE epic_id = ${epicId} ORDER BY iteration, file`;
    return rows.map((r) => ({ iteration: Number(r.iteration), file: String(r.file), path: `archive/${epicId}/${Number(r.iteration)}/${String(r.file)}` }));
  }

  /** A notice's name is deterministic: delivering it again (live or on replay) leaves the row as it is. */
  /**
   * `consensus prune` on a database: the epic's notices (messages/inbox/<role>/<name>) are rows, removed
   * here. Agents' output files live on the host that ran them (each daemon's root) and are not touched;
   * a bridged folder keeps the copies it already wrote.
   */
  async prune(epicId: string, files: readonly string[]): Promise<void> {
    const rows = files.filter((f) => isDerivedFileOf(epicId, f) && f.startsWith("messages/inbox/")).map((f) => f.split("/")).filter((p) => p.length === 4).map((p) => ({ role: p[2]!, name: p[3]! }));
    if (!rows.length) return;
    await this.sql`DELETE FROM notices n USING jsonb_to_recordset(${this.sql.json(rows as never)}) AS x(role text, name text) WHERE n.role = x.role AND n.name = x.name`;
  }

  async deliver(notice: Notice, _opts: EffectOptions = {}): Promise<void> {
    await this.effect(this.deliveries.add({ role: notice.role, name: notice.name, body: notice.body }));
  }

  /**
   * Every effect of this writer's entries up to view.seq has run (they are rows, durable when written):
   * marks them done, and now and then saves a snapshot of the view for recovery to start from.
   */
  async checkpoint(view: View): Promise<void> {
    if (this.writerId && this.effectFailed) {
      this.effectFailed = false;
      await this.sql`UPDATE entries SET writer = NULL WHERE writer = ${this.writerId} AND NOT effects_done AND seq <= ${view.seq}`;
    } else if (this.writerId) await this.sql`UPDATE entries SET effects_done = true WHERE writer = ${this.writerId} AND NOT effects_done AND seq <= ${view.seq}`;
    if (view.seq - this.lastSnapshot < (this.opts.snapshotEvery ?? 10_000)) return;
    const j: SnapshotJson = { hash: view.hash, epics: Object.fromEntries(view.epics), ...(view.configVersion ? { config_version: view.configVersion } : {}), agents: agentViewToJson(view.agents) };
    await this.sql.begin(async (tx) => {
      await tx`INSERT INTO snapshots (seq, view) VALUES (${view.seq}, ${tx.json(j as never)}) ON CONFLICT DO NOTHING`;
      await tx`DELETE FROM snapshots WHERE seq < ${view.seq}`;
    });
    this.lastSnapshot = view.seq;
  }

  /** Registers this process beside the other writers and keeps its heartbeat; never refuses. */
  async lease(kind: Holder["kind"], command?: string, extra: Pick<Holder, "metrics"> = {}): Promise<Lease> {
    const id = randomUUID();
    const holder: Holder = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), kind, ...(command ? { command } : {}), ...extra };
    const register = () => this.sql`
      INSERT INTO writers (id, kind, command, host, pid, metrics, stale_ms) VALUES (${id}, ${kind}, ${command ?? null}, ${holder.host}, ${holder.pid}, ${extra.metrics ?? null}, ${this.staleMs})
      ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`;
    await register();
    this.writerId = id;
    this.heartbeat = setInterval(() => {
      // declared dead and removed meanwhile (a long pause): register again; our decisions stay fenced
      register().catch(() => {});
    }, Math.max(500, Math.floor(this.staleMs / 3)));
    this.heartbeat.unref();
    let released = false;
    return {
      holder,
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(this.heartbeat);
        await this.sql`DELETE FROM writers WHERE id = ${id}`.catch(() => {});
      },
    };
  }

  /** Live writers (daemons and commands) with their heartbeat age, for doctor and the runner. */
  async writers(): Promise<Array<Holder & { id: string; heartbeat_age_ms: number; alive: boolean }>> {
    const rows = await this.sql`SELECT id, kind, command, host, pid, metrics, started_at, stale_ms, (extract(epoch from now() - heartbeat_at) * 1000)::float8 AS age FROM writers ORDER BY started_at`;
    return rows.map((r) => ({ id: String(r.id), kind: r.kind as Holder["kind"], host: String(r.host), pid: Number(r.pid), started_at: (r.started_at as Date).toISOString(), ...(r.command ? { command: String(r.command) } : {}), ...(r.metrics ? { metrics: String(r.metrics) } : {}), heartbeat_age_ms: Number(r.age), alive: Number(r.age) < Number(r.stale_ms) }));
  }

  /** Whether the launch was made by a writer that is still alive (other than this one): then it is that writer's to watch. */
  async launchedByOtherLiveWriter(launchId: string): Promise<boolean> {
    const [r] = await this.sql`
      SELECT 1 FROM entries e JOIN writers w ON w.id = e.writer
      WHERE e.decision = 'agent_launched' AND e.line LIKE ${`%"launch_id":"${launchId.replace(/[%_\\]/g, "\\$&")}"%`}
        AND e.writer IS DISTINCT FROM ${this.writerId ?? null} AND w.heartbeat_at > now() - make_interval(secs => w.stale_ms / 1000.0)
      LIMIT 1`;
    return !!r;
  }

  /** The rules in force (consensus.yaml's text), if a person put any in force on this store. */
  async rules(): Promise<{ version: string; text: string; applied_by?: string; applied_at?: string } | undefined> {
    const [r] = await this.sql`SELECT version, text, applied_by, applied_at FROM rules`;
    return r ? { version: String(r.version), text: String(r.text), applied_by: String(r.applied_by), applied_at: new Date(r.applied_at as string).toISOString() } : undefined;
  }

  /** Puts new rules in force (`consensus config apply`): every daemon on the store applies them at its next turn. */
  async applyRules(version: string, text: string, by: string): Promise<void> {
    await this.sql`INSERT INTO rules (version, text, applied_by) VALUES (${version}, ${text}, ${by}) ON CONFLICT (one) DO UPDATE SET version = EXCLUDED.version, text = EXCLUDED.text, applied_by = EXCLUDED.applied_by, applied_at = now()`;
  }

  /** Puts rules in force if there are none yet (the first start, or a migration); returns those in force. */
  async seedRules(version: string, text: string, by: string): Promise<{ version: string; text: string }> {
    await this.sql`INSERT INTO rules (version, text, applied_by) VALUES (${version}, ${text}, ${by}) ON CONFLICT DO NOTHING`;
    return (await this.rules())!;
  }

  async close(): Promise<void> {
    open.delete(this);
    clearInterval(this.heartbeat);
    await this.sql.end({ timeout: 5 }).catch(() => {});
  }
}

/** Open stores, for the process-wide guard against the driver's uncatchable write fault. */
const open = new Set<PgStore>();
let guarded = false;

function guardDriverFaults(store: PgStore): void {
  open.add(store);
  if (guarded) return;
  guarded = true;
  process.on("uncaughtException", (err, origin) => {
    if (isDriverTypeLookupFault(err)) {
      // the connection is gone; the query that opened it failed with the same error and is retried by its caller
      process.stderr.write(`consensus: a PostgreSQL connection was lost while the driver set it up (${(err as { code?: string }).code ?? err.message}); the query waiting on it is retried\n`);
      return;
    }
    if (!isDriverWriteFault(err)) {
      // what Node does without a handler: report and exit
      process.stderr.write(`${origin === "unhandledRejection" ? "unhandled rejection: " : ""}${err.stack ?? String(err)}\n`);
      process.exit(1);
    }
    process.stderr.write(`consensus: the PostgreSQL driver failed writing to a closed connection (porsager/postgres#1154); reconnecting\n`);
    for (const s of open) s.replaceClient();
  });
}
