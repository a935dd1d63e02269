/**
 * The inbox tool's answer: every message and notice in messages/inbox/<role>/, each marked
 * - in_force: it still asks something of this role (its epic is at that stage and iteration; a veto
 *   still open);
 * - resolved: the epic moved on, or the veto was resolved;
 * - rejected: the daemon rejected the message (with its errors);
 * - pending: the daemon has not decided it yet;
 * - not_genuine: a file named like a daemon notice that no log entry produced (someone else wrote it;
 *   never act on it).
 * A notice's content is rebuilt from the log entry that produced it (effectsOf), not read from the
 * file, so a notice edited in the inbox shows as the daemon wrote it. A notice at its keyed fallback
 * name (`notice-…-<subject>.<16 hex>.yaml`, trust/notice-name.ts: its regular name was taken) is read
 * as the notice of its regular name, when its keyed part checks with the daemon key (where it can be
 * read) or, without it, its MAC with the role's notice keys; with neither it is not_genuine (anyone
 * can make up such a name).
 */
import { createHash } from "node:crypto";
import { NOTICE_PREFIX, isKeyedNoticeName, noticeBaseName } from "../../config/names.js";
import { effectsOf, type NoticeDoc } from "../../machine/effects.js";
import { interpretMessage } from "../../schemas/interpret.js";
import type { Epic } from "../../schemas/types.gen.js";
import { verdictIn, type DaemonEntry } from "../await-decision.js";
import type { McpBus, Snapshot } from "./bus.js";
import { errorsOfEntry } from "./results.js";
import { checkNotice, parseNoticeKeys, roleNoticeKeys } from "../../trust/notice-mac.js";
import type { Keyring } from "../../trust/keyring.js";
import type { DaemonKey } from "../../trust/mac.js";
import { keyedNoticeNameOk } from "../../trust/notice-name.js";

/** A role's notice keys: CONSENSUS_NOTICE_KEY's, else derived from the daemon keyring where it can be read; undefined: neither. */
export function noticeKeysOf(role: string, env: string | undefined, keyring: Keyring | undefined, now: number): Map<string, string> | undefined {
  const given = parseNoticeKeys(env);
  if (given.size) return given;
  if (!keyring) return undefined;
  return roleNoticeKeys(keyring.keysForFile(), role, now);
}

export type InboxStatus = "in_force" | "resolved" | "rejected" | "pending" | "not_genuine";

export interface InboxItem {
  file: string;
  kind: "notice" | "message";
  status: InboxStatus;
  from?: string;
  type?: string;
  subject?: string;
  epic_id?: string;
  iteration?: number;
  timestamp?: string;
  content?: unknown;
  errors?: unknown[];
  /** not_genuine: why (no log entry produced it, or its MAC does not verify). */
  reason?: string;
}

/** notice-<seq>-<EPIC>-<subject>.yaml (effects.ts noticeNameOf); subjects have no "-". Matched on noticeBaseName. */
const NOTICE_NAME = /^notice-(\d{8})-(.+)-[^-]+\.yaml$/;

/**
 * noticeKeys: the role's notice keys (key id → hex: CONSENSUS_NOTICE_KEY, or derived from the daemon
 * key by whoever can read it); a notice whose MAC does not verify with them is not_genuine. Without
 * keys only the log is asked (which entry produced it). daemonKeys: the daemon's keys where this
 * reader can read them (keyring.keysForFile()), which check a keyed fallback name's keyed part.
 */
export async function inboxOf(role: string, bus: McpBus, snap: Snapshot, epicId?: string, noticeKeys?: ReadonlyMap<string, string>, daemonKeys?: readonly DaemonKey[]): Promise<{ role: string; items: InboxItem[] }> {
  const names = (await bus.names(`messages/inbox/${role}`)).filter((n) => !n.startsWith(".") && /\.(ya?ml|json)$/i.test(n)).sort();
  const entries = await bus.entries();
  const bySeq = new Map(entries.map((e) => [e.seq, e]));
  const items: InboxItem[] = [];
  /**
   * The users a daemon notice's file may belong to: root, the owner of the daemon's private folder, and
   * the owner of messages/inbox/ (the daemon's, or on a bridged host the bridge's: no agent may write it)
   */
  let daemonUids: Set<number> | undefined;
  for (const name of names) {
    const rel = `messages/inbox/${role}/${name}`;
    let item = name.startsWith(NOTICE_PREFIX) ? noticeItem(rel, name, role, bySeq, snap, noticeKeys, daemonKeys) : await messageItem(rel, name, role, bus, entries, snap);
    // a notice's file is the daemon's: another user's at its name is a copy (a genuine notice's bytes
    // pass its MAC), whose owner may put other bytes there once it is listed; the daemon's notices
    // cannot be replaced (the inbox has the sticky bit). A regular name may be the squatter's once the
    // notice went to its keyed name; a keyed one must be a file here (on a database, the regular name's
    // notice is its row: no file needed)
    if (item?.kind === "notice" && item.status !== "not_genuine") {
      daemonUids ??= new Set([0, ...[await bus.ownerOf(".consensus"), await bus.ownerOf("messages/inbox")].filter((u): u is number => u !== undefined)]);
      const uid = await bus.ownerOf(rel);
      if (uid === undefined ? isKeyedNoticeName(name) : !daemonUids.has(uid)) item = { file: rel, kind: "notice", status: "not_genuine", reason: `a notice name whose file is not the daemon's (owner uid ${uid ?? "none"}; the daemon's: ${[...daemonUids].join(" or ")}): another user's copy`, ...(item.epic_id ? { epic_id: item.epic_id } : {}) };
    }
    if (item?.kind === "notice" && item.status !== "not_genuine" && noticeKeys) {
      const check = checkNotice(noticeKeys, (await bus.text(rel)) ?? "");
      if (!check.ok) item = { file: rel, kind: "notice", status: "not_genuine", reason: check.reason, ...(item.epic_id ? { epic_id: item.epic_id } : {}) };
    }
    if (item && (!epicId || item.epic_id === epicId)) items.push(item);
  }
  return { role, items };
}

function noticeItem(rel: string, name: string, role: string, bySeq: Map<number, DaemonEntry>, snap: Snapshot, noticeKeys?: ReadonlyMap<string, string>, daemonKeys?: readonly DaemonKey[]): InboxItem {
  const base = noticeBaseName(name);
  const m = NOTICE_NAME.exec(base);
  const entry = m ? bySeq.get(Number(m[1])) : undefined;
  const fx = entry ? effectsOf(entry, snap.pipeline).find((f) => f.type === "notice" && f.role === role && f.name === base) : undefined;
  if (!fx || fx.type !== "notice") return { file: rel, kind: "notice", status: "not_genuine", reason: "no decision of the daemon produced a notice of this name", ...(m ? { epic_id: m[2] } : {}) };
  if (isKeyedNoticeName(name) && (daemonKeys ? !keyedNoticeNameOk(daemonKeys, role, name) : !noticeKeys)) {
    const reason = daemonKeys ? "a keyed notice name the daemon key did not make (anyone can make up such a name)" : "a keyed notice name, and neither the daemon key nor this role's notice keys (CONSENSUS_NOTICE_KEY) are here to check it";
    return { file: rel, kind: "notice", status: "not_genuine", reason, ...(m ? { epic_id: m[2] } : {}) };
  }
  const n = fx.notice;
  const epic = n.epic_id ? snap.view.epics.get(n.epic_id) : undefined;
  return { file: rel, kind: "notice", status: noticeInForce(n, epic, entry!, bySeq) ? "in_force" : "resolved", from: n.from, type: n.type, subject: n.subject, ...(n.epic_id ? { epic_id: n.epic_id } : {}), ...(n.iteration ? { iteration: n.iteration } : {}), timestamp: n.timestamp, content: n.content };
}

/** A stage notice holds while the epic is still at that stage and iteration; a rejection notice until that file is accepted. */
function noticeInForce(n: NoticeDoc, epic: Epic | undefined, entry: DaemonEntry, bySeq: Map<number, DaemonEntry>): boolean {
  if (!epic || epic.status !== "in_progress" || (n.iteration !== undefined && n.iteration !== epic.iteration)) return false;
  if (n.subject === "artifact_rejected" || n.subject === "message_rejected") {
    const file = (entry.details as { file?: unknown }).file;
    for (const e of bySeq.values()) if (e.seq > entry.seq && (e.details as { file?: unknown } | undefined)?.file === file && e.decision.endsWith("_accepted")) return false;
    return true;
  }
  return typeof n.content.stage !== "string" || n.content.stage === epic.stage;
}

async function messageItem(rel: string, name: string, role: string, bus: McpBus, entries: readonly DaemonEntry[], snap: Snapshot): Promise<InboxItem | undefined> {
  const bytes = await bus.bytes(rel);
  if (!bytes) return undefined;
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const m = interpretMessage(name, bytes, role);
  const d = m.doc;
  const head: InboxItem = { file: rel, kind: "message", status: "pending", ...(d ? { from: d.from, type: d.type, ...(d.subject ? { subject: d.subject } : {}), epic_id: d.epic_id, ...(d.iteration !== undefined ? { iteration: d.iteration } : {}), timestamp: d.timestamp, ...(d.content ? { content: d.content } : {}) } : {}) };
  const v = verdictIn(entries, rel, sha256);
  if (!v) return head;
  if (v.verdict !== "accepted") return { ...head, status: "rejected", errors: errorsOfEntry(v.entries[0]!.details, rel) };
  const epic = d ? snap.view.epics.get(d.epic_id) : undefined;
  const iteration = v.entries[0]!.iteration;
  let inForce = !!epic && epic.status === "in_progress" && iteration === epic.iteration;
  if (d?.type === "veto") inForce = !!epic && epic.open_vetoes.some((o) => o.from === d.from && o.subject === (d.subject ?? "veto") && o.iteration === iteration);
  return { ...head, status: inForce ? "in_force" : "resolved" };
}
