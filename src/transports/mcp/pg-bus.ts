/**
 * The MCP server's bus on a PostgreSQL store (issue 16 item 3): the same tools, talking to the
 * database the daemons decide from, never to a folder they do not read.
 *
 * - An input (submit_artifact, send_message) becomes an input row, exactly as a bridge adds a file
 *   (PgInputs.addFile: once per path and content, NOTIFY to the daemons); its source names the MCP
 *   session, which is how the rows transport knows the transport is "mcp" (prepare-row.ts). Any
 *   daemon on the store claims it and decides it with the same decide() as a dropped file.
 * - Its verdict is awaited from the entries table: woken by LISTEN on the log's channel, with a poll as
 *   the floor (CONSENSUS_POLL_MS, default 1 s; notifications are lost while disconnected).
 * - Nothing decides here: with no live daemon on the store the row waits for one, and the tool says so
 *   at once ("submitted, not yet decided").
 * - Reads: the state from the store (recover, read-only), the rules in force from the store, published
 *   artifacts from published + blobs, an inbox from the notices table and the message rows addressed
 *   to the role; a path the database does not hold (epics/<EPIC>/epic.md) is read from the folder.
 *
 * Notices are not MAC-checked here: only the daemons write the notices table (an agent has no
 * database credentials in this deployment); each is still matched to the log entry that produced it.
 *
 * The row has no room for the folder's claim: what an MCP session submits on a database is recorded
 * with no launch-token proof (as a bridged file is), whatever CONSENSUS_TOKEN it holds. docs/mcp.md says so.
 */
import { hostname } from "node:os";
import { parseConfig } from "../../config/pipeline.js";
import { ConsensusError } from "../../errors/issue.js";
import { BatchWorld } from "../../machine/world.js";
import type { LogLine, ReadFrom } from "../../store/port.js";
import { layoutOf, type Layout } from "../../store/fs/layout.js";
import { readRules } from "../../store/fs/rules.js";
import { PgInputs } from "../../store/pg/inputs.js";
import { CHANNEL_LOG, PgStore } from "../../store/pg/pg-store.js";
import { awaitDecision, daemonEntryOf, verdictIn, type DaemonEntry, type Verdict } from "../await-decision.js";
import { BusReader, type McpBus, type McpContext, type Snapshot } from "./bus.js";

/** An input row's source for what an MCP session submits: "mcp <role> <host>:<pid>" (prepare-row.ts reads the first word). */
export const MCP_SOURCE = "mcp";

const ARCHIVED = /^archive\/([^/]+)\/(\d+)\/([^/]+)$/;
const INBOX = /^messages\/inbox\/([^/]+)$/;
const IN_INBOX = /^messages\/inbox\/([^/]+)\/([^/]+)$/;

export class PgBus implements McpBus {
  readonly signs = false;
  readonly macs = false;
  readonly layout: Layout;
  /** Paths the database does not hold (the epic's description) are read from the folder. */
  private readonly folder: BusReader;
  private opened?: Promise<PgStore>;

  constructor(
    readonly root: string,
    private readonly url: string,
  ) {
    this.layout = layoutOf(root);
    this.folder = new BusReader(root);
  }

  /** Opened on the first call: read-only (no migrations; the daemons own the schema), a small pool. */
  private store(): Promise<PgStore> {
    this.opened ??= PgStore.open(this.url, { readOnly: true, max: 2 });
    const s = this.opened;
    // a failed open is tried again on the next call, and said as it is (NOT_FOUND, unreachable)
    s.catch(() => {
      if (this.opened === s) this.opened = undefined;
    });
    return s;
  }

  async snapshot(): Promise<Snapshot> {
    const store = await this.store();
    const rules = await store.rules();
    let pipeline = rules ? parseConfig(rules.text, "consensus.yaml (rules in force)").pipeline : undefined;
    if (rules && !pipeline) throw new ConsensusError(parseConfig(rules.text, "consensus.yaml (rules in force)").issues);
    pipeline ??= await readRules(this.layout);
    const { view } = await store.recover();
    return { pipeline, view, world: new BatchWorld(pipeline, view) };
  }

  /** The sealed lines after seq, as the store holds them. */
  private async lines(afterSeq: number): Promise<string[]> {
    const store = await this.store();
    return (await store.sql`SELECT line FROM entries WHERE seq > ${afterSeq} ORDER BY seq`).map((r) => String(r.line));
  }

  async entries(afterSeq = 0): Promise<DaemonEntry[]> {
    return (await this.lines(afterSeq)).flatMap((raw) => {
      const e = daemonEntryOf(raw);
      return e ? [e] : [];
    });
  }

  async *readEntries(from?: ReadFrom): AsyncIterable<LogLine> {
    yield* (await this.store()).readEntries(from);
  }

  async published(epicId: string): Promise<Array<{ iteration: number; file: string; path: string }>> {
    return (await this.store()).published(epicId);
  }

  async bytes(rel: string): Promise<Uint8Array | undefined> {
    const { sql } = await this.store();
    const a = ARCHIVED.exec(rel);
    if (a) {
      const [r] = await sql`SELECT b.bytes FROM published p JOIN blobs b USING (sha256) WHERE p.epic_id = ${a[1]!} AND p.iteration = ${Number(a[2])} AND p.file = ${a[3]!} ORDER BY p.id DESC LIMIT 1`;
      if (r) return r.bytes as Uint8Array;
    }
    const n = IN_INBOX.exec(rel);
    if (n) {
      const [r] = await sql`SELECT body FROM notices WHERE role = ${n[1]!} AND name = ${n[2]!} LIMIT 1`;
      if (r) return new TextEncoder().encode(String(r.body));
    }
    // the latest content a bridge or a session submitted at that path
    const [r] = await sql`SELECT bytes FROM inputs WHERE kind = 'file' AND path = ${rel} AND bytes IS NOT NULL ORDER BY id DESC LIMIT 1`;
    if (r) return r.bytes as Uint8Array;
    return this.folder.bytes(rel);
  }

  async text(rel: string): Promise<string | undefined> {
    const b = await this.bytes(rel);
    return b === undefined ? undefined : Buffer.from(b).toString("utf8");
  }

  async exists(rel: string): Promise<boolean> {
    return (await this.bytes(rel)) !== undefined;
  }

  /** The folder's entry's owner (the database's rows have none). */
  async ownerOf(rel: string): Promise<number | undefined> {
    return this.folder.ownerOf(rel);
  }

  async names(relDir: string): Promise<string[]> {
    const m = INBOX.exec(relDir);
    if (!m) return this.folder.names(relDir);
    const { sql } = await this.store();
    const notices = await sql`SELECT name FROM notices WHERE role = ${m[1]!}`;
    const rows = await sql`SELECT DISTINCT path FROM inputs WHERE kind = 'file' AND starts_with(path, ${`${relDir}/`})`;
    const names = new Set<string>([...notices.map((r) => String(r.name)), ...rows.map((r) => String(r.path).slice(relDir.length + 1)).filter((n) => !n.includes("/")), ...(await this.folder.names(relDir))]);
    return [...names].sort();
  }

  async submit(ctx: McpContext, rel: string, bytes: Uint8Array, sha256: string, afterSeq: number): Promise<{ verdict?: Verdict; note?: string }> {
    const store = await this.store();
    await new PgInputs(store).addFile(rel, bytes, Date.now(), `${MCP_SOURCE} ${ctx.role} ${hostname()}:${process.pid}`);
    const decided = verdictIn(await this.entries(afterSeq), rel, sha256);
    if (decided) return { verdict: decided };
    if (!(await store.writers()).some((w) => w.kind === "daemon" && w.alive)) {
      return { note: `no daemon is running on ${store.description}: the input waits as a row until one starts (consensus watch --store …); nothing decides it here` };
    }
    // each wake reads the entries after the last one read (the store's readEntries after a seq)
    const verdict = await awaitDecision(
      store,
      rel,
      sha256,
      {
        afterSeq,
        timeoutMs: ctx.waitMs,
        pollMs: Number(process.env.CONSENSUS_POLL_MS ?? 1000),
        onChange: (wake) => {
          let closed = false;
          let sub: { unlisten(): Promise<void> } | undefined;
          void store.sql.listen(CHANNEL_LOG, () => wake(), () => wake()).then(
            (s) => (closed ? void s.unlisten().catch(() => {}) : (sub = s)),
            () => {},
          );
          return () => {
            closed = true;
            void sub?.unlisten().catch(() => {});
          };
        },
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      },
    );
    return verdict ? { verdict } : {};
  }

  async close(): Promise<void> {
    const s = this.opened;
    this.opened = undefined;
    await (await s?.catch(() => undefined))?.close();
  }
}
