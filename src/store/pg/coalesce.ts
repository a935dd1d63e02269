/**
 * Calls made while the event loop is in one turn are written as one statement: the effects of a
 * batch run in per-epic lanes, so many notices and publications are asked for at once, and one
 * multi-row INSERT costs one round trip instead of one each. Every caller's promise settles with the
 * statement that carried its item.
 */
export class Coalescer<T> {
  private queue: Array<{ item: T; resolve: () => void; reject: (e: unknown) => void }> = [];

  constructor(private readonly write: (items: T[]) => Promise<void>) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.queue.push({ item, resolve, reject }) === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    try {
      await this.write(batch.map((b) => b.item));
      for (const b of batch) b.resolve();
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }
}
