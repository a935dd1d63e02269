/**
 * One timer for the earliest of the times a daemon must wake at: arm(at) keeps the earlier of what
 * is armed and `at` (ms since the epoch); when it fires, onDue runs, and whoever armed the later
 * times arms them again from what is then still to wait for. The daemons keep one for the earliest
 * stage deadline (deadlines.ts: the daemon then sweeps overdue epics and arms the next) and the rows
 * daemon one for the earliest row still settling (it then claims its rows again), never one timer
 * per deadline, row or claim.
 *
 * Options: `off` (arm does nothing: deadlines under `watch --once`); `ref` keeps the process alive
 * while armed (default: not, as the deadline timer never did).
 */
import { MAX_TIMER_MS } from "./deadlines.js";

export class DeadlineTimer {
  private timer?: NodeJS.Timeout;
  private at?: number;
  private readonly off: boolean;
  private readonly ref: boolean;

  constructor(
    private readonly onDue: () => void,
    opts: { off?: boolean; ref?: boolean } = {},
  ) {
    this.off = opts.off ?? false;
    this.ref = opts.ref ?? false;
  }

  /** Whether a wake is pending (armed, neither fired nor cleared). */
  get armed(): boolean {
    return this.timer !== undefined;
  }

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
    if (!this.ref) this.timer.unref();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.at = undefined;
  }
}
