import { describe, expect, it } from "vitest";
import { dump } from "js-yaml";
import { fastNoticeBody, formatNoticeBody, NOTICE_DUMP_OPTIONS } from "../../src/engine/notice-body.js";

const byDump = (v: object): string => dump(v, NOTICE_DUMP_OPTIONS);

/** A stage notice as the daemon writes one (placed: relative and absolute paths). */
const stageNotice = {
  id: "notice-00000022",
  from: "orchestrator",
  to: "developer",
  timestamp: "2026-11-30T08:02:02.658Z",
  epic_id: "EP-000000",
  iteration: 1,
  type: "request",
  subject: "stage_entered",
  content: {
    stage: "implementation",
    artifacts: ["implementation.json"],
    epic: "consensus/epics/EP-000000/epic.md",
    epic_abs: "/tmp/consensus-bench-WqBnU3/consensus/epics/EP-000000/epic.md",
    drop_to: "consensus/artifacts/EP-000000/",
    drop_to_abs: "/tmp/consensus-bench-WqBnU3/consensus/artifacts/EP-000000/",
    read: ["consensus/archive/EP-000000/1/plan.json"],
    read_abs: ["/tmp/consensus-bench-WqBnU3/consensus/archive/EP-000000/1/plan.json"],
    open_vetoes: [],
  },
};

/** A rework notice: a veto with sentences, quotes, colons, a number and an empty field. */
const reworkNotice = {
  ...stageNotice,
  subject: "rework_requested",
  iteration: 2,
  content: {
    ...stageNotice.content,
    veto: { from: "devops", subject: "not_production_ready", iteration: 1, stage: "deployment", violation: "no rollback: the runbook's step 3 says \"TBD\"", specifics: "#3 is empty", action_needed: "", veto_file: "consensus/messages/inbox/developer/veto.yaml" },
    open_vetoes: [{ from: "devops", subject: "not_production_ready", iteration: 1, blocking: true, note: null }],
  },
};

describe("formatNoticeBody: dump's text without dump's cost", () => {
  it("writes the notices the daemon writes as dump does, without falling back to it", () => {
    for (const n of [stageNotice, reworkNotice]) {
      expect(fastNoticeBody(n)).toBe(byDump(n));
      expect(formatNoticeBody(n)).toBe(byDump(n));
    }
  });

  it("leaves to dump what it does not write itself (line breaks, long lines, floats), with the same text", () => {
    const cases = [{ a: "two\nlines" }, { a: "x ".repeat(80) }, { a: 1.5 }, { a: -0 }, { a: "tab\there" }, { a: "astral 😀" }, { a: new Date(0) }];
    for (const c of cases) {
      expect(fastNoticeBody(c)).toBeUndefined();
      expect(formatNoticeBody(c)).toBe(byDump(c));
    }
  });

  it("writes the same text as dump for 20,000 random documents of awkward strings", () => {
    // a small deterministic PRNG (mulberry32): the same documents every run
    let seed = 17;
    const rnd = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const pieces = [
      "", "a", "EP-001", "plan.json", "consensus/artifacts/EP-001/", "null", "Null", "NULL", "true", "False", "yes", "No", "on", "OFF", "y", "~",
      "1", "-1", "+1", "0", "007", "0x1F", "0o17", "0b101", "1_000", "1.5", ".5", "1e3", "1E-3", ".inf", "-.Inf", ".nan", "1:30", "12:30:45.5",
      "2026-11-30", "2026-11-30T08:02:02.658Z", "2026-11-30 08:02:02", "<<", "a: b", "a:b", "a:", ":a", "a #b", "a#b", "#a", "- a", "-a", "?a", "? a",
      " ", "  ", " a", "a ", "it's", "'q'", '"q"', "a\nb", "\n", "a\n", "\n a", "\ttab", "x\u0085y", "x\u00a0y", "x\u007fy", "é", "→", "—", "\u2028",
      "\ufeff", "😀", "\ud800", "[a]", "{a}", "a,b", "&a", "*a", "!a", "|a", ">a", "%a", "@a", "`a", "=a", "a=b", "a|b", "\\", "a\\nb", "\u0000",
      "x".repeat(37), "x".repeat(38), "y ".repeat(19), "z".repeat(50),
    ];
    const str = (): string => {
      let s = "";
      for (let n = 1 + Math.floor(rnd() * 3); n > 0; n--) s += pick(pieces);
      // now and then a long one, around every line width dump uses
      if (rnd() < 0.1) s = s.repeat(2 + Math.floor(rnd() * 40)).slice(0, 30 + Math.floor(rnd() * 110));
      return s;
    };
    const value = (depth: number): unknown => {
      const r = rnd();
      if (depth < 4 && r < 0.15) return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, () => [str(), value(depth + 1)]));
      if (depth < 4 && r < 0.27) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
      if (r < 0.33) return pick([0, 1, -7, 12345678901, 1.25, -0, NaN, Infinity, null, true, false, undefined]);
      return str();
    };
    let fast = 0;
    for (let i = 0; i < 20_000; i++) {
      const doc = Object.fromEntries(Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => [str(), value(0)]));
      const want = byDump(doc);
      if (fastNoticeBody(doc) !== undefined) fast++;
      if (formatNoticeBody(doc) !== want) expect({ doc, text: formatNoticeBody(doc) }).toEqual({ doc, text: want });
    }
    // the fast path is taken often enough for the comparison to mean something
    expect(fast).toBeGreaterThan(2_000);
  });
});
