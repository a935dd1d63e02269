/** Where everything lives under the root (PROTOCOL §2). Pure path arithmetic. */
import { join } from "node:path";

export interface Layout {
  root: string;
  config: string;
  epics: string;
  artifacts: string;
  inbox: string;
  current: string;
  /** The readable mirror of the log (current/decision_log.jsonl): a drop zone agents append to; never trusted. */
  log: string;
  state: string;
  archive: string;
  /** The daemon's own things: lock, holder, checkpoint, blobs, requests. */
  dot: string;
  lock: string;
  holder: string;
  checkpoint: string;
  /** Append-only index of processed marks and message ids the checkpoint refers to. */
  checkpointKeys: string;
  /** The log of record (.consensus/log.jsonl): daemon lines sealed with the daemon key's MAC (PROTOCOL "Trust"). */
  record: string;
  blobs: string;
  /** Accepted artifacts' bytes, one record each (pack.ts); older roots kept them as files under blobs/. */
  pack: string;
  requests: string;
  /** Agents' output: logs/agents/<EPIC>/<iteration>/<agent>-<n>.log. */
  agentLogs: string;
  /** Running agents' pid files (.consensus/agents/<launch id>.json). */
  agentPids: string;
  /** The rules in force: consensus.yaml as a person applied it, sealed (`consensus config apply`). */
  rules: string;
}

export function layoutOf(root: string): Layout {
  const dot = join(root, ".consensus");
  return {
    root,
    config: join(root, "consensus.yaml"),
    epics: join(root, "epics"),
    artifacts: join(root, "artifacts"),
    inbox: join(root, "messages", "inbox"),
    current: join(root, "current"),
    log: join(root, "current", "decision_log.jsonl"),
    state: join(root, "current", "state.json"),
    archive: join(root, "archive"),
    dot,
    lock: join(dot, "writer"),
    holder: join(dot, "writer.json"),
    checkpoint: join(dot, "checkpoint.json"),
    checkpointKeys: join(dot, "checkpoint.keys"),
    record: join(dot, "log.jsonl"),
    blobs: join(dot, "blobs"),
    pack: join(dot, "pack"),
    requests: join(dot, "requests"),
    agentLogs: join(root, "logs", "agents"),
    agentPids: join(dot, "agents"),
    rules: join(dot, "rules.json"),
  };
}

/**
 * The folders of the layout, each a key of Layout: `consensus init` creates them, doctor requires them
 * and probes each for writes. The role inboxes (messages/inbox/<role>) come from the config.
 */
export const LAYOUT_FOLDERS = ["epics", "artifacts", "inbox", "current", "archive", "dot"] as const satisfies ReadonlyArray<keyof Layout>;

/** LAYOUT_FOLDERS as paths under this layout's root. */
export const layoutFolders = (L: Layout): string[] => LAYOUT_FOLDERS.map((k) => L[k]);
