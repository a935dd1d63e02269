import { describe, expect, it } from "vitest";
import { applyMarks, encodeMarks } from "../../src/store/key-index.js";

const view = () => ({ processed: new Set<string>(), messageIds: new Set<string>() });

describe("checkpoint key index", () => {
  it("round-trips processed marks and message ids, including characters JSON must escape", () => {
    const marks: Array<["p" | "m", string]> = [
      ["p", "artifacts/EP-1/plan.json@abc"],
      ["m", "msg-1"],
      ["p", 'odd "name"\nwith\\newline@x'],
      ["p", "ünï\u2028code@y"],
    ];
    const v = view();
    expect(applyMarks(v, encodeMarks(marks))).toBe(4);
    expect([...v.processed]).toEqual(["artifacts/EP-1/plan.json@abc", 'odd "name"\nwith\\newline@x', "ünï\u2028code@y"]);
    expect([...v.messageIds]).toEqual(["msg-1"]);
  });

  it("reads whole lines only: a torn last line is not a mark", () => {
    const text = encodeMarks([["p", "a@1"], ["p", "b@2"]]);
    const v = view();
    expect(applyMarks(v, text.slice(0, -3))).toBe(1);
    expect([...v.processed]).toEqual(["a@1"]);
  });

  it("refuses a line of an unknown kind", () => {
    expect(() => applyMarks(view(), '"xabc"\n')).toThrow(/unknown mark kind/);
  });
});
