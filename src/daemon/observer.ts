/**
 * The one narrow window the daemon opens onto itself for an onlooker (metrics, readiness): it says
 * what it is doing, the onlooker counts and times. An observer never changes a decision and must not
 * throw; every call is cheap (a map update, a clock read). The daemon runs the same with none.
 */
import type { View } from "../log/replay.js";
import type { Input } from "../machine/decide.js";
import type { CommittedEntry, Store } from "../store/port.js";
import type { Outcome } from "../engine/engine.js";

/** Live numbers the onlooker reads when asked (at scrape time), never copies. */
export interface DaemonProbe {
  view(): View;
  /** Inputs reported but not yet decided (queued, or waiting to settle). */
  queueDepth(): number;
  /** The config in force (the first 12 hex digits of its hash, as the log shows it); it changes on a reload. */
  configVersion(): string;
}

export interface DaemonObserver {
  /** The store the engine appends through; the observer may wrap it (to time appends). */
  wrapStore(store: Store): Store;
  /** The lock is held and recovery is done. */
  opened(probe: DaemonProbe): void;
  watcherArmed(): void;
  /** A reconcile scan (the start-up one included) has queued everything it found. */
  scanned(): void;
  /** The watcher or a scan reported this path: its first report starts its drop-to-decision clock. */
  seen(rel: string): void;
  /** The daemon took these paths from its queue to read and decide them; a later report of one is a new drop. */
  taken(rels: readonly string[]): void;
  /** This path will not be decided (ignored, vanished): forget it. */
  settled(rel: string): void;
  /** Entries right after the append that made them durable (before the batch's decided()). */
  committed(entries: CommittedEntry[]): void;
  /** A batch was decided (and what was committed is durable). */
  decided(items: Array<{ rel: string; kind: Input["type"]; outcome: Outcome }>): void;
}
