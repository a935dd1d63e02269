/**
 * Reading a store's log in the readEntries tests (read-entries-after, read-entries-keys): epics started
 * through a real engine to make entries, a read whole or after a seq, and what a whole read gives after
 * a seq's line (the answer a read after that seq must match).
 */
import { expect } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { unsealLine } from "../../src/log/chain.js";
import type { LogLine, Store } from "../../src/store/port.js";

let n = 0;

/** Starts `count` new epics (EP-001, EP-002 … across the file's tests) through `engine`, each committed. */
export async function startEpics(engine: Engine, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const id = `EP-${String(++n).padStart(3, "0")}`;
    const [o] = await engine.process([{ input: { type: "start", epic_id: id, title: `epic ${id}`, by: "tester" }, key: `request:${id}` }]);
    expect(o!.status).toBe("committed");
  }
}

/** Every line `store.readEntries` gives, whole or after `afterSeq`. */
export async function readAll(store: Store, afterSeq?: number): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of store.readEntries(afterSeq === undefined ? undefined : { afterSeq })) out.push(l);
  return out;
}

/** What follows the daemon's line of seq `k` in a whole read (`lines`); all of it for k ≤ 0, none when there is no such line. */
export function following(lines: readonly LogLine[], k: number): LogLine[] {
  if (k <= 0) return [...lines];
  const at = lines.findIndex((l) => unsealLine(l.raw) !== undefined && l.entry?.seq === k);
  return at < 0 ? [] : lines.slice(at + 1);
}
