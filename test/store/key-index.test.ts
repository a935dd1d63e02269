import { describe, expect, it } from "vitest";
import { MarkSet } from "../../src/log/marks.js";
import { applyMarks, encodeMarks } from "../../src/store/key-index.js";

const view = () => ({ processed: new MarkSet(), messageIds: new MarkSet() });

describe("checkpoint key index", () => {
  it("round-trips processed marks and message ids, whatever characters a path holds", () => {
    const marks: Array<["p" | "m", string]> = [
      ["p", "artifacts/EP-1/plan.json@abc"],
      ["m", "msg-1"],
      ["p", 'odd "name"\nwith\\newline@x'],
      ["p", "ünï\u2028code@y"],
    ];
    const v = view();
    expect(applyMarks(v, encodeMarks(marks))).toBe(4);
    for (const [k, m] of marks) {
      expect((k === "p" ? v.processed : v.messageIds).has(m)).toBe(true);
      expect((k === "p" ? v.messageIds : v.processed).has(m)).toBe(false);
    }
    expect(v.processed.has("artifacts/EP-1/plan.json@abd")).toBe(false);
    expect(v.processed.size).toBe(3);
  });

  it("reads whole lines only: a torn last line is not a mark", () => {
    const text = encodeMarks([["p", "a@1"], ["p", "b@2"]]);
    const v = view();
    expect(applyMarks(v, text.slice(0, -3))).toBe(1);
    expect(v.processed.has("a@1")).toBe(true);
    expect(v.processed.has("b@2")).toBe(false);
  });

  it("refuses a line of an unknown kind or length", () => {
    expect(() => applyMarks(view(), `x${"a".repeat(22)}\n`)).toThrow(/unknown mark kind/);
    expect(() => applyMarks(view(), `p${"a".repeat(23)}\n`)).toThrow(/not 23 characters/);
  });
});

describe("MarkSet", () => {
  it("answers for marks added whole and marks loaded as digests", () => {
    const s = new MarkSet().add("whole@1");
    applyMarks({ processed: s, messageIds: new MarkSet() }, encodeMarks([["p", "digest@2"]]));
    expect(s.has("whole@1") && s.has("digest@2")).toBe(true);
    expect(s.has("other@3")).toBe(false);
  });
});
