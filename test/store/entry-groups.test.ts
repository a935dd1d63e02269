/**
 * EntryGroups (src/store/fs/read-entries.ts), pure: reading on from a cursor gives what a read from
 * the start gives after it — a seal by a retired key after an anchored line stays forged, a
 * transaction is given whole or not at all, a line still being written moves no cursor — and a daemon
 * line that does not chain on the cursor's stops the read (the caller reads from the start).
 */
import { describe, expect, it } from "vitest";
import type { LineCheck } from "../../src/log/chain.js";
import { EntryGroups } from "../../src/store/fs/read-entries.js";
import type { LogLine } from "../../src/store/port.js";
import { sealedLog, type LogStep } from "../support/sealed-log.js";

/** Keys by tag: "new" in force, "old" retired, anything else forged. */
const check: LineCheck = (_signed, mac) => (mac.startsWith("new.") ? true : mac.startsWith("old.") ? "old" : false);
const body = (txn?: number) => (seq: number) => JSON.stringify({ seq, ...(txn ? { txn } : {}), timestamp: "2026-11-21T10:00:00Z", agent: "orchestrator", decision: "x" });

/** Feeds lines (each newline-terminated unless `open` says the last is not) and returns what was given out. */
function feed(g: EntryGroups, lines: readonly string[], startOffset = 0, open = false): LogLine[] {
  const out: LogLine[] = [];
  let off = startOffset;
  lines.forEach((l, i) => {
    const last = i === lines.length - 1 && open;
    off += Buffer.byteLength(l) + (last ? 0 : 1);
    out.push(...g.push(l, last ? undefined : off));
  });
  out.push(...g.finish());
  return out;
}

describe("EntryGroups", () => {
  it("from a cursor after a line sealed by a key in force, a retired key's seal is forged as in a read from the start", () => {
    // line 1 by the current key, line 2 by a retired one: after an anchored line, "old" is forged
    const steps: LogStep[] = [{ body: body(1) }, { body: body(1) }];
    const first = sealedLog(steps.slice(0, 1), () => "new.sig").lines;
    const { lines } = sealedLog(steps, (s) => (s.includes('"seq":2') ? "old.sig" : "new.sig"));
    expect(lines[0]).toBe(first[0]);
    const whole = new EntryGroups(check, undefined, 0);
    expect(feed(whole, lines).map((l) => l.entry?.seq)).toEqual([1]);
    const end = whole.end!;
    expect(end).toMatchObject({ line: 1, seq: 1, anchored: true });
    const on = new EntryGroups(check, undefined, 1, end);
    expect(feed(on, lines.slice(1), end.offset)).toEqual([]);
    expect(on.broken).toBe(false);
  });

  it("gives a transaction whole or not at all; a last line without its newline is given but moves no cursor; agents' lines before a torn transaction wait", () => {
    const { lines } = sealedLog([{ body: body(1) }, { agent: '{"agent":"planner","n":1}' }, { body: body(2) }, { body: body() }, { agent: '{"agent":"planner","n":2}' }, { body: body(2) }], () => "new.sig");
    const g = new EntryGroups(check, undefined, 0);
    // the file ends inside the last transaction: its first line only
    const got = feed(g, lines);
    expect(got.map((l) => l.line)).toEqual([1, 2, 3, 4]);
    expect(g.end).toMatchObject({ line: 4, seq: 3 });
    const open = new EntryGroups(check, undefined, 0);
    const all = feed(open, lines.slice(0, 4), 0, true);
    expect(all.map((l) => l.line)).toEqual([1, 2, 3, 4]);
    // the transaction ending on the line with no newline is given, the cursor stays before it
    expect(open.end).toMatchObject({ line: 1, seq: 1 });
  });

  it("from a cursor, a daemon line that does not follow or chain on the cursor's line stops the read: nothing of it is given", () => {
    const a = sealedLog([{ body: body(1) }, { body: body(1) }, { body: body(1) }], () => "new.sig").lines;
    // another log with the same first line, then lines of its own (a log cut back and written again)
    const b = sealedLog([{ body: body(1) }, { agent: '{"agent":"planner"}' }, { body: body(1) }, { body: body(1) }], () => "new.sig").lines;
    expect(b[0]).toBe(a[0]);
    expect(JSON.parse(b[3]!)).toMatchObject({ seq: 3 });
    const whole = new EntryGroups(check, undefined, 0);
    feed(whole, a.slice(0, 2));
    const end = whole.end!;
    expect(end).toMatchObject({ seq: 2, line: 2 });
    const on = new EntryGroups(check, undefined, 2, end);
    expect(feed(on, [b[3]!], end.offset)).toEqual([]);
    expect(on.broken).toBe(true);
    // what does chain is given, agents' lines after the cursor's seq with it
    const ok = new EntryGroups(check, undefined, 2, end);
    expect(feed(ok, [a[2]!], end.offset).map((l) => l.entry?.seq)).toEqual([3]);
    expect(ok.end).toMatchObject({ seq: 3, line: 3 });
  });
});
