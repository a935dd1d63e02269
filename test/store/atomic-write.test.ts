import { describe, expect, it } from "vitest";
import { tmpOf } from "../../src/store/fs/atomic-write.js";

describe("temporary names", () => {
  it("are hidden, end in .tmp, carry 96 random bits each and never repeat (across refills of the random pool)", () => {
    const names = Array.from({ length: 2000 }, () => tmpOf("/r/messages/inbox/developer/notice-1.yaml"));
    for (const n of names) expect(n).toMatch(/^\/r\/messages\/inbox\/developer\/\.notice-1\.yaml\.[0-9a-f]{24}\.tmp$/);
    expect(new Set(names).size).toBe(names.length);
  });
});
