/**
 * The shell of `consensus doctor`: reads what the checks need — files, /proc, statfs, the lock — and
 * nothing else. Writes only dot-temp files, removed at once, to prove folders are writable.
 */
import { constants as fsc, existsSync, lstatSync, readFileSync } from "node:fs";
import { lstat, open, readFile, readlink, realpath, stat, statfs, unlink, writeFile } from "node:fs/promises";
import type { ModeFacts } from "../store/fs/private-area.js";
import { hostname } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { probeAgents as probeAgentPrograms, projectOf } from "../agents/readiness.js";
import { parseConfig } from "../config/pipeline.js";
import { logHasEntries, readRulesRecord } from "../store/fs/rules.js";
import { foldersToWatch } from "../transports/files/watch.js";
import { holderIsDead, lockPathOf, lockStaleMs, readHolder } from "../store/fs/fs-store.js";
import { layoutFolders, layoutOf, type Layout } from "../store/fs/layout.js";
import { countMirror, logCheckOf, verifyLogFile } from "../store/fs/read-chain.js";
import { CAP, GuardedReadError, kindOf, readGuarded, readGuardedText } from "../store/fs/guarded-read.js";
import { configReadError } from "../store/fs/config-file.js";
import { KeyFileError } from "../trust/key-file.js";
import { hasOldLog } from "../store/fs/adopt.js";
import { stateFileProblem } from "../store/fs/state-file.js";
import type { Facts } from "./facts.js";
import { classifyPath } from "../transports/files/classify.js";
import { scanCandidates } from "../transports/files/scan.js";
import { whatItSays } from "../transports/files/prepare.js";
import { strayTarget } from "../machine/decide-stray.js";
import type { StraySays } from "../machine/decide.js";
import { ROLE, isIgnoredName } from "../config/names.js";
import type { Pipeline } from "../config/pipeline.js";
import { readdir } from "node:fs/promises";
import { REQUIRED_PATHS } from "./layout-check.js";
import { probeAgents, probeFds } from "./probe-agents.js";

const packageJson = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "package.json");
/** How much of the log's end is read to find the newest dated entry. */
const TAIL_BYTES = 64 * 1024;

/** lstat of the root and the private area, as ModeFacts. */
async function readModes(L: Layout): Promise<{ root?: ModeFacts; dot?: ModeFacts }> {
  const of = async (p: string): Promise<ModeFacts | undefined> => {
    const st = await lstat(p).catch(() => undefined);
    return st ? { mode: st.mode & 0o7777, uid: st.uid, isLink: st.isSymbolicLink(), isDir: st.isDirectory() } : undefined;
  };
  const [root, dot] = await Promise.all([of(L.root), of(L.dot)]);
  return { ...(root ? { root } : {}), ...(dot ? { dot } : {}) };
}

/** The drop zones that are there (artifacts/, artifacts/<EPIC>/, messages/inbox/<role>/), their modes and owners; none without an agents' group. */
async function readZones(L: Layout, roles: readonly string[], agentsGroup: string | undefined): Promise<{ zones?: Array<{ path: string; mode: number; uid: number }> }> {
  if (agentsGroup === undefined) return {};
  const epics = await readdir(L.artifacts).catch(() => [] as string[]);
  const dirs = [L.artifacts, ...epics.filter((n) => !n.startsWith(".")).map((n) => join(L.artifacts, n)), ...roles.map((r) => join(L.inbox, r))];
  const zones: Array<{ path: string; mode: number; uid: number }> = [];
  for (const d of dirs) {
    const st = await lstat(d).catch(() => undefined);
    if (st?.isDirectory()) zones.push({ path: relative(L.root, d), mode: st.mode & 0o7777, uid: st.uid });
  }
  return { zones };
}

/** Which of these folders (relative to the root) are symbolic links, and where each leads. */
async function linkedFolders(root: string, rels: readonly string[]): Promise<Array<{ path: string; target: string }>> {
  const out: Array<{ path: string; target: string }> = [];
  for (const rel of rels) {
    const abs = join(root, rel);
    const st = await lstat(abs).catch(() => undefined);
    if (st?.isSymbolicLink()) out.push({ path: rel, target: await realpath(abs).catch(() => readlink(abs).catch(() => "?")) });
  }
  return out;
}

const errText = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

export async function probe(root: string, opts: { poll?: boolean; procDir?: string; now?: () => number } = {}): Promise<Facts> {
  const now = opts.now ?? Date.now;
  const L = layoutOf(root);
  const rootExists = existsSync(root);
  // consensus.yaml and stray files are where agents can write: read as the daemon reads, never a FIFO
  // (a plain read blocks doctor for good), a link or more than the cap
  const config: Facts["config"] = await readGuardedText(L.config, { maxBytes: CAP.config }).then(
    (text) => ({ path: L.config, parsed: parseConfig(text, L.config) }),
    (e: unknown) => (e instanceof GuardedReadError ? { path: L.config, error: e.message, fix: configReadError(L.config, e).issues[0]!.fix } : { path: L.config, error: errText(e) }),
  );
  const rules = rootExists ? await probeRules(L) : undefined;
  // Without a valid config the roles are unknown: the config check says why, and no inbox is asked for.
  const roles = config.parsed?.pipeline?.roles ?? [];
  const missingInboxes = roles.filter((r) => !existsSync(join(L.inbox, r)));
  const clock: Facts["clock"] = {};
  const writable = rootExists ? await probeWritable(L, roles, clock, now) : [];
  const log = await readLog(L);
  const procDir = opts.procDir ?? process.env.CONSENSUS_PROC_DIR ?? "/proc";
  return {
    root,
    now: now(),
    node: { version: process.version, ...(await readEngines()) },
    layout: { rootExists, missing: REQUIRED_PATHS.filter((p) => !existsSync(join(root, p))), missingInboxes, linked: rootExists ? await linkedFolders(root, [...REQUIRED_PATHS.filter((p) => p !== relative(root, L.config)), ...roles.map((r) => `messages/inbox/${r}`)]) : [] },
    config,
    ...(rules ? { rules } : {}),
    writable,
    inotify: { procDir, poll: !!opts.poll, folders: countFolders(L, missingInboxes.length), ...(await readInotify(procDir)) },
    disk: await readDisk(rootExists ? root : dirname(root)),
    lock: await readLock(L, now),
    modes: { dotPath: L.dot, ...(process.getuid ? { uid: process.getuid() } : {}), ...(await readModes(L)), ...(rootExists ? await readZones(L, roles, (rules?.pipeline ?? config.parsed?.pipeline)?.security.agentsGroup) : {}), ...(await readProtectedHardlinks(procDir)) },
    log,
    clock: { ...clock, ...(log.chain ? await readNewest(L.record, log.chain.lines) : {}) },
    state: await readState(L.state),
    pack: probePack(L),
    fds: await probeFds(),
    agents: probeAgents(rules?.pipeline ?? config.parsed?.pipeline),
    strays: rootExists ? await readStrays(L, config.parsed?.pipeline) : { files: [], folders: [], moreFiles: 0 },
    agentPrograms: (rules?.pipeline ?? config.parsed?.pipeline) ? probeAgentPrograms((rules?.pipeline ?? config.parsed?.pipeline)!, projectOf(root)) : [],
  };
}

/** How many stray files doctor names (the count says how many more). */
const STRAYS_SHOWN = 20;
/** The root's folders of the layout (and the daemon's): anything else at the top is a stray folder. */
const LAYOUT_TOP = new Set(["artifacts", "messages", "epics", "current", "archive", "logs"]);

/** Stray files (the scan's, with what their content says of where they belong) and stray folders. */
/** The rules in force, read as a read-only command does (unverified where the key cannot be read). */
async function probeRules(L: Layout): Promise<NonNullable<Facts["rules"]>> {
  const logHas = await logHasEntries(L);
  try {
    const r = await readRulesRecord(L, "if-possible");
    if (r.kind === "none") return { kind: "none", path: L.rules, logHasEntries: logHas };
    if (r.kind === "refused") return { kind: "refused", path: L.rules, reason: r.reason, logHasEntries: logHas };
    return { kind: "ok", path: L.rules, version: r.record.version, applied_by: r.record.applied_by, applied_at: r.record.applied_at, logHasEntries: logHas, pipeline: r.pipeline };
  } catch (e) {
    return { kind: "refused", path: L.rules, reason: errText(e), logHasEntries: logHas };
  }
}

async function readStrays(L: Layout, pipeline: Pipeline | undefined): Promise<Facts["strays"]> {
  const found = (await scanCandidates(L.root)).filter((c) => c.stray);
  const files: Facts["strays"]["files"] = [];
  for (const c of found.slice(0, STRAYS_SHOWN)) {
    const k = classifyPath(c.rel);
    if (k.kind !== "stray") continue;
    const says: StraySays = await readGuarded(join(L.root, c.rel), { maxBytes: 1 << 20 }).then(({ bytes }) => whatItSays(c.rel, bytes), () => ({}));
    const suggest = pipeline ? strayTarget(pipeline, { file: c.rel, ...(k.suggest ? { suggest: k.suggest } : {}), says }, says.epic_id).suggest : k.suggest;
    files.push({ path: c.rel, reason: k.reason, ...(suggest ? { suggest } : {}) });
  }
  const dirs = async (abs: string): Promise<string[]> => readdir(abs, { withFileTypes: true }).then((ds) => ds.filter((d) => d.isDirectory() && !isIgnoredName(d.name)).map((d) => d.name), () => []);
  const folders: Facts["strays"]["folders"] = [
    ...(await dirs(L.root)).filter((n) => !LAYOUT_TOP.has(n)).map((n) => ({ path: `${n}/`, ...(LAYOUT_TOP.has(n.toLowerCase()) ? { suggest: `${n.toLowerCase()}/` } : {}) })),
    ...(await dirs(join(L.root, "messages"))).filter((n) => n !== "inbox").map((n) => ({ path: `messages/${n}/`, ...(ROLE.test(n) ? { suggest: `messages/inbox/${n}/` } : {}) })),
  ];
  return { files, folders, moreFiles: Math.max(0, found.length - STRAYS_SHOWN) };
}

async function readEngines(): Promise<{ engines?: string }> {
  try {
    const pkg = JSON.parse(await readFile(packageJson, "utf8")) as { engines?: { node?: string } };
    return pkg.engines?.node ? { engines: pkg.engines.node } : {};
  } catch {
    return {};
  }
}

/** The folders the daemon writes into; each gets a dot-temp file created and removed. The first also times the file system's clock. */
async function probeWritable(L: Layout, roles: readonly string[], clock: Facts["clock"], now: () => number): Promise<Facts["writable"]> {
  const folders = [...layoutFolders(L), L.requests, L.blobs, ...roles.map((r) => join(L.inbox, r))].filter((d) => existsSync(d));
  const out: Facts["writable"] = [];
  for (const dir of folders) {
    const tmp = join(dir, `.doctor-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
    const rel = relative(L.root, dir) || ".";
    try {
      const before = now();
      await writeFile(tmp, "doctor\n");
      if (clock.tempMtimeMs === undefined) {
        clock.tempWrittenAt = before;
        clock.tempMtimeMs = (await stat(tmp)).mtimeMs;
      }
      await unlink(tmp);
      out.push({ path: rel });
    } catch (e) {
      await unlink(tmp).catch(() => {});
      out.push({ path: rel, error: errText(e) });
      if (clock.tempMtimeMs === undefined) clock.error = `cannot write in ${rel}`;
    }
  }
  // The log itself must take appends (opening it for append changes nothing).
  if (existsSync(L.log)) {
    try {
      // never a plain open: a FIFO planted there would block doctor for good (O_NONBLOCK: ENXIO instead)
      const fh = await open(L.log, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
      const st = await fh.stat().finally(() => fh.close());
      out.push(st.isFile() ? { path: relative(L.root, L.log) } : { path: relative(L.root, L.log), error: `${kindOf(st)}, not a regular file` });
    } catch (e) {
      const code = errText(e);
      out.push({ path: relative(L.root, L.log), error: code === "ELOOP" ? "a symbolic link, not a regular file" : code === "ENXIO" ? "a FIFO (named pipe), not a regular file" : code });
    }
  }
  return out;
}

/** What watch.ts would watch now, plus the role inboxes it will watch once the daemon creates them. */
function countFolders(L: Layout, inboxesToCome: number): number {
  return foldersToWatch(L).length + inboxesToCome;
}

async function readInotify(procDir: string): Promise<{ maxWatches?: number; maxInstances?: number; error?: string }> {
  const read = async (name: string): Promise<number> => {
    const v = Number((await readFile(join(procDir, "sys", "fs", "inotify", name), "utf8")).trim());
    if (!Number.isFinite(v)) throw new Error(`${name} is not a number`);
    return v;
  };
  try {
    return { maxWatches: await read("max_user_watches"), maxInstances: await read("max_user_instances") };
  } catch (e) {
    return { error: errText(e) };
  }
}

async function readDisk(path: string): Promise<Facts["disk"]> {
  try {
    const s = await statfs(path);
    return { path, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize, ...(s.files > 0 ? { freeInodes: s.ffree, totalInodes: s.files } : {}) };
  } catch (e) {
    return { path, error: errText(e) };
  }
}

async function readLock(L: Layout, now: () => number): Promise<Facts["lock"]> {
  const lockPath = lockPathOf(L);
  const lockAgeMs = await stat(lockPath).then((s) => Math.max(0, now() - s.mtimeMs), () => undefined);
  const holder = await readHolder(L.holder);
  // holderIsDead is true only when it can tell (same host, no such pid); on another host we cannot.
  const holderAlive = holder === undefined ? undefined : holderIsDead(holder) ? false : holder.host === hostname() ? true : undefined;
  return { lockPath, holderPath: L.holder, staleMs: lockStaleMs(), ...(lockAgeMs !== undefined ? { lockAgeMs } : {}), ...(holder ? { holder } : {}), ...(holderAlive !== undefined ? { holderAlive } : {}) };
}

async function readLog(L: Layout): Promise<Facts["log"]> {
  const path = L.record;
  if (!existsSync(path)) return { path, exists: false, tornTail: false, adoptable: await hasOldLog(L) };
  try {
    const { check } = await logCheckOf(L);
    const chain = await verifyLogFile(path, check);
    const size = (await stat(path)).size;
    let tornTail = false;
    if (size > 0) {
      const fh = await open(path, "r");
      try {
        const b = Buffer.alloc(1);
        await fh.read(b, 0, 1, size - 1);
        tornTail = b[0] !== 10;
      } finally {
        await fh.close();
      }
    }
    const mirror = { path: L.log, ...(await countMirror(L)) };
    return { path, exists: true, chain, tornTail, mirror };
  } catch (e) {
    return { path, exists: true, tornTail: false, error: e instanceof KeyFileError ? `${e.message} (${e.fix})` : errText(e) };
  }
}

/** The newest dated entry among the log's last lines (the file is append-only, so they are the latest). */
async function readNewest(path: string, totalLines: number): Promise<Pick<Facts["clock"], "newest">> {
  try {
    const { size } = await stat(path);
    const from = Math.max(0, size - TAIL_BYTES);
    const fh = await open(path, "r");
    let text: string;
    try {
      const buf = Buffer.alloc(size - from);
      await fh.read(buf, 0, buf.length, from);
      text = buf.toString("utf8");
    } finally {
      await fh.close();
    }
    const lines = text.split("\n");
    if (text.endsWith("\n")) lines.pop();
    if (from > 0) lines.shift(); // the first is cut mid-line
    const firstLineNo = totalLines - lines.length + 1;
    let newest: NonNullable<Facts["clock"]["newest"]> | undefined;
    lines.forEach((raw, i) => {
      if (!raw) return;
      try {
        const e = JSON.parse(raw) as { timestamp?: unknown; agent?: unknown };
        if (typeof e.timestamp !== "string" || !Number.isFinite(Date.parse(e.timestamp))) return;
        if (!newest || Date.parse(e.timestamp) > Date.parse(newest.timestamp)) newest = { line: firstLineNo + i, timestamp: e.timestamp, agent: String(e.agent) };
      } catch {
        /* a torn or foreign line: the log check reports it */
      }
    });
    return newest ? { newest } : {};
  } catch {
    return {};
  }
}

async function readState(path: string): Promise<Facts["state"]> {
  let text: string;
  try {
    // under the root, where an agent may have put a FIFO (a plain read blocks doctor for good) or a link
    text = await readGuardedText(path, { maxBytes: CAP.state });
  } catch (e) {
    if (e instanceof GuardedReadError) return { path, exists: true, problem: e.message };
    return { path, exists: false };
  }
  const { problem } = stateFileProblem(text);
  return problem ? { path, exists: true, problem } : { path, exists: true };
}

/** The pack as lstat sees it, and the checkpoint's pack_end (read as a hint: doctor does not check the checkpoint's MAC). */
function probePack(L: Layout): Facts["pack"] {
  const st = lstatSync(L.pack, { throwIfNoEntry: false });
  let packEnd: number | undefined;
  try {
    const m = /"pack_end":(\d+)/.exec(readFileSync(L.checkpoint, "latin1"));
    if (m) packEnd = Number(m[1]);
  } catch {
    packEnd = undefined;
  }
  if (!st) return { path: L.pack, size: 0, links: 0, ...(packEnd ? { packEnd } : {}) };
  const found = st.isSymbolicLink() ? "a symbolic link" : st.isFile() ? "a regular file" : st.isDirectory() ? "a folder" : "not a regular file";
  return { path: L.pack, found, size: st.size, links: st.nlink, ...(packEnd ? { packEnd } : {}) };
}

/** fs.protected_hardlinks (Linux): with it 0, any user may hard-link another's file into a drop zone. */
async function readProtectedHardlinks(procDir: string): Promise<{ protectedHardlinks?: string }> {
  try {
    return { protectedHardlinks: (await readFile(join(procDir, "sys", "fs", "protected_hardlinks"), "utf8")).trim() };
  } catch {
    return {};
  }
}
