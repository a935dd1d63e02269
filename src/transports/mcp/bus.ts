/**
 * What an MCP session reads of the bus, in one place: the rules (consensus.yaml), the state as of the
 * log's last line (read-only, no lock), the daemon's entries, accepted artifacts. Every tool call reads
 * afresh, so a session sees what the daemon decided a moment ago.
 *
 * McpBus is what the tools need of a store; two implementations: BusReader here (the folder: reads
 * files, places inputs with their claim, awaits the verdict from the log) and PgBus (pg-bus.ts: the
 * database: inputs become rows the daemons claim, verdicts come from the entries table). submit() is
 * the only write, and it never decides on a database store.
 */
import { existsSync, lstatSync, realpathSync, watch } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CAP } from "../../store/fs/guarded-read.js";
import { isNamedPlace, plainRel, readNamedSync } from "../../store/fs/read-named.js";
import { readRules } from "../../store/fs/rules.js";
import type { Pipeline } from "../../config/pipeline.js";
import type { View } from "../../log/replay.js";
import { BatchWorld } from "../../machine/world.js";
import { FsStore } from "../../store/fs/fs-store.js";
import { layoutOf, type Layout } from "../../store/fs/layout.js";
import type { LogLine, ReadFrom } from "../../store/port.js";
import { daemonEntries, type DaemonEntry, type Verdict } from "../await-decision.js";
import { place } from "../placement.js";
import { verdictOf } from "./offer.js";

export interface McpContext {
  root: string;
  /** A PostgreSQL store's URL (--store / CONSENSUS_STORE): the session talks to the database; undefined: the folder. */
  store?: string;
  /** The role every call of this session speaks for (claimed, unless a launch token proves it). */
  role: string;
  /** The launch token of the agent that started this server (CONSENSUS_TOKEN): what it places is signed with it. */
  token?: string;
  /** The role's notice keys (CONSENSUS_NOTICE_KEY): the inbox shows only notices whose MAC verifies. */
  noticeKeys?: string;
  /** How long submit_artifact and send_message wait for the daemon's verdict (ms). */
  waitMs: number;
  /** "The log may have grown": the daemon's own commits (with the entries) when the server runs inside it; fs.watch otherwise. */
  onChange?: (wake: (committed?: readonly DaemonEntry[]) => void) => () => void;
  /** Ends every wait at once (the client went away, the process stops); placing and deciding still finish. */
  signal?: AbortSignal;
  clock?: () => Date;
}

export interface Snapshot {
  pipeline: Pipeline;
  view: View;
  /** decide()'s World over the view: for dry runs, never committed. */
  world: BatchWorld;
}

/** What the tools read and submit through; the folder (BusReader) or the database (PgBus). */
export interface McpBus {
  readonly root: string;
  /** Whether what is submitted carries the session's launch-token signature (the folder's claim); the database's rows do not. */
  readonly signs: boolean;
  /** Whether notices carry the daemon's MAC to check (the folder, where agents can write an inbox); the database's notices table only daemons write. */
  readonly macs: boolean;
  snapshot(): Promise<Snapshot>;
  /** The daemon's entries with seq > afterSeq, in log order. */
  entries(afterSeq?: number): Promise<DaemonEntry[]>;
  /** The log's lines, as the store's readEntries gives them (the log tool; with `from`, what follows that seq). */
  readEntries(from?: ReadFrom): AsyncIterable<LogLine>;
  /** Accepted artifacts of an epic (archive/<EPIC>/<iteration>/<file>), oldest first. */
  published(epicId: string): Promise<Array<{ iteration: number; file: string; path: string }>>;
  /** The bytes at a path relative to the root (a file, or on a database the row or blob behind it), or undefined. */
  bytes(rel: string): Promise<Uint8Array | undefined>;
  text(rel: string): Promise<string | undefined>;
  exists(rel: string): Promise<boolean>;
  /** The names in a folder relative to the root (an inbox), sorted; none when absent. */
  names(relDir: string): Promise<string[]>;
  /**
   * The uid owning the entry at `rel` (a path relative to the root), by lstat where it is named (never
   * through a link: a link's, a FIFO's, a folder's own owner); undefined when absent or elsewhere.
   */
  ownerOf(rel: string): Promise<number | undefined>;
  /**
   * Hands a checked input over to be decided and waits (bounded by ctx.waitMs) for its verdict.
   * `note` says why there is none yet (no daemon running on a database store).
   */
  submit(ctx: McpContext, rel: string, bytes: Uint8Array, sha256: string, afterSeq: number): Promise<{ verdict?: Verdict; note?: string }>;
  close(): Promise<void>;
}

export class BusReader implements McpBus {
  readonly signs = true;
  readonly macs = true;
  readonly layout: Layout;
  readonly realRoot: string;
  /** Read-only: readEntries for verdicts, log and inbox; recover for the state. */
  readonly store: FsStore;

  constructor(readonly root: string) {
    this.layout = layoutOf(root);
    this.realRoot = realpathSync(root);
    this.store = new FsStore(this.layout, { readOnly: true });
  }

  async snapshot(): Promise<Snapshot> {
    const pipeline = await readRules(this.layout);
    const { view } = await new FsStore(this.layout, { readOnly: true }).recover();
    return { pipeline, view, world: new BatchWorld(pipeline, view) };
  }

  entries(afterSeq = 0): Promise<DaemonEntry[]> {
    return daemonEntries(this.store, afterSeq);
  }

  /** Accepted artifacts of an epic (archive/<EPIC>/<iteration>/<file>), oldest first. */
  published(epicId: string): Promise<Array<{ iteration: number; file: string; path: string }>> {
    return this.store.published(epicId);
  }

  readEntries(from?: ReadFrom): AsyncIterable<LogLine> {
    return this.store.readEntries(from);
  }

  /**
   * A drop zone's file (an inbox message): never a blocking open of a FIFO, never through a link (at
   * its name or a folder on the way: an inbox swapped for a link to .consensus/), capped (issue 12.8, review rv8).
   */
  async bytes(rel: string): Promise<Uint8Array | undefined> {
    return readNamedSync(this.root, this.realRoot, rel, { maxBytes: CAP.config, singleLink: true });
  }

  /**
   * A file under the root as text, or undefined (absent, unreadable): never through a link, never a
   * blocking open of a FIFO, capped. A second name is allowed here (an archive copy in a root from before
   * the pack is a hard link to its blob).
   */
  async text(rel: string): Promise<string | undefined> {
    return readNamedSync(this.root, this.realRoot, rel, { maxBytes: CAP.config })?.toString("utf8");
  }

  async exists(rel: string): Promise<boolean> {
    return this.namedHere(rel) && existsSync(join(this.root, rel));
  }

  async ownerOf(rel: string): Promise<number | undefined> {
    if (!this.namedHere(rel)) return undefined;
    const st = lstatSync(join(this.root, rel), { throwIfNoEntry: false });
    return st?.uid;
  }

  /**
   * Whether `rel` names an entry under the root where it is named: every segment plain ('..' last, or
   * the whole path, would name the root's parent or a folder's) and no link on the way to its folder.
   * Checked where a path is used (exists, ownerOf), whoever built it.
   */
  private namedHere(rel: string): boolean {
    return plainRel(rel) && (dirname(rel) === "." || isNamedPlace(this.root, this.realRoot, dirname(rel)));
  }

  async names(relDir: string): Promise<string[]> {
    // a folder reached through a link (an inbox swapped for one) is not listed: its files are not the bus's
    if (!isNamedPlace(this.root, this.realRoot, relDir)) return [];
    return (await readdir(join(this.root, relDir)).catch(() => [] as string[])).sort();
  }

  /** Placed atomically with its claim (signed with the session's launch token); decided here when no daemon holds the root. */
  async submit(ctx: McpContext, rel: string, bytes: Uint8Array, sha256: string, afterSeq: number): Promise<{ verdict?: Verdict }> {
    await place(ctx.root, rel, bytes, { transport: "mcp", role: ctx.role, ...(ctx.token ? { token: ctx.token } : {}) });
    const verdict = await verdictOf(ctx, this, rel, sha256, afterSeq);
    return verdict ? { verdict } : {};
  }

  async close(): Promise<void> {}

  /** Calls wake when the log of record's folder changes (fs.watch); returns the unsubscribe. Waits poll as well. */
  watchLog(wake: () => void): () => void {
    const name = basename(this.layout.record);
    try {
      const w = watch(dirname(this.layout.record), (_e, f) => {
        if (f === null || String(f) === name) wake();
      });
      w.on("error", () => {});
      return () => w.close();
    } catch {
      return () => {};
    }
  }
}
