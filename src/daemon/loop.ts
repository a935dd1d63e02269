/** What both daemon loops (files, rows) do between turns and at the end. */
import type { Engine } from "../engine/engine.js";
import type { Runner } from "../runner/runner.js";
import type { Logger } from "./logger.js";

/** The checkpoint (and state) at most this often (ms): each is a full rewrite. */
export const CHECKPOINT_MS = 1000;
/** The file daemon's checkpoint waits until it has had nothing to do for this long (ms)… */
export const CHECKPOINT_QUIET_MS = 25;
/** …unless inputs keep coming: then one is still written at least this often (ms). */
export const CHECKPOINT_BUSY_MS = 10_000;

/**
 * When the file daemon's next checkpoint falls due (ms since the epoch), or undefined when nothing
 * is left to checkpoint. Pure. At most one per CHECKPOINT_MS, and only once the daemon has been idle
 * for CHECKPOINT_QUIET_MS, or once the oldest change not in a checkpoint is CHECKPOINT_BUSY_MS old
 * while it never is: a checkpoint's writes and flushes run beside the next drops', whose fdatasync
 * then waits for the file system's journal to take them too (issue 17.3: drops that met a
 * checkpoint had a p99 of 20–40 ms against 9 ms for the others). Nothing depends on its being
 * fresh: recovery replays the log after it.
 *
 * dirtySince: when the oldest change not in a checkpoint was committed (undefined: none);
 * lastCheckpoint: when the last one started; lastBusy: when the daemon last finished some work.
 */
export function checkpointDueAt(s: { dirtySince: number | undefined; lastCheckpoint: number; lastBusy: number }): number | undefined {
  if (s.dirtySince === undefined) return undefined;
  return Math.max(s.lastCheckpoint + CHECKPOINT_MS, Math.min(s.lastBusy + CHECKPOINT_QUIET_MS, s.dirtySince + CHECKPOINT_BUSY_MS));
}

/**
 * Sleeps until the loop's wake() is called, at once when `ready` (work already waiting), and no later
 * than `checkpointAt` (ms since the epoch) when a checkpoint is to be written then. The checkpoint's
 * timer ends with the sleep: a loop woken by every row or drop holds one such timer, not one per turn.
 */
export function idle(setWake: (wake: () => void) => void, ready: boolean, checkpointAt: number | undefined): Promise<void> {
  if (ready) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      if (timer) clearTimeout(timer);
      resolve();
    };
    setWake(done);
    // come back for the checkpoint that is due, even when nothing else happens
    if (checkpointAt !== undefined) (timer = setTimeout(done, Math.max(0, checkpointAt - Date.now()))).unref();
  });
}

/** A clean stop: agents stopped (and logged), the last checkpoint saved. */
export async function stopCleanly(runner: Runner | undefined, engine: Engine, log: Logger): Promise<number> {
  await runner?.stopAll();
  if (engine.dirty) await engine.checkpoint();
  log.info({ seq: engine.state.seq }, "stopped cleanly");
  return 0;
}
