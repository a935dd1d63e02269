import { describe, expect, it } from "vitest";
import { GENESIS, sealLine } from "../../src/log/chain.js";
import { EntryAssembler, type MirrorItem } from "../../src/log/mirror-entries.js";
import { RecordReader, type RecordLine } from "../../src/log/record-reader.js";

function assemble(text: string): MirrorItem[] {
  const a = new EntryAssembler();
  const out: MirrorItem[] = [];
  let offset = 0;
  text.split("\n").forEach((l, i) => {
    out.push(...a.push(l, i + 1, offset));
    offset += Buffer.byteLength(l) + 1;
  });
  return out;
}

const seed = (agent: string) => ({ timestamp: "2025_11_20_14_15_00", agent, decision: "plan_created", epic_id: "EP-001", iteration: 1, details: { files: ["plan.json"], note: "a } and a { in a string" } });

describe("agents' entries in the readable log", () => {
  it("one entry per pretty-printed object, blank lines skipped, one-line entries as they are", () => {
    const pretty = JSON.stringify(seed("planner"), null, 2);
    const n = pretty.split("\n").length;
    const items = assemble(`\n${pretty}\n\n${JSON.stringify(seed("developer"))}\n\n`);
    expect(items).toEqual([
      { kind: "entry", entry: { line: 2, lastLine: 1 + n, text: pretty, multiline: true } },
      { kind: "entry", entry: { line: 3 + n, lastLine: 3 + n, text: JSON.stringify(seed("developer")), multiline: false } },
    ]);
  });

  it("the daemon's copy landing between an agent's lines is a line of its own; the entry stays whole", () => {
    const daemon = sealLine(JSON.stringify({ seq: 1, timestamp: "t", agent: "orchestrator", decision: "x", details: {} }), GENESIS, "").line;
    const [first, ...rest] = JSON.stringify(seed("planner"), null, 2).split("\n");
    const items = assemble([first, daemon, ...rest].join("\n"));
    expect(items.map((i) => i.kind)).toEqual(["daemon", "entry"]);
    expect(items[1]).toMatchObject({ entry: { line: 1, multiline: true } });
  });

  it("a line cut off mid-value is judged on its own at once; one claiming the orchestrator is handed back as the daemon's (to be checked)", () => {
    expect(assemble('{"timestamp":"2026-11-21T10:00:00Z","agent":"devops","deci')).toMatchObject([{ kind: "entry", entry: { line: 1, multiline: false } }]);
    expect(assemble('{"timestamp":"2026-11-21T10:00:00Z","agent":"orchestrator","deci')).toMatchObject([{ kind: "daemon", line: 1 }]);
    // an open pretty-printed entry cut short by a new object at the margin
    expect(assemble('{\n  "agent": "planner",\n{"timestamp":"x","agent":"planner","decision":"y"}').map((i) => (i.kind === "entry" ? [i.entry.line, i.entry.multiline] : i.kind))).toEqual([
      [1, true],
      [3, false],
    ]);
  });
});

describe("the log of record, read in whole transactions", () => {
  const mac = (s: string) => `k1.${"0".repeat(63)}${s.length % 10}`;
  const check = (s: string, m: string) => m === mac(s);
  function build(txns: number[]): string[] {
    const out: string[] = [];
    let head = GENESIS;
    let seq = 0;
    for (const n of txns) {
      for (let i = 0; i < n; i++) {
        const s = sealLine(JSON.stringify({ seq: ++seq, ...(i === 0 ? { txn: n } : {}), timestamp: "t", agent: "orchestrator", decision: "d", details: {} }), head, "", mac);
        head = s.hash;
        out.push(s.line);
      }
    }
    return out;
  }
  function read(lines: string[], tornTail = false) {
    const got: RecordLine[][] = [];
    const r = new RecordReader({ seq: 0, head: GENESIS, foreignText: "", foreignLines: [], offset: 0, lines: 0 }, check, (t) => got.push(t));
    let end = 0;
    for (const l of lines) r.push(l, (end += l.length + 1));
    return { got, torn: r.finish(tornTail), r };
  }

  it("applies whole transactions; a torn last one is left out whole and the cut point is where it began", () => {
    const lines = build([1, 3, 2]);
    const whole = read(lines);
    expect(whole.got.map((t) => t.length)).toEqual([1, 3, 2]);
    expect(whole.torn).toBe(0);
    const torn = read(lines.slice(0, 5));
    expect(torn.got.map((t) => t.length)).toEqual([1, 3]);
    expect(torn.torn).toBe(1);
    expect(torn.r.committed.seq).toBe(4);
    expect(torn.r.committed.offset).toBe(lines.slice(0, 4).reduce((n, l) => n + l.length + 1, 0));
  });

  it("a line whose MAC does not check is never applied, and is reported", () => {
    const lines = build([1, 1]);
    lines[1] = lines[1]!.replace(/"mac":"k1\.[0-9a-f]{64}"/, `"mac":"k1.${"f".repeat(64)}"`);
    const r = read(lines);
    expect(r.got.map((t) => t[0]!.entry.seq)).toEqual([1]);
    expect(r.r.findings).toMatchObject([{ decision: "log_record_forged", details: { line: 2 } }]);
  });

  /** deferMacs: counts the MAC checks it makes. */
  function readDeferred(lines: string[], tornTail = false) {
    let checks = 0;
    const counted = (a: string, m: string) => (checks++, check(a, m));
    const r = new RecordReader({ seq: 0, head: GENESIS, foreignText: "", foreignLines: [], offset: 0, lines: 0 }, counted, () => {}, { deferMacs: true });
    let end = 0;
    for (const l of lines) r.push(l, (end += l.length + 1));
    r.finish(tornTail);
    return { needFull: r.needFull, checks, seq: r.committed.seq };
  }

  it("deferMacs: an intact log costs one MAC check, for its last line", () => {
    const d = readDeferred(build([1, 3, 2, 1]));
    expect(d).toEqual({ needFull: false, checks: 1, seq: 7 });
  });

  it("deferMacs: a forged line anywhere asks for the check per line (chain broken, or the last MAC not the key's)", () => {
    // re-sealed without the key: the chain holds, the MAC does not
    const resealed = build([1, 1, 1]);
    resealed[2] = sealLine(JSON.stringify({ seq: 3, txn: 1, timestamp: "t", agent: "orchestrator", decision: "forged", details: {} }), JSON.parse(resealed[1]!).hash, "", () => `k1.${"e".repeat(64)}`).line;
    expect(readDeferred(resealed).needFull).toBe(true);
    // edited in the middle: the chain breaks at the next line
    const edited = build([1, 1, 1]);
    edited[1] = edited[1]!.replace('"decision":"d"', '"decision":"e"');
    expect(readDeferred(edited).needFull).toBe(true);
    // a line without a MAC at the end
    const bare = build([1, 1]);
    bare.push(sealLine(JSON.stringify({ seq: 3, txn: 1, timestamp: "t", agent: "orchestrator", decision: "d", details: {} }), JSON.parse(bare[1]!).hash, "").line);
    expect(readDeferred(bare).needFull).toBe(true);
  });
});
