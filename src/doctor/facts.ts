/**
 * Everything doctor looks at, gathered once by probe.ts (the only file here that touches the disk),
 * so every check is a pure function of these facts and is tested without a disk.
 */
import type { AgentFacts as AgentReadiness } from "../agents/readiness.js";
import type { Pipeline } from "../config/pipeline.js";
import type { Issue } from "../errors/issue.js";
import type { Holder } from "../store/port.js";
import type { ChainResult } from "../log/chain.js";
import type { ModeFacts } from "../store/fs/private-area.js";

export interface Facts {
  root: string;
  /** ms since the epoch when the probe ran. */
  now: number;
  node: { version: string; engines?: string };
  layout: {
    rootExists: boolean;
    /** Required paths (relative to the root) that are missing. */
    missing: string[];
    /** Configured roles whose inbox folder does not exist yet. */
    missingInboxes: string[];
    /** Folders of the layout (and role inboxes) that are symbolic links, relative to the root, with where they lead. */
    linked?: Array<{ path: string; target: string }>;
  };
  /** consensus.yaml: unreadable (error), or parsed and checked once by parseConfig (a pipeline, or the issues). */
  /** `fix`: for a file that is there but not read (a link, a FIFO, over the cap), what to do instead of `consensus init`. */
  config: { path: string; error?: string; fix?: string; parsed?: { pipeline?: Pipeline; issues: Issue[] } };
  /** The rules in force (.consensus/rules.json): what the daemon decides by, and whether consensus.yaml is them. */
  rules?: { kind: "none" | "ok" | "refused"; path: string; version?: string; applied_by?: string; applied_at?: string; reason?: string; logHasEntries: boolean; pipeline?: Pipeline };
  /** Each folder the daemon writes, probed by creating and removing a dot-temp file. */
  writable: Array<{ path: string; error?: string }>;
  inotify: { procDir: string; maxWatches?: number; maxInstances?: number; error?: string; folders: number; poll: boolean };
  disk: { path: string; freeBytes?: number; totalBytes?: number; freeInodes?: number; totalInodes?: number; error?: string };
  lock: { lockPath: string; holderPath: string; lockAgeMs?: number; holder?: Holder; holderAlive?: boolean; staleMs: number };
  /**
   * The log of record (.consensus/log.jsonl: chain and MACs); `mirror`: the readable copy's lines told
   * apart; `adoptable`: no record yet but an old current/decision_log.jsonl with lines (adopted at start).
   */
  log: { path: string; exists: boolean; chain?: ChainResult; tornTail: boolean; error?: string; mirror?: { path: string; sealed: number; forged: number; agent: number; firstForged?: { line: number; reason: string } }; adoptable?: boolean };
  clock: {
    /** The newest dated entry among the log's last lines. */
    newest?: { line: number; timestamp: string; agent: string };
    /** mtime of a file written during the probe, and the clock read just before writing it. */
    tempMtimeMs?: number;
    tempWrittenAt?: number;
    error?: string;
  };
  state: { path: string; exists: boolean; problem?: string };
  /** The pack (lstat): what is there, its size and names; `packEnd`: where the checkpoint says its records end (unverified hint). */
  pack: { path: string; found?: string; size: number; links: number; packEnd?: number };
  /** RLIMIT_NOFILE of this process (/proc/self/limits). */
  fds: { soft?: number; hard?: number; error?: string };
  /**
   * Files and folders where the layout expects nothing (relative to the root), each with the path it
   * was likely meant for; at most STRAYS_SHOWN files, `moreFiles` counts the rest.
   */
  strays: { files: Array<{ path: string; reason: string; suggest?: string }>; folders: Array<{ path: string; suggest?: string }>; moreFiles: number };
  /** How configured agents would run: accounts, containment, limits (probe-agents.ts). */
  agents: AgentFacts;
  /** Modes and owners of the root and the private area (lstat; absent where there is none). */
  modes?: {
    uid?: number;
    root?: ModeFacts;
    dot?: ModeFacts;
    dotPath: string;
    /** With security.agents_group: each drop zone there is (path relative to the root, mode & 0o7777, owner uid), links left out. */
    zones?: Array<{ path: string; mode: number; uid?: number }>;
    /** /proc/sys/fs/protected_hardlinks ("0", "1"), where this system has it. */
    protectedHardlinks?: string;
  };
  /** Each configured agent: its program found or not, its prompt there or not (empty without agents:). */
  agentPrograms: AgentReadiness[];
}

export interface AgentFacts {
  /** agents.<name> with a user or group, and what is wrong with it (undefined: resolvable, and the daemon may switch to it). */
  accounts: Array<{ agent: string; user?: string; group?: string; problem?: Issue }>;
  /** security.agents_group that does not exist. */
  groupProblem?: Issue;
  /** OS users that several roles run as (agents.<role>.user): their files prove none of those roles. */
  shared?: Array<{ user: string; roles: readonly string[] }>;
  /** Launches get a cgroup (and why, or why not). */
  cgroup: { ok: boolean; pids: boolean; why: string };
  /** prlimit(1) on PATH (the limits are applied through it). */
  prlimit?: string;
  /** Agents configured. */
  count: number;
}
