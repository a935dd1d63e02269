/** Waiting in in-process tests (no daemon: for a running one, Bus.until): on conditions, never on time. */

/** Polls `cond` (sync, or async: a read of the store) until it holds; fails after `timeoutMs` naming what it waited for. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Lets `n` turns of the event loop run: what must not happen (a promise that must stay pending) gets
 * its chance to. Only for an absence that no I/O could bring about sooner; wait for presence with until.
 */
export async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}
