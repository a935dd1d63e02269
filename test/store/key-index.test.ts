import { describe, expect, it } from "vitest";
import { DigestTable, MarkSet } from "../../src/log/marks.js";
import { RECORD_BYTES, encodeMarks } from "../../src/store/fs/key-index.js";

const load = (bytes: Uint8Array) => {
  const t = new DigestTable();
  t.addAll(bytes);
  return { processed: new MarkSet("p", t), messageIds: new MarkSet("m", t), table: t };
};

describe("checkpoint key index", () => {
  it("round-trips processed marks and message ids, whatever characters a path holds, keeping kinds apart", () => {
    const marks: Array<["p" | "m", string]> = [
      ["p", "artifacts/EP-1/plan.json@abc"],
      ["m", "msg-1"],
      ["p", 'odd "name"\nwith\\newline@x'],
      ["p", "ünï\u2028code@y"],
    ];
    const bytes = encodeMarks(marks);
    expect(bytes.length).toBe(4 * RECORD_BYTES);
    const v = load(bytes);
    for (const [k, m] of marks) {
      expect((k === "p" ? v.processed : v.messageIds).has(m)).toBe(true);
      expect((k === "p" ? v.messageIds : v.processed).has(m)).toBe(false);
    }
    expect(v.processed.has("artifacts/EP-1/plan.json@abd")).toBe(false);
    expect(v.table.count).toBe(4);
  });

  it("reads whole records only: a torn last record is not a mark", () => {
    const bytes = encodeMarks([["p", "a@1"], ["p", "b@2"]]);
    const v = load(bytes.subarray(0, bytes.length - 3));
    expect(v.processed.has("a@1")).toBe(true);
    expect(v.processed.has("b@2")).toBe(false);
  });

  it("loads from an unaligned buffer, grows past its first size and ignores duplicates", () => {
    const marks = Array.from({ length: 5000 }, (_, i) => ["p", `f${i}@x`] as ["p", string]);
    const raw = encodeMarks([...marks, ...marks.slice(0, 10)]);
    const unaligned = Buffer.alloc(raw.length + 1).subarray(1);
    raw.copy(unaligned);
    const v = load(unaligned);
    expect(v.table.count).toBe(5000);
    expect(marks.every(([, m]) => v.processed.has(m))).toBe(true);
    expect(v.processed.has("f5000@x")).toBe(false);
  });
});

describe("MarkSet", () => {
  it("answers for marks added whole and marks loaded as digests", () => {
    const v = load(encodeMarks([["p", "digest@2"]]));
    v.processed.add("whole@1");
    expect(v.processed.has("whole@1") && v.processed.has("digest@2")).toBe(true);
    expect(v.processed.has("other@3")).toBe(false);
  });
});
