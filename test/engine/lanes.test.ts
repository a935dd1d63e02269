import { describe, expect, it } from "vitest";
import { inLanes } from "../../src/engine/lanes.js";

describe("inLanes", () => {
  it("keeps each lane in order, runs lanes concurrently, and bounds how many run at once", async () => {
    const items = ["a1", "b1", "a2", "c1", "b2", "a3", "d1"];
    const log: string[] = [];
    let running = 0;
    let peak = 0;
    await inLanes(items, (s) => s[0]!, 2, async (s) => {
      running++;
      peak = Math.max(peak, running);
      log.push(`start ${s}`);
      await new Promise((r) => setImmediate(r));
      log.push(`end ${s}`);
      running--;
    });
    const order = (lane: string) => log.filter((l) => l.startsWith(`start ${lane}`)).map((l) => l.slice(6));
    expect(order("a")).toEqual(["a1", "a2", "a3"]);
    expect(order("b")).toEqual(["b1", "b2"]);
    // an item of a lane starts only after the previous one of that lane ended
    expect(log.indexOf("start a2")).toBeGreaterThan(log.indexOf("end a1"));
    expect(log.indexOf("start a3")).toBeGreaterThan(log.indexOf("end a2"));
    expect(peak).toBe(2);
    expect(log.filter((l) => l.startsWith("end"))).toHaveLength(items.length);
  });
});
