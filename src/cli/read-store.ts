/**
 * What read-only commands (status, log, report, validate, approve/veto's checks) read, from whichever
 * store the command was pointed at: a folder (read without the lock) or a PostgreSQL store (read
 * without registering as a writer, and without migrating).
 */
import { readRules } from "../store/fs/rules.js";
import { parseConfig, type Pipeline } from "../config/pipeline.js";
import { ConsensusError, issue } from "../errors/issue.js";
import type { Epic } from "../schemas/types.gen.js";
import { FsStore } from "../store/fs/fs-store.js";
import { layoutOf } from "../store/fs/layout.js";
import { assertPrivateAreaReadable } from "../store/fs/private-denied.js";
import type { PgStore } from "../store/pg/pg-store.js";
import type { GlobalOptions } from "./context.js";
import { storeOf } from "./store-of.js";

export async function openPgReadOnly(url: string, opts: { epicsOnly?: boolean } = {}): Promise<PgStore> {
  const { PgStore } = await import("../store/pg/pg-store.js");
  return PgStore.open(url, { readOnly: true, max: 1, ...opts });
}

/** The rules in force: consensus.yaml of the root, or the rules row of the database. */
export async function pipelineOf(g: GlobalOptions): Promise<Pipeline> {
  const t = storeOf(g);
  if (t.kind === "folder") return readRules(layoutOf(t.root));
  const store = await openPgReadOnly(t.url);
  try {
    const r = await store.rules();
    if (!r) throw new ConsensusError(issue("CONFIG_MISSING", { message: `${store.description} has no rules in force yet`, fix: "Start a daemon with --store (it takes the root's consensus.yaml), or run `consensus migrate --from-folder DIR`." }));
    const { pipeline, issues } = parseConfig(r.text, "consensus.yaml (rules in force)");
    if (!pipeline) throw new ConsensusError(issues);
    return pipeline;
  } finally {
    await store.close();
  }
}

/** Every epic's state as of the log's last entry. */
export async function epicsOf(g: GlobalOptions): Promise<{ epics: Map<string, Epic>; seq: number }> {
  const t = storeOf(g);
  // a user that may not read the log of record is told so, not shown "no epics yet"
  if (t.kind === "folder") assertPrivateAreaReadable(layoutOf(t.root), "the log of record, which every epic's state is read from", { path: layoutOf(t.root).record });
  const store = t.kind === "folder" ? new FsStore(layoutOf(t.root), { readOnly: true, epicsOnly: true }) : await openPgReadOnly(t.url, { epicsOnly: true });
  try {
    const { view } = await store.recover();
    return { epics: view.epics, seq: view.seq };
  } finally {
    await store.close();
  }
}

/** The log's lines in order (daemon entries and, in a folder, agents' lines), as written. */
export async function* logLines(g: GlobalOptions): AsyncIterable<string> {
  const t = storeOf(g);
  if (t.kind === "folder") assertPrivateAreaReadable(layoutOf(t.root), "the log of record", { path: layoutOf(t.root).record });
  const store = t.kind === "folder" ? new FsStore(layoutOf(t.root), { readOnly: true }) : await openPgReadOnly(t.url);
  try {
    for await (const l of store.readEntries()) yield l.raw;
  } finally {
    await store.close();
  }
}
