/**
 * Review 9: a notice written at its keyed fallback name (its regular name was taken) and re-run by
 * recovery with a body of another length (its read list or its absolute paths are derived again at
 * replay: the root moved, later artifacts published) or after a crash left the keyed copy short: the
 * replay took the keyed copy for "not there" (it asked for the exact size) and, the squatter gone,
 * wrote the notice at its regular name too, so the role had two copies of it. Real files: the entry at
 * the name is root's folder (never moved aside), which makes the write fall back without a race.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf } from "../../src/store/fs/layout.js";
import { readKeyring } from "../../src/trust/key-file.js";
import { keyedNoticeName } from "../../src/trust/notice-name.js";

const notices = (inbox: string): string[] => readdirSync(inbox).filter((n) => n.startsWith("notice-")).sort();

describe("a notice at its keyed name, replayed", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "consensus-keyed-replay-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function keyedOnce(name: string): Promise<{ L: ReturnType<typeof layoutOf>; inbox: string; keyed: string }> {
    const L = layoutOf(join(dir, "root"));
    mkdirSync(L.root);
    const inbox = join(L.inbox, "developer");
    mkdirSync(join(inbox, name), { recursive: true });
    const s = new FsStore(L);
    await s.recover();
    try {
      await s.deliver({ role: "developer", name, body: "first body\n" });
    } finally {
      await s.close();
    }
    const keyed = keyedNoticeName((await readKeyring(L.dot)).keysForFile().at(-1)!, "developer", name);
    expect(notices(inbox)).toEqual([name, keyed].sort());
    // the squatter's entry goes: the regular name is free at the replay
    rmdirSync(join(inbox, name));
    return { L, inbox, keyed };
  }

  for (const [what, body, before] of [
    ["derived again with another length", "a longer body, derived again\n", () => {}],
    ["left short by a crash", "first body\n", (p: string) => truncateSync(p, 0)],
  ] as const) {
    it(`${what}: rewritten at its keyed name, never a second copy at the regular one`, async () => {
      const name = "notice-00000009-EP-001-stage_entered.yaml";
      const { L, inbox, keyed } = await keyedOnce(name);
      before(join(inbox, keyed));
      const s = new FsStore(L);
      await s.recover();
      try {
        await s.deliver({ role: "developer", name, body }, { replay: true });
      } finally {
        await s.close();
      }
      expect(notices(inbox)).toEqual([keyed]);
      expect(readFileSync(join(inbox, keyed), "utf8")).toBe(body);
    });
  }
});
