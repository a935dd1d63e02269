/**
 * `consensus bridge --store postgres://…`: one host's folder and the database, both ways, for agents
 * that only know files.
 *
 * Up: artifacts and inbox messages dropped in the folder become input rows, by the file bus's rules:
 * whole files only (read with the same guards: no link out of the root, the size cap), by the same
 * settle rule as the daemon's file transport (settleRead: one moved or linked into place goes up at
 * once, one written in place only once it has stayed unchanged for settle_ms, whether or not it
 * parses; a read an event raced is read again), once per content (the row's key is path@sha256), and
 * never lost: a scan at start and every CONSENSUS_RESCAN_MS catch what the watcher
 * missed or what was dropped while the bridge was down. A file it cannot read whole is sent with the
 * problem, so its author is told like on the file bus.
 *
 * Down: the daemons' notices and published artifacts are written into the folder (inboxes, archive/),
 * atomically; one already there whole is left alone. Woken by NOTIFY, re-synced after every reconnect,
 * polled as the floor.
 */
import { realpathSync } from "node:fs";
import { lstat, readFile } from "node:fs/promises";
import { kindOf, readGuarded } from "../../store/fs/guarded-read.js";
import { findWhoMakes, keyedCopyIn, noticeNameTaken, setAsideEntry } from "../../store/fs/entry-aside.js";
import { keyedNoticeName } from "../../trust/notice-name.js";
import { keyringOf } from "../prove.js";
import { userNameOf } from "../../trust/os-identity.js";
import { refusedAtName } from "../place-names.js";
import { hostname } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { parseConfig, type Pipeline } from "../../config/pipeline.js";
import { ConsensusError, errorsOf, shellArg } from "../../errors/issue.js";
import type { Logger } from "../../daemon/logger.js";
import { interpretArtifact, interpretMessage } from "../../schemas/interpret.js";
import { writeAtomic } from "../../store/fs/atomic-write.js";
import { effectFolders, reportTempSweep, startedAtMs, sweepDaemonTemps } from "../../store/fs/temp-sweep.js";
import { layoutOf } from "../../store/fs/layout.js";
import { Backoff } from "../../store/pg/connect.js";
import { PgInputs } from "../../store/pg/inputs.js";
import { CHANNEL_EFFECTS, PgStore } from "../../store/pg/pg-store.js";
import { rulesInForce } from "../../store/pg/rules.js";
import { Arrivals } from "../files/arrivals.js";
import { classifyPath } from "../files/classify.js";
import { eventsDelivered, unchangedSince } from "../files/confirm-read.js";
import { notAFolderAt, settleRead, zoneFolderOf } from "../files/prepare.js";
import { readCandidate } from "../files/read-input.js";
import { scanCandidates } from "../files/scan.js";
import { watchBus, type BusWatcher } from "../files/watch.js";
import { folderInside } from "../placement.js";

export interface BridgeOptions {
  root: string;
  store: string;
  log: Logger;
  /** Mirror what is there both ways, then exit. */
  once?: boolean;
  poll?: boolean;
  stop?: Promise<void>;
}

export async function runBridge(o: BridgeOptions): Promise<number> {
  const layout = layoutOf(o.root);
  const store = await PgStore.open(o.store, { max: 2 });
  const inputs = new PgInputs(store);
  const source = `bridge ${hostname()}:${o.root}`;
  let pipeline: Pipeline = (await rulesInForce(store, layout.config, source)).pipeline;
  const realRoot = realpathSync(o.root);
  const log = o.log;
  log.info({ store: store.description, root: o.root }, "bridge started");
  // notices and archive copies a killed bridge left mid-write (it writes them as the daemon does: temp-sweep.ts)
  reportTempSweep(sweepDaemonTemps(layout.root, effectFolders(layout, { archive: true }), startedAtMs()), log);

  const pending = new Set<string>();
  /** Files sent or judged: path → mtime:size, so an unchanged file is not read again. */
  const sent = new Map<string, string>();
  const waiting = new Map<string, NodeJS.Timeout>();
  /** What the watcher said about each path since it was last sent: the settle rule reads it. */
  const arrivals = new Arrivals();
  let down = true;
  let scan = true;
  let stopping = false;
  let wake: () => void = () => {};
  const kick = () => wake();
  const noticeAt = { notices: 0, published: 0 };

  const watcher: BusWatcher | undefined = o.once
    ? undefined
    : await watchBus(layout, { onPath: (rel, ev) => (arrivals.saw(rel, ev, Date.now()), unwait(rel), pending.add(rel), kick()), onRescanNeeded: () => ((scan = true), kick()) }, { poll: o.poll });
  const subscribe = () => store.sql.listen(CHANNEL_EFFECTS, () => ((down = true), kick()), () => ((down = true), (scan = true), kick()));
  let sub = o.once ? undefined : await subscribe();
  store.onClientReplaced = () => {
    down = scan = true;
    kick();
    if (!o.once) void subscribe().then((s) => (sub = s), () => {});
  };
  const every = Number(process.env.CONSENSUS_RESCAN_MS ?? 30_000);
  const pollMs = Number(process.env.CONSENSUS_POLL_MS ?? 5000);
  const timers = o.once ? [] : [setInterval(() => ((scan = true), kick()), every), setInterval(() => ((down = true), kick()), pollMs)];
  for (const t of timers) t.unref();
  void o.stop?.then(() => ((stopping = true), kick()));

  const backoff = new Backoff(log);
  try {
    for (;;) {
      if (!(await backoff.turn(turn))) {
        down = scan = true;
        continue;
      }
      if (stopping || (o.once && !pending.size && !waiting.size)) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (stopping || down || scan || pending.size) resolve();
      });
      wake = () => {};
    }
    return 0;
  } finally {
    for (const t of timers) clearInterval(t);
    for (const t of waiting.values()) clearTimeout(t);
    await watcher?.close();
    await sub?.unlisten().catch(() => {});
    await store.close();
  }

  async function turn(): Promise<void> {
    if (down) {
      down = false;
      const r = await store.rules();
      if (r && r.version !== pipeline.version) pipeline = parseConfig(r.text).pipeline ?? pipeline;
      await mirrorDown();
    }
    if (scan) {
      scan = false;
      for (const c of await scanCandidates(o.root)) {
        if (sent.get(c.rel) === c.sig || waiting.has(c.rel)) continue;
        arrivals.saw(c.rel, "found", Date.now());
        pending.add(c.rel);
      }
    }
    const batch = [...pending];
    pending.clear();
    for (const rel of batch) await up(rel);
  }

  function unwait(rel: string): void {
    const t = waiting.get(rel);
    if (t) (clearTimeout(t), waiting.delete(rel));
  }

  /** One path of the folder → an input row, or a wait for it to settle, or nothing (not an input, or sent already). */
  async function up(rel: string): Promise<void> {
    const c = classifyPath(rel);
    if (c.kind === "ignored" || c.kind === "request") return;
    const gen = arrivals.gen(rel);
    const st = await lstat(join(o.root, rel)).catch(() => undefined);
    if (!st) return arrivals.settled(rel, gen);
    const sig = `${st.mtimeMs}:${st.size}`;
    if (sent.get(rel) === sig) return arrivals.settled(rel, gen);
    if (c.kind === "invalid") {
      await inputs.addFile(rel, undefined, st.mtimeMs, source, c.issue);
      sent.set(rel, sig);
      return arrivals.settled(rel, gen);
    }
    // a drop zone's folder that is no folder (a link, a FIFO): refused unread with the fix for a folder, as the file transport does
    const zone = zoneFolderOf(c, pipeline);
    const notFolder = zone ? notAFolderAt(zone, st, o.root, realRoot, rel) : undefined;
    if (notFolder) {
      await inputs.addFile(rel, undefined, st.mtimeMs, source, notFolder);
      sent.set(rel, sig);
      return arrivals.settled(rel, gen);
    }
    const r = await readCandidate(o.root, realRoot, rel, pipeline.maxFileBytes);
    if (!r.ok) {
      if (!("gone" in r)) await inputs.addFile(rel, undefined, st.mtimeMs, source, r.issue);
      sent.set(rel, sig);
      return arrivals.settled(rel, gen);
    }
    // the file bus's settle rule; validity is asked only of a file that is otherwise whole
    const s = settleRead(rel, r, { pipeline, now: Date.now(), arrivals }, gen, () => {
      const issues = c.kind === "message" ? interpretMessage(c.name, r.bytes, c.inbox).issues : c.kind === "artifact" && pipeline.stageOfArtifact(c.name) ? interpretArtifact(c.name, r.bytes).issues : [];
      return errorsOf(issues).length > 0;
    });
    if (!s.take) {
      unwait(rel);
      waiting.set(rel, setTimeout(() => (waiting.delete(rel), pending.add(rel), kick()), s.ms));
      return;
    }
    if (s.confirm) {
      await eventsDelivered();
      // an in-place writer raced the read: its event queued the path again, to be read anew
      if (!unchangedSince(o.root, rel, s.confirm, arrivals)) return void pending.add(rel);
    }
    const id = await inputs.addFile(rel, r.bytes, r.mtimeMs, source);
    sent.set(rel, `${r.mtimeMs}:${r.size}`);
    arrivals.settled(rel, gen);
    if (id !== undefined) log.info({ file: rel, input: id }, "mirrored up");
  }

  /** Notices and published artifacts since the last pass → files (one there whole is left alone). */
  async function mirrorDown(): Promise<void> {
    const notices = await store.sql`SELECT id::float8 AS id, role, name, body FROM notices WHERE id > ${noticeAt.notices} ORDER BY id`;
    for (const n of notices) {
      const path = plainPath(layout.inbox, [n.role, n.name], log);
      if (path) await writeNoticeDown(layout.root, path, Buffer.from(String(n.body)), log);
      noticeAt.notices = Number(n.id);
    }
    const published = await store.sql`SELECT p.id::float8 AS id, p.epic_id, p.iteration, p.file, b.bytes FROM published p JOIN blobs b USING (sha256) WHERE p.id > ${noticeAt.published} ORDER BY p.id`;
    for (const p of published) {
      const path = plainPath(layout.archive, [p.epic_id, p.iteration, p.file], log);
      if (path) await writeArchiveDown(layout.root, path, p.bytes as Buffer, log);
      noticeAt.published = Number(p.id);
    }
    if (notices.length || published.length) log.info({ notices: notices.length, published: published.length }, "mirrored down");
  }
}

/** Names come from the database: only plain names under the folder are written (a role or file name is never a path). */
const PLAIN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * `base` joined with `names` (a row's role and name, or epic, iteration and file) when each is a
 * plain name as it came from the database, checked before join() resolves a '..' in it (a role
 * `../../artifacts/EP-001` would otherwise be a drop made as the bridge's user); else undefined, with
 * an error logged (the rest still mirror).
 */
function plainPath(base: string, names: readonly unknown[], log: Logger): string | undefined {
  const parts = names.map(String);
  if (parts.every((p) => PLAIN.test(p))) return join(base, ...parts);
  log.error({ folder: base, names: parts }, "not mirrored down: a row's name is not a plain name (a path, or a name starting with '.')");
  return undefined;
}

/**
 * Writes `path` (under `root`) unless it is there whole. Never through a link an agent planted
 * that leads out of the root: such a file is skipped with an error logged (the rest still mirror).
 */
async function writeIfMissing(root: string, path: string, bytes: Buffer, log: Logger, opts: { hideName?: boolean } = {}): Promise<void> {
  if (!path.split("/").slice(-3).every((p) => PLAIN.test(p))) return;
  let dir: string;
  try {
    dir = await folderInside(root, relative(root, dirname(path)));
  } catch (e) {
    if (!(e instanceof ConsensusError)) throw e;
    log.error({ file: relative(root, path), issues: e.issues }, `not mirrored down: ${e.issues[0]?.message ?? "its folder leads out of the root"}`);
    return;
  }
  const real = join(dir, basename(path));
  const have = await readGuarded(real, { maxBytes: bytes.length + 1 }).then((r) => r.bytes, () => undefined);
  if (have && have.equals(bytes)) return;
  // the folder's real path checked again just before the rename: one swapped for a link since is refused
  await writeAtomic(real, bytes, { root: realpathSync(root), ...(opts.hideName ? { hideName: true } : {}) });
}

/**
 * An accepted artifact's archive copy mirrored down at `path` (archive/<EPIC>/<N>/<file> under `root`,
 * a name anyone can predict). A name another entry holds (a folder: the rename fails) is logged with
 * what is there, whose it is and the fix, and skipped: the copy is in the database, and one name must
 * not stop every later notice, copy and drop of the host (a non-transient error ends the bridge).
 */
export async function writeArchiveDown(root: string, path: string, bytes: Buffer, log: Logger): Promise<void> {
  try {
    await writeIfMissing(root, path, bytes, log);
  } catch (e) {
    if (!refusedAtName(e)) throw e;
    const st = await lstat(path).catch(() => undefined);
    const file = relative(root, path);
    const found = st ? `${kindOf(st)} of uid ${st.uid} (${userNameOf(st.uid)})` : `nothing now (the write was refused: ${(e as NodeJS.ErrnoException).code})`;
    log.error({ file, found, fix: st ? `Remove it as ${userNameOf(st.uid)} or root (\`${st.isDirectory() ? "rm -r" : "rm"} ${shellArg(path)}\`), then restart the bridge: it mirrors every copy anew when it starts.` : `${findWhoMakes(undefined, "entries", dirname(path))}, stop it.` }, `archive copy not mirrored down: ${file} is taken by ${found}; the bridge goes on`);
  }
}

/**
 * A notice mirrored down at `path` (messages/inbox/<role>/<name> under `root`), as the file store's
 * deliver() writes one: inboxes are drop zones and a notice's name is predictable, so an entry another
 * user made there (a folder) is renamed aside, unread (setAsideEntry); when the name is taken again
 * before the write, or cannot be taken, the notice goes to its keyed fallback name under this host's
 * daemon key (trust/notice-name.ts), which no agent can know first. A notice no name can take is
 * logged and left: it never stops the bridge (every later notice, archive copy and drop waited on it).
 */
export async function writeNoticeDown(root: string, path: string, bytes: Buffer, log: Logger): Promise<void> {
  // mirrored down at its keyed name before (the bridge mirrors every notice anew when it starts): that
  // copy is the notice, and one at the regular name, free again since, would show it to the role twice
  const keyedCopy = keyedCopyIn(dirname(path), basename(dirname(path)), basename(path), (await keyringOf(root))?.keysForFile() ?? []);
  if (keyedCopy) return writeIfMissing(root, keyedCopy.path, bytes, log, { hideName: true });
  let first: unknown;
  try {
    return await writeIfMissing(root, path, bytes, log);
  } catch (e) {
    first = e;
  }
  const file = relative(root, path);
  const st = await lstat(path).catch(() => undefined);
  // taken by what another user keeps there (noticeNameTaken: an agent making and removing a folder in
  // a loop made the bridge exit on it)
  if (!noticeNameTaken(first, st)) throw first;
  const aside = st ? await setAsideEntry(root, path, "notice", st) : undefined;
  if (aside) log.warn({ file, moved_to: relative(root, aside.to), owner_uid: aside.uid, found: aside.found, fix: `Nothing to do for the bridge. uid ${aside.uid} may delete ${shellArg(aside.to)}; agents write only their own messages into an inbox, never at a notice's name.` }, `${aside.found} at a notice's name renamed aside (neither followed nor opened): uid ${aside.uid} made it where the bridge writes its notice`);
  if (aside && (await writeIfMissing(root, path, bytes, log).then(() => true, () => false))) return;
  const now = await lstat(path).catch(() => undefined);
  // who holds the name (or held it, when the rename failed on it)
  const owner = now?.uid ?? st?.uid;
  const key = (await keyringOf(root))?.keysForFile().at(-1);
  const role = basename(dirname(path));
  if (!key) {
    log.error({ file, owner_uid: owner ?? null, fix: `${findWhoMakes(owner, "entries", dirname(path))}, stop it, and remove ${shellArg(path)} as that user or root; give this host the daemon key (\`consensus keys\`) so such a notice goes to a keyed name.` }, `notice not mirrored down: ${file} is taken${owner === undefined ? "" : ` by uid ${owner}`} and this host has no daemon key for a keyed name`);
    return;
  }
  const keyed = join(dirname(path), keyedNoticeName(key, role, basename(path)));
  await writeIfMissing(root, keyed, bytes, log, { hideName: true });
  log.warn({ file, written_to: relative(root, keyed), owner_uid: owner ?? null, found: now ? kindOf(now) : (aside?.found ?? "a folder"), fix: `Nothing to do for the bridge: the notice is at ${relative(root, keyed)}. ${findWhoMakes(owner, "entries", dirname(path))}, stop it, then remove ${shellArg(path)} as that user or root.` }, `${file} was taken again after it was renamed aside (or cannot be taken): the notice is mirrored down at its keyed name, one no agent can know first`);
}
