import { describe, expect, it } from "vitest";
import { CHECKPOINT_BUSY_MS, CHECKPOINT_MS, CHECKPOINT_QUIET_MS, checkpointDueAt } from "../../src/daemon/loop.js";

// when the file daemon writes its checkpoint (issue 17.3: not beside a stream of drops, whose
// fdatasync would wait for the checkpoint's writes)
describe("checkpointDueAt", () => {
  const t0 = 1_000_000;

  it("is never due with nothing to checkpoint", () => {
    expect(checkpointDueAt({ dirtySince: undefined, lastCheckpoint: t0 - 60_000, lastBusy: t0 - 60_000 })).toBeUndefined();
  });

  it("waits for the daemon to be quiet, and comes at most once a second", () => {
    // the first drop after a long quiet: not at once, but once the drops that follow it have stopped
    expect(checkpointDueAt({ dirtySince: t0, lastCheckpoint: t0 - 60_000, lastBusy: t0 })).toBe(t0 + CHECKPOINT_QUIET_MS);
    // quiet for long, last checkpoint just now: due a second after it
    expect(checkpointDueAt({ dirtySince: t0 - 60_000, lastCheckpoint: t0, lastBusy: t0 - 60_000 })).toBe(t0 + CHECKPOINT_MS);
  });

  it("still comes while drops never stop: the oldest change waits at most CHECKPOINT_BUSY_MS", () => {
    // busy at every instant: lastBusy keeps moving; the due time does not move past the cap
    for (const busy of [t0, t0 + 5_000, t0 + CHECKPOINT_BUSY_MS - 1, t0 + 60_000]) {
      expect(checkpointDueAt({ dirtySince: t0, lastCheckpoint: t0 - 60_000, lastBusy: busy })).toBe(Math.min(busy + CHECKPOINT_QUIET_MS, t0 + CHECKPOINT_BUSY_MS));
    }
  });
});
