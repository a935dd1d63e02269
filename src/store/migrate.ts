/**
 * `consensus migrate`: a root moved between stores, whole and still verifiable. The log moves line for
 * line (daemon entries keep their seq and hash; agents' lines in a folder log ride along with the
 * entry whose hash chained them), and with it the accepted artifacts' bytes, what was published, the
 * notices and the rules in force. The epics' state and the marks are folds of the log, rebuilt on the
 * way in. The target must hold no log yet (STORE_NOT_EMPTY): nothing is merged or overwritten.
 */
import { installRules, readRulesRecord, versionOf } from "./fs/rules.js";
import { currentUser } from "../trust/os-identity.js";
import { createHash } from "node:crypto";
import { lstat, readdir } from "node:fs/promises";
import { readConfigText } from "./fs/config-file.js";
import { basename, dirname, join } from "node:path";
import { ConsensusError, issue } from "../errors/issue.js";
import { unsealLine } from "../log/chain.js";
import { applyEntry, emptyView, usedIdsOf } from "../log/replay.js";
import { CAP, GuardedReadError, readGuarded } from "./fs/guarded-read.js";
import type { LogEntry } from "../schemas/types.gen.js";
import { PRIVATE_FILE_MODE, writeAtomic } from "./fs/atomic-write.js";
import { checkEpicId, checkFileName, checkIteration, checkRole, checkSha256 } from "./fs/effect-names.js";
import { PRIVATE_DIR_MODE, safeMkdir } from "./fs/safe-dirs.js";
import { FsStore } from "./fs/fs-store.js";
import { layoutOf } from "./fs/layout.js";
import { packAddressOf, readRecords, writeRecordsAt, type PackAddress } from "./fs/pack.js";
import { ensureKeyring } from "../trust/key-file.js";
import { epicKeyOf } from "./pg/fence.js";
import { PgStore } from "./pg/pg-store.js";

export interface MigrateReport {
  entries: number;
  agentLines: number;
  blobs: number;
  published: number;
  notices: number;
  /** Files under archive/ or the inboxes not moved: a link, a FIFO, over the cap, or bytes the log never accepted (paths). */
  skipped?: string[];
}

/**
 * A file migrate moves, read as the daemon reads the bus: no link followed, no FIFO opened, at most
 * CAP.state bytes, and (singleLink) a file with one name only; undefined when it is none of that.
 */
async function readMoved(path: string, singleLink = false): Promise<Buffer | undefined> {
  try {
    return (await readGuarded(path, { maxBytes: CAP.state, singleLink })).bytes;
  } catch (e) {
    if (e instanceof GuardedReadError) return undefined;
    throw e;
  }
}

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** Folder root → PostgreSQL store. */
export async function migrateFolderToPg(root: string, url: string, by: string): Promise<MigrateReport> {
  const L = layoutOf(root);
  let rules: string;
  // the rules in force move, not the root's consensus.yaml (which may hold an edit nobody applied)
  const inForce = await readRulesRecord(L);
  if (inForce.kind === "refused") throw new ConsensusError(issue("RULES_FORGED", { message: `the rules in force do not verify: ${inForce.reason}`, file: L.rules }));
  rules = inForce.kind === "ok" ? inForce.record.text : await readConfigText(L.config);
  const store = await PgStore.open(url);
  try {
    const [head] = await store.sql`SELECT seq::int AS seq FROM head`;
    if (Number(head!.seq) !== 0) throw new ConsensusError(issue("STORE_NOT_EMPTY", { message: `${store.description} already holds ${Number(head!.seq)} log entries` }));
    const fs = new FsStore(L, { readOnly: true });
    const view = emptyView();
    const rows: Array<Record<string, unknown>> = [];
    const marks: Array<{ kind: string; mark: string; seq: number }> = [];
    const epicSeq = new Map<string, number>();
    const epics = new Map<string, { epic_seq: number; last_seq: number }>();
    let foreign = "";
    let agentLines = 0;
    let last = { seq: 0, hash: "0".repeat(64) };
    const packAddresses: PackAddress[] = [];
    const skipped: string[] = [];
    /**
     * What the log accepted, as `<epic>/<iteration>/<file name>@<SHA-256>`: an archive file is moved only
     * when the log accepted those bytes under that name for that epic and iteration.
     */
    const accepted = new Set<string>();
    for await (const l of fs.readEntries()) {
      const sealed = unsealLine(l.raw);
      if (!sealed || !l.entry || typeof l.entry.seq !== "number") {
        foreign += `${l.raw}\n`;
        agentLines++;
        continue;
      }
      const e = l.entry as LogEntry & { seq: number };
      const addr = packAddressOf(e);
      if (addr) packAddresses.push(addr);
      const key = epicKeyOf(e);
      const n = (epicSeq.get(key) ?? 0) + 1;
      epicSeq.set(key, n);
      epics.set(key, { epic_seq: n, last_seq: e.seq });
      rows.push({ seq: e.seq, epic_id: key, epic_seq: n, decision: e.decision, input: e.input ?? null, line: l.raw, foreign_text: foreign || null, hash: sealed.hash });
      if (e.input) marks.push({ kind: "p", mark: e.input, seq: e.seq });
      // every id the entry uses up (a message id, a launch-token nonce), as the store's own marks hold them
      for (const id of usedIdsOf(e)) marks.push({ kind: "m", mark: id, seq: e.seq });
      const acc = e.decision === "artifact_accepted" ? (e.details as { sha256?: unknown; file?: unknown } | undefined) : undefined;
      if (typeof acc?.sha256 === "string" && typeof acc.file === "string" && e.epic_id !== undefined && e.iteration !== undefined) accepted.add(`${e.epic_id}/${e.iteration}/${basename(acc.file)}@${acc.sha256}`);
      foreign = "";
      applyEntry(view, e);
      last = { seq: e.seq, hash: sealed.hash };
    }
    const epicRows = [...epics].map(([epic_id, s]) => ({ epic_id, ...s, state: view.epics.get(epic_id) ?? null }));
    const blobs = await filesUnder(L.blobs, 2);
    // accepted bytes in the pack (roots since issue 17): each record an entry names
    const packed = readRecords(L.pack, packAddresses);
    const published = (await filesUnder(L.archive, 3)).map((p) => ({ p, parts: p.slice(L.archive.length + 1).split("/") }));
    const notices = (await filesUnder(L.inbox, 2)).filter((p) => p.split("/").pop()!.startsWith("notice-"));
    await store.sql.begin(async (tx) => {
      for (let i = 0; i < rows.length; i += 1000) {
        await tx`INSERT INTO entries (seq, epic_id, epic_seq, decision, input, line, foreign_text, hash, effects_done)
          SELECT x.*, true FROM jsonb_to_recordset(${tx.json(rows.slice(i, i + 1000) as never)}) AS x(seq int8, epic_id text, epic_seq int8, decision text, input text, line text, foreign_text text, hash text)`;
      }
      for (let i = 0; i < marks.length; i += 5000) await tx`INSERT INTO marks SELECT * FROM jsonb_to_recordset(${tx.json(marks.slice(i, i + 5000) as never)}) AS x(kind text, mark text, seq int8) ON CONFLICT DO NOTHING`;
      if (epicRows.length) await tx`INSERT INTO epics (epic_id, epic_seq, last_seq, state) SELECT * FROM jsonb_to_recordset(${tx.json(epicRows as never)}) AS x(epic_id text, epic_seq int8, last_seq int8, state jsonb)`;
      for (const b of blobs) {
        const bytes = await readMoved(b);
        if (!bytes) {
          skipped.push(b);
          continue;
        }
        await tx`INSERT INTO blobs VALUES (${sha(bytes)}, ${bytes}) ON CONFLICT DO NOTHING`;
      }
      for (const [h, bytes] of packed) await tx`INSERT INTO blobs VALUES (${h}, ${Buffer.from(bytes)}) ON CONFLICT DO NOTHING`;
      for (const { p, parts } of published) {
        const [epic, it, file] = parts as [string, string, string];
        if (!/^\d+$/.test(it) || file.startsWith(".")) continue;
        // archive/ is written by the daemon, but a same-user agent can put anything there (a link to a
        // secret, a FIFO, other bytes, accepted bytes under another epic or name): only the bytes the
        // log accepted as that epic's iteration's file are moved
        const bytes = await readMoved(p);
        const h = bytes ? sha(bytes) : "";
        if (!bytes || !accepted.has(`${epic}/${Number(it)}/${file}@${h}`)) {
          skipped.push(p);
          continue;
        }
        await tx`INSERT INTO blobs VALUES (${h}, ${bytes}) ON CONFLICT DO NOTHING`;
        await tx`INSERT INTO published (epic_id, iteration, file, sha256) VALUES (${epic}, ${Number(it)}, ${file}, ${h}) ON CONFLICT DO NOTHING`;
      }
      for (const p of notices) {
        const [role, name] = p.slice(L.inbox.length + 1).split("/") as [string, string];
        // inboxes are drop zones: a notice-* name there may be anyone's link or FIFO (one name, no link, capped)
        const bytes = await readMoved(p, true);
        if (!bytes) {
          skipped.push(p);
          continue;
        }
        await tx`INSERT INTO notices (role, name, body) VALUES (${role}, ${name}, ${bytes.toString("utf8")}) ON CONFLICT DO NOTHING`;
      }
      await tx`INSERT INTO rules (version, text, applied_by) VALUES (${sha(Buffer.from(rules))}, ${rules}, ${by}) ON CONFLICT (one) DO UPDATE SET version = excluded.version, text = excluded.text, applied_by = excluded.applied_by, applied_at = now()`;
      await tx`UPDATE head SET seq = ${last.seq}, hash = ${last.hash}`;
    });
    return { entries: rows.length, agentLines, blobs: blobs.length + packed.size, published: published.length - skipped.filter((p) => p.startsWith(L.archive)).length, notices: notices.length - skipped.filter((p) => p.startsWith(L.inbox)).length, ...(skipped.length ? { skipped } : {}) };
  } finally {
    await store.close();
  }
}

/** PostgreSQL store → a folder root made by `consensus init` (its log must be empty). */
export async function migratePgToFolder(url: string, root: string): Promise<MigrateReport> {
  const L = layoutOf(root);
  const fsStore = new FsStore(L, { readOnly: true });
  for await (const l of fsStore.readEntries()) {
    if (l.raw.trim()) throw new ConsensusError(issue("STORE_NOT_EMPTY", { message: `${L.record} already has lines`, file: L.record }));
  }
  // a size, not a read: whatever is at that name (a FIFO, a link) is not opened
  if ((await lstat(L.log).catch(() => undefined))?.size) throw new ConsensusError(issue("STORE_NOT_EMPTY", { message: `${L.log} already has lines`, file: L.log }));
  const store = await PgStore.open(url, { readOnly: true });
  try {
    const rules = await store.rules();
    if (!rules) throw new ConsensusError(issue("CONFIG_MISSING", { message: `${store.description} has no rules in force` }));
    const lines: string[] = [];
    let entries = 0;
    let agentLines = 0;
    for await (const l of store.readEntries()) {
      lines.push(l.raw);
      if (l.entry) entries++;
      else agentLines++;
    }
    await safeMkdir(L.root, L.current);
    await writeAtomic(L.config, rules.text, { durable: true });
    await installRules(L, { version: versionOf(rules.text), text: rules.text, applied_by: process.env.CONSENSUS_USER ?? currentUser(), os_user: currentUser(), applied_at: new Date().toISOString() });
    let blobs = 0;
    // every name from a row is checked again here, and folders are made refusing links (the target
    // folder's drop zones are agents' to write: an inbox or archive folder may be a planted link)
    for (const r of await store.sql`SELECT sha256, bytes FROM blobs`) {
      const h = checkSha256(String(r.sha256));
      const p = join(L.blobs, h.slice(0, 2), h);
      await safeMkdir(L.root, dirname(p), PRIVATE_DIR_MODE);
      await writeAtomic(p, r.bytes as Buffer, { durable: "file", root: L.root });
      blobs++;
    }
    const published = await store.sql`SELECT p.epic_id, p.iteration, p.file, b.bytes FROM published p JOIN blobs b USING (sha256)`;
    for (const p of published) {
      const target = join(L.archive, checkEpicId(String(p.epic_id)), String(checkIteration(Number(p.iteration))), checkFileName(String(p.file)));
      await safeMkdir(L.root, dirname(target));
      await writeAtomic(target, p.bytes as Buffer, { root: L.root });
    }
    const notices = await store.sql`SELECT role, name, body FROM notices`;
    for (const n of notices) {
      const target = join(L.inbox, checkRole(String(n.role)), checkFileName(String(n.name), "name"));
      await safeMkdir(L.root, dirname(target));
      await writeAtomic(target, String(n.body), { root: L.root });
    }
    // entries that came from a folder name their records in its pack (details.pack): the new pack
    // holds each at the same address, so this root's recovery finds them whole
    const addrs = lines.flatMap((l) => {
      if (!unsealLine(l)) return [];
      const a = packAddressOf(JSON.parse(l) as LogEntry);
      return a ? [a] : [];
    });
    if (addrs.length) {
      const rows = await store.sql`SELECT sha256, bytes FROM blobs WHERE sha256 = ANY(${[...new Set(addrs.map((a) => a.sha256))]})`;
      const bytesOf = new Map(rows.map((r) => [String(r.sha256), r.bytes as Buffer]));
      await safeMkdir(L.root, L.dot, PRIVATE_DIR_MODE);
      await writeRecordsAt(L.pack, addrs.flatMap((addr) => (bytesOf.has(addr.sha256) ? [{ addr, bytes: bytesOf.get(addr.sha256)! }] : [])));
    }
    // the log last: a root whose log is there is a root that moved. The folder's log of record seals
    // each daemon line with this root's key (the database needs none: agents cannot write it); the
    // readable copy gets the same lines
    const { keyring } = await ensureKeyring(L.dot);
    const sealedLines = lines.map((l) => {
      const s = unsealLine(l);
      // every daemon line, also one that came in from a folder with that folder's MAC: this root's key
      // does not hold the other's, and a line it cannot check is not one of its sealed lines (the hash stays)
      return s ? `${s.signed},"mac":"${keyring.mac("log", s.signed)}"}` : l;
    });
    const text = sealedLines.length ? `${sealedLines.join("\n")}\n` : "";
    await writeAtomic(L.record, text, { durable: true, mode: PRIVATE_FILE_MODE, root: L.root });
    await writeAtomic(L.log, text);
    return { entries, agentLines, blobs, published: published.length, notices: notices.length };
  } finally {
    await store.close();
  }
}

/** Files exactly `depth` folders below dir (dot-files and temporaries left out). */
async function filesUnder(dir: string, depth: number): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith(".") || e.name.endsWith(".tmp")) continue;
    const p = join(dir, e.name);
    // at the files' depth everything but a folder is listed (a link or a FIFO too: readMoved refuses
    // it and it is named, never passed over in silence); folders above are walked, links never followed
    if (depth === 1) {
      if (!e.isDirectory()) out.push(p);
    } else if (e.isDirectory()) out.push(...(await filesUnder(p, depth - 1)));
  }
  return out.sort();
}
