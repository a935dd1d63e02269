import { describe, expect, it } from "vitest";
import { GroupSync, eachLimited } from "../../src/store/fs/group-sync.js";

describe("GroupSync", () => {
  it("shares one sync among requests made while it is queued, and starts a new one for requests made while it runs", async () => {
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const g = new GroupSync(async (p) => {
      started.push(p);
      if (started.length === 1) await gate;
    });
    const a = [g.sync("/d"), g.sync("/d"), g.sync("/d")];
    // let the first sync start
    while (started.length === 0) await new Promise((r) => setImmediate(r));
    const b = [g.sync("/d"), g.sync("/d")];
    release();
    await Promise.all([...a, ...b]);
    expect(started).toEqual(["/d", "/d"]);
    await g.sync("/e");
    expect(started).toEqual(["/d", "/d", "/e"]);
  });

  it("passes a failed sync's error to everyone who shared it", async () => {
    const g = new GroupSync(async () => {
      throw new Error("EIO");
    });
    await expect(Promise.all([g.sync("/d"), g.sync("/d")])).rejects.toThrow("EIO");
  });
});

describe("eachLimited", () => {
  it("never runs more than the limit at once, runs every item, and reports the first error after all settle", async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    const run = eachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      running--;
      done.push(n);
      if (n === 2) throw new Error("two");
    });
    await expect(run).rejects.toThrow("two");
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("hands each item its index, runs nothing for no items, and takes a limit above the count", async () => {
    const seen: Array<[string, number]> = [];
    await eachLimited(["a", "b", "c"], 128, async (x, i) => void seen.push([x, i]));
    expect(seen.sort()).toEqual([["a", 0], ["b", 1], ["c", 2]]);
    let ran = 0;
    await eachLimited([], 8, async () => void ran++);
    expect(ran).toBe(0);
  });
});
