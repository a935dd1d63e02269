/**
 * What the watcher told the daemon about each path since it was last decided: the kind of events
 * (settle.ts says what they mean), when the last `change` came, a counter that moves with every event
 * (so a read can tell that the file moved under it), and since when the file has looked the same.
 * In memory only: after a restart every file is `found` again, which settles more, never less.
 */
import type { Arrival } from "./settle.js";

/** `rename`/`change` as fs.watch reports them; `found` for a scan or a poll's first sight of a file. */
export type PathEvent = "rename" | "change" | "found";

interface Seen {
  arrival: Arrival;
  gen: number;
  changeEventAt?: number;
  sig?: string;
  sameSince?: number;
}

export class Arrivals {
  private readonly seen = new Map<string, Seen>();

  /** Records an event for `rel` (relative to the root) at `now` (ms since the epoch). */
  saw(rel: string, ev: PathEvent, now: number): void {
    const s = this.seen.get(rel) ?? { arrival: "found" as Arrival, gen: 0 };
    s.gen++;
    if (ev === "rename") {
      // a new inode at this name (moved or linked in, or created), or the name went away
      s.arrival = "renamed";
      delete s.changeEventAt;
    } else if (ev === "change") {
      s.arrival = "changed";
      s.changeEventAt = now;
    } else if (!this.seen.has(rel)) s.arrival = "found";
    this.seen.set(rel, s);
  }

  /** Its writer closed it (the agent that wrote it exited): complete, whatever events said. */
  closed(rel: string): void {
    const s = this.seen.get(rel) ?? { arrival: "closed" as Arrival, gen: 0 };
    s.gen++;
    s.arrival = "closed";
    this.seen.set(rel, s);
  }

  /** How `rel` arrived; a path nothing was told about was found by a scan. */
  arrival(rel: string): Arrival {
    return this.seen.get(rel)?.arrival ?? "found";
  }

  gen(rel: string): number {
    return this.seen.get(rel)?.gen ?? 0;
  }

  changeEventAt(rel: string): number | undefined {
    return this.seen.get(rel)?.changeEventAt;
  }

  /**
   * Since when `rel` has had this size, mtime and ctime: the first time it was seen so (its mtime,
   * when that is earlier: a file nobody touched since is as old as its mtime).
   */
  sameSince(rel: string, size: number, mtimeMs: number, ctimeMs: number, now: number): number {
    const sig = `${size}:${mtimeMs}:${ctimeMs}`;
    const s = this.seen.get(rel) ?? { arrival: "found" as Arrival, gen: 0 };
    if (s.sig !== sig || s.sameSince === undefined) {
      s.sig = sig;
      s.sameSince = Math.min(now, mtimeMs);
      this.seen.set(rel, s);
    }
    return s.sameSince;
  }

  /** The path was decided (or skipped) as read at `gen`: forget it, unless an event came since. */
  settled(rel: string, gen: number): void {
    if (this.gen(rel) === gen) this.seen.delete(rel);
  }

  /** Paths being tracked (waiting to settle or queued). */
  get size(): number {
    return this.seen.size;
  }
}
