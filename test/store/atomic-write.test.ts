import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { isDaemonTempName, tmpOf, writeAtomic } from "../../src/store/fs/atomic-write.js";

describe("temporary names", () => {
  it("are hidden, end in .tmp, carry 96 random bits each and never repeat (across refills of the random pool)", () => {
    const names = Array.from({ length: 2000 }, () => tmpOf("/r/messages/inbox/developer/notice-1.yaml"));
    for (const n of names) expect(n).toMatch(/^\/r\/messages\/inbox\/developer\/\.notice-1\.yaml\.[0-9a-f]{24}\.tmp$/);
    expect(new Set(names).size).toBe(names.length);
  });

  it("are told by name (isDaemonTempName: what the start-up sweep may remove), both forms; an agent's .name.tmp and other names are not", () => {
    for (const hide of [false, true]) for (const target of ["/r/current/state.json", "/r/messages/inbox/dev/notice-00000001-EP-001-x.yaml", "/r/a b.c"]) expect(isDaemonTempName(basename(tmpOf(target, hide))), `${target} ${hide}`).toBe(true);
    for (const n of [".plan.json.tmp", ".drop-1-2.tmp", "notice-1.yaml", `plan.json.${"a".repeat(24)}.tmp`, `.plan.json.${"A".repeat(24)}.tmp`, `.plan.json.${"a".repeat(23)}.tmp`, `.plan.json.${"a".repeat(24)}.tmp.yaml`, `.daemon.key.${"a".repeat(16)}.tmp`]) expect(isDaemonTempName(n), n).toBe(false);
  });
});

describe("writeAtomic of bytes in parts (the checkpoint and state.json: issue 17.3)", () => {
  it("writes the parts in order, more of them than one writev takes (IOV_MAX 1024), durably, with the root check", async () => {
    const dir = mkdtempSync(join(tmpdir(), "consensus-parts-"));
    try {
      const parts = Array.from({ length: 3000 }, (_, i) => Buffer.from(`${i},é;`));
      const target = join(dir, "state.json");
      await writeAtomic(target, parts, { durable: true, root: dir });
      expect(readFileSync(target)).toEqual(Buffer.concat(parts));
      expect(readdirSync(dir)).toEqual(["state.json"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
