/**
 * sameJson (engine.ts) decides whether a transaction's line may leave its state out (Txn.same): it
 * may say "same" only where JSON.stringify of both sides is the same text, and must say so for equal
 * epics built apart (else every line would carry its state).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sameJson } from "../../src/engine/engine.js";

const epic = () => ({ epic_id: "EP-001", stage: "plan", iteration: 1, status: "in_progress", artifacts: { plan: { sha256: "a".repeat(64), accepted_at: "2026-11-21T10:00:00.000Z" } }, vetoes: [{ role: "devops", open: true }], history: [] as unknown[] });

describe("sameJson", () => {
  it("is true for equal values built apart, and for the very same object", () => {
    expect(sameJson(epic(), epic())).toBe(true);
    const e = epic();
    expect(sameJson(e, e)).toBe(true);
    expect(sameJson(Object.assign(Object.create(null), { a: 1 }), { a: 1 })).toBe(true);
  });

  it("is false wherever the printed JSON differs: a value, a key, the order of keys, a list's length", () => {
    const changed = [
      { ...epic(), stage: "implementation" },
      { ...epic(), iteration: 2 },
      { ...epic(), extra: 1 },
      { iteration: 1, epic_id: "EP-001", stage: "plan", status: "in_progress", artifacts: epic().artifacts, vetoes: epic().vetoes, history: [] },
      { ...epic(), vetoes: [] },
      { ...epic(), vetoes: [{ role: "devops", open: false }] },
      { ...epic(), history: [1] },
      { ...epic(), artifacts: null },
      { ...epic(), history: {} },
    ];
    for (const c of changed) {
      expect(JSON.stringify(c)).not.toBe(JSON.stringify(epic()));
      expect(sameJson(epic(), c)).toBe(false);
    }
  });

  it("never says same where JSON.stringify differs (any values), and says same for JSON values and their copies", () => {
    fc.assert(fc.property(fc.anything({ withDate: true, withNullPrototype: true, withSparseArray: true }), fc.anything(), (a, b) => !sameJson(a, b) || JSON.stringify(a) === JSON.stringify(b)), { numRuns: 5000 });
    fc.assert(fc.property(fc.jsonValue(), (v) => sameJson(v, structuredClone(v)) && sameJson(v, JSON.parse(JSON.stringify(v)))), { numRuns: 2000 });
  });
});
