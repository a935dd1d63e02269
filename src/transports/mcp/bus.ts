/**
 * What an MCP session reads of the bus, in one place: the rules (consensus.yaml), the state as of the
 * log's last line (read-only, no lock), the daemon's entries, accepted artifacts. Every tool call reads
 * afresh, so a session sees what the daemon decided a moment ago. Nothing here writes.
 */
import { existsSync, realpathSync, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { readRules } from "../../store/fs/rules.js";
import type { Pipeline } from "../../config/pipeline.js";
import type { View } from "../../log/replay.js";
import { BatchWorld } from "../../machine/world.js";
import { FsStore } from "../../store/fs/fs-store.js";
import { layoutOf, type Layout } from "../../store/fs/layout.js";
import { daemonEntries, type DaemonEntry } from "../await-decision.js";

export interface McpContext {
  root: string;
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

export class BusReader {
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

  /** A file under the root as text, or undefined (absent, unreadable). */
  async text(rel: string): Promise<string | undefined> {
    try {
      return await readFile(join(this.root, rel), "utf8");
    } catch {
      return undefined;
    }
  }

  exists(rel: string): boolean {
    return existsSync(join(this.root, rel));
  }

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
