import { describe, expect, it } from "vitest";
import { diffLines, formatDiff } from "../../src/config/diff-lines.js";

describe("line diff", () => {
  it("keeps, removes and adds lines in order", () => {
    expect(diffLines("a\nb\nc\n", "a\nx\nc\n")).toEqual([
      { op: " ", text: "a" },
      { op: "-", text: "b" },
      { op: "+", text: "x" },
      { op: " ", text: "c" },
    ]);
    expect(diffLines("", "a\n")).toEqual([{ op: "+", text: "a" }]);
    expect(diffLines("a\r\nb\r\n", "a\nb\n").every((l) => l.op === " ")).toBe(true);
  });

  it("prints changed lines with context and the new text's line number; nothing when equal", () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join("\n");
    const after = before.replace("line 10", "line ten");
    expect(formatDiff(diffLines(before, after), 1)).toBe("@@ line 9\n  line 9\n- line 10\n+ line ten\n  line 11\n");
    expect(formatDiff(diffLines(before, before))).toBe("");
  });
});
