/**
 * The state is a fold of the log: each daemon transaction's last entry carries the epic's state after
 * it (`state`, left out when the transaction did not change it: the epic stays as it was) and the input it consumed (`input`). Replaying is therefore trivial and does not depend
 * on the machine's code or the config in force today — the log is the record of truth. Pure.
 */
import type { Epic, LogEntry } from "../schemas/types.gen.js";
import { applyAgentEntry, emptyAgentView, type AgentView } from "./agent-jobs.js";
import type { Marks } from "./marks.js";

export interface View {
  seq: number;
  hash: string;
  epics: Map<string, Epic>;
  /** Inputs already consumed (path@sha256 …): processed once per content, across restarts. */
  processed: Marks;
  /** Message ids already used (replays are rejected). */
  messageIds: Marks;
  /** The consensus.yaml version (SHA-256) decisions were last made under. */
  configVersion?: string;
  /** Stage entries and agent jobs (launches, exits, retries): what the runner decides from. */
  agents: AgentView;
}

export const emptyView = (): View => ({ seq: 0, hash: "0".repeat(64), epics: new Map(), processed: new Set(), messageIds: new Set(), agents: emptyAgentView() });

export function applyEntry(view: View, e: LogEntry): void {
  if (e.seq !== undefined) view.seq = e.seq;
  if (e.hash !== undefined) view.hash = e.hash;
  if (e.state) view.epics.set(e.state.epic_id, e.state);
  if (e.input) view.processed.add(e.input);
  if (e.decision === "epic_started" || e.decision === "config_changed") {
    const d = e.details as { config_version?: unknown; to?: unknown } | undefined;
    const v = e.decision === "config_changed" ? d?.to : d?.config_version;
    if (typeof v === "string") view.configVersion = v;
  }
  for (const id of usedIdsOf(e)) view.messageIds.add(id);
  applyAgentEntry(view.agents, e);
}

/**
 * The ledger id of a launch-token signature's nonce: `nonce/<nonce>`. A message id never holds a "/"
 * (schemas/message.schema.json: ^[A-Za-z0-9._:-]+$), so no message can take a nonce's place in the
 * ledger (and block a signed file), nor a nonce a message's. Build it only here.
 */
export const nonceId = (nonce: string): string => `nonce/${nonce}`;

/**
 * Every id an entry uses up in the ledger of used ids (View.messageIds, the stores' "m" marks): an
 * accepted message's id, and the nonce of an accepted input's launch-token signature (used once, issue
 * 15). The view, the checkpoint's marks and the PostgreSQL marks are all built from this one list.
 */
export function usedIdsOf(e: LogEntry): string[] {
  const out: string[] = [];
  const id = messageIdOf(e);
  if (id !== undefined) out.push(id);
  const nonce = (e.details as { proof?: { nonce?: unknown } } | undefined)?.proof?.nonce;
  if (typeof nonce === "string" && (e.decision === "message_accepted" || e.decision === "artifact_accepted")) out.push(nonceId(nonce));
  return out;
}

/** The message id an entry uses up, if any. */
export function messageIdOf(e: LogEntry): string | undefined {
  if (e.decision !== "message_accepted") return undefined;
  const id = (e.details as { message_id?: unknown } | undefined)?.message_id;
  return typeof id === "string" ? id : undefined;
}
