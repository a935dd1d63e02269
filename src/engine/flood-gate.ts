/**
 * A flood from one author is rate-limited in what the daemon shows, never in what it decides: per
 * author, the first `security.flood_per_minute` decisions of each minute get their line in the
 * daemon's log and their notice (a rejection notice to the author's inbox); the rest are counted, one
 * warning says the author is flooding, and a summary line gives the count once the minute is over
 * (with the next decision logged). Every input is still decided and recorded in the decision log.
 *
 * The author of an entry is who sent what it decides: `details.author` (a rejected drop's role),
 * `details.from` (a message), an agent's own log line's `agent`, or "decision_log" for rejected lines
 * appended to the readable log. The daemon's own decisions (stage changes, launches, notices that ask
 * for work) have no author and are never held back. Time comes in as an argument.
 */
import type { Logger } from "../daemon/logger.js";
import type { LogEntry } from "../schemas/types.gen.js";

const MINUTE_MS = 60_000;

interface Window {
  start: number;
  shown: number;
  held: number;
}

export function authorOf(e: LogEntry): string | undefined {
  const d = (e.details ?? {}) as Record<string, unknown>;
  if (typeof d.author === "string") return d.author;
  if (typeof d.from === "string" && (e.decision === "message_accepted" || e.decision === "message_rejected")) return d.from;
  if (e.agent !== "orchestrator") return e.agent;
  if (e.decision === "log_line_rejected" || e.decision.endsWith("_rejected")) return e.decision === "log_line_rejected" ? "decision_log" : "unknown";
  return undefined;
}

export class FloodGate {
  private readonly windows = new Map<string, Window>();
  private readonly held = new WeakSet<LogEntry>();

  constructor(private readonly log: Pick<Logger, "warn" | "info">) {}

  /** Whether the entry gets its log line (and its notice); logs the flood warning and summaries of minutes that ended. */
  admit(e: LogEntry, nowMs: number, perMinute: number): boolean {
    this.summarise(nowMs);
    const author = authorOf(e);
    if (author === undefined) return true;
    let w = this.windows.get(author);
    if (!w) this.windows.set(author, (w = { start: nowMs, shown: 0, held: 0 }));
    if (w.shown < perMinute) {
      w.shown++;
      return true;
    }
    if (w.held++ === 0) {
      this.log.warn({ author, per_minute: perMinute, until: new Date(w.start + MINUTE_MS).toISOString() }, `${author} is flooding: more than ${perMinute} decisions this minute; until the minute is over they are not logged here and get no notice, but each is decided and recorded in the decision log`);
    }
    this.held.add(e);
    return false;
  }

  /** A decision held back by admit(): its notice is not written either. */
  isHeld(e: LogEntry): boolean {
    return this.held.has(e);
  }

  private summarise(nowMs: number): void {
    for (const [author, w] of this.windows) {
      if (nowMs - w.start < MINUTE_MS) continue;
      this.windows.delete(author);
      if (w.held) this.log.info({ author, held: w.held, shown: w.shown, since: new Date(w.start).toISOString() }, `${author}: ${w.held} more decision(s) in that minute were not logged here (see consensus log)`);
    }
  }
}
