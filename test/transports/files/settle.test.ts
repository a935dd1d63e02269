import { describe, expect, it } from "vitest";
import { settleVerdict, type SettleFacts } from "../../../src/transports/files/settle.js";
import { Arrivals } from "../../../src/transports/files/arrivals.js";

const now = 1_000_000;
const facts = (f: Partial<SettleFacts>): SettleFacts => ({ arrival: "renamed", size: 100, mtimeMs: now - 10, ctimeMs: now - 10, now, settleMs: 500, sameSince: now - 10, invalid: false, ...f });

describe("settleVerdict: when a file may be read as complete", () => {
  it("takes a file renamed or linked into place at once, and confirms the read", () => {
    expect(settleVerdict(facts({}))).toEqual({ take: true, confirm: true });
  });

  it("waits for an empty file, however it arrived", () => {
    expect(settleVerdict(facts({ size: 0 }))).toMatchObject({ take: false, waitMs: 495 });
  });

  it("a file written in place is read only once unchanged for settle_ms, valid or not", () => {
    const v = settleVerdict(facts({ arrival: "changed", changeEventAt: now - 150, sameSince: now - 150 }));
    expect(v).toMatchObject({ take: false, waitMs: 355 });
    expect(settleVerdict(facts({ arrival: "changed", changeEventAt: now - 600, sameSince: now - 600 }))).toEqual({ take: true, confirm: true });
  });

  it("the last change event counts even when the file's times look old (a writer that set them back)", () => {
    expect(settleVerdict(facts({ arrival: "changed", mtimeMs: 0, ctimeMs: 0, sameSince: 0, changeEventAt: now - 20 }))).toMatchObject({ take: false });
  });

  it("a file found by a scan settles unless its ctime is past its mtime (renamed, linked or dated back since the last write)", () => {
    expect(settleVerdict(facts({ arrival: "found" }))).toMatchObject({ take: false });
    expect(settleVerdict(facts({ arrival: "found", ctimeMs: now - 5 }))).toEqual({ take: true, confirm: true });
    expect(settleVerdict(facts({ arrival: "found", mtimeMs: now - 5000, ctimeMs: now - 5000, sameSince: now - 5000 }))).toEqual({ take: true, confirm: true });
  });

  it("a whole file that does not parse is rejected only after settle_ms", () => {
    expect(settleVerdict(facts({ invalid: true }))).toMatchObject({ take: false });
    expect(settleVerdict(facts({ invalid: true, sameSince: now - 900 }))).toMatchObject({ take: true });
  });

  it("a file whose writer closed it (the agent exited) is complete at once, valid or not", () => {
    expect(settleVerdict(facts({ arrival: "closed", size: 0, invalid: true }))).toEqual({ take: true, confirm: false });
  });
});

describe("Arrivals: what the watcher said about a path", () => {
  it("create then write is `changed`; a later rename in is `renamed` again; every event moves the counter", () => {
    const a = new Arrivals();
    a.saw("artifacts/plan.json", "rename", 1);
    expect(a.arrival("artifacts/plan.json")).toBe("renamed");
    a.saw("artifacts/plan.json", "change", 2);
    expect(a.arrival("artifacts/plan.json")).toBe("changed");
    expect(a.changeEventAt("artifacts/plan.json")).toBe(2);
    a.saw("artifacts/plan.json", "rename", 3);
    expect(a.arrival("artifacts/plan.json")).toBe("renamed");
    expect(a.gen("artifacts/plan.json")).toBe(3);
  });

  it("forgets a decided path only when no event came after the read", () => {
    const a = new Arrivals();
    a.saw("x", "change", 1);
    const gen = a.gen("x");
    a.saw("x", "change", 2);
    a.settled("x", gen);
    expect(a.arrival("x")).toBe("changed");
    a.settled("x", a.gen("x"));
    expect(a.arrival("x")).toBe("found");
    expect(a.size).toBe(0);
  });

  it("sameSince: the file's mtime at first sight (or now, for a future mtime), kept while size and times stay", () => {
    const a = new Arrivals();
    expect(a.sameSince("x", 10, 500, 500, 1000)).toBe(500);
    expect(a.sameSince("x", 10, 500, 500, 2000)).toBe(500);
    expect(a.sameSince("x", 12, 1900, 1900, 2000)).toBe(1900);
    expect(a.sameSince("y", 1, 9e12, 9e12, 3000)).toBe(3000);
    expect(a.sameSince("y", 1, 9e12, 9e12, 4000)).toBe(3000);
  });
});
