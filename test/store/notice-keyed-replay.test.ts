/**
 * Review 9: a notice written at its keyed fallback name (its regular name was taken) and re-run by
 * recovery with a body of another length (its read list or its absolute paths are derived again at
 * replay: the root moved, later artifacts published) or after a crash left the keyed copy short: the
 * replay took the keyed copy for "not there" (it asked for the exact size) and, the squatter gone,
 * wrote the notice at its regular name too, so the role had two copies of it. Real files: the entry at
 * the name is root's folder (never moved aside), which makes the write fall back without a race.
 */
import { mkdirSync, readFileSync, readdirSync, rmdirSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirEach, withInboxStore } from "../support/notice-store.js";

const notices = (inbox: string): string[] => readdirSync(inbox).filter((n) => n.startsWith("notice-")).sort();

describe("a notice at its keyed name, replayed", () => {
  const dir = tempDirEach("consensus-keyed-replay-");

  /** The notice delivered once at its keyed name (root's folder at the regular one), then the folder removed. */
  async function keyedOnce(name: string): Promise<{ inbox: string; keyed: string }> {
    const { inbox, keyed } = await withInboxStore(dir(), async ({ store, inbox, keyedName }) => {
      mkdirSync(join(inbox, name));
      await store.deliver({ role: "developer", name, body: "first body\n" });
      return { inbox, keyed: await keyedName(name) };
    });
    expect(notices(inbox)).toEqual([name, keyed].sort());
    // the squatter's entry goes: the regular name is free at the replay
    rmdirSync(join(inbox, name));
    return { inbox, keyed };
  }

  for (const [what, body, before] of [
    ["derived again with another length", "a longer body, derived again\n", () => {}],
    ["left short by a crash", "first body\n", (p: string) => truncateSync(p, 0)],
  ] as const) {
    it(`${what}: rewritten at its keyed name, never a second copy at the regular one`, async () => {
      const name = "notice-00000009-EP-001-stage_entered.yaml";
      const { inbox, keyed } = await keyedOnce(name);
      before(join(inbox, keyed));
      await withInboxStore(dir(), async ({ store }) => {
        await store.deliver({ role: "developer", name, body }, { replay: true });
      });
      expect(notices(inbox)).toEqual([keyed]);
      expect(readFileSync(join(inbox, keyed), "utf8")).toBe(body);
    });
  }
});
