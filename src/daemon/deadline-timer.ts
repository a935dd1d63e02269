/**
 * The daemon's one timer for the earliest stage deadline (deadlines.ts): arm(at) keeps the earlier of
 * what is armed and `at`; when it fires, onDue runs (the daemon then sweeps overdue epics and arms
 * the next). Off (arm does nothing) for `watch --once`.
 */
import { MAX_TIMER_MS } from "./deadlines.js";

export class DeadlineTimer {
  private timer?: NodeJS.Timeout;
  private at?: number;

  constructor(
    private readonly onDue: () => void,
    private readonly off = false,
  ) {}

  arm(at: number | undefined): void {
    if (at === undefined || this.off) return;
    if (this.at !== undefined && this.at <= at && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.at = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.at = undefined;
      this.onDue();
    }, Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
    this.timer.unref();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
