/** What both daemon loops (files, rows) do between turns and at the end. */
import type { Engine } from "../engine/engine.js";
import type { Runner } from "../runner/runner.js";
import type { Logger } from "./logger.js";

/** The checkpoint (and state) at most this often: each is a full rewrite. */
export const CHECKPOINT_MS = 1000;

/**
 * Sleeps until the loop's wake() is called, at once when `ready` (work already waiting), and, when
 * the engine has something to checkpoint, no later than the checkpoint falls due.
 */
export function idle(setWake: (wake: () => void) => void, ready: boolean, engine: Engine, lastCheckpoint: number): Promise<void> {
  return new Promise<void>((resolve) => {
    setWake(resolve);
    if (ready) resolve();
    // come back for the checkpoint that is due, even when nothing else happens
    if (engine.dirty) setTimeout(resolve, Math.max(0, lastCheckpoint + CHECKPOINT_MS - Date.now())).unref();
  });
}

/** A clean stop: agents stopped (and logged), the last checkpoint saved. */
export async function stopCleanly(runner: Runner | undefined, engine: Engine, log: Logger): Promise<number> {
  await runner?.stopAll();
  if (engine.dirty) await engine.checkpoint();
  log.info({ seq: engine.state.seq }, "stopped cleanly");
  return 0;
}
