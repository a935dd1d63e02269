/**
 * Review of the squat change (review5): the daemon renames aside an agent's folder at a notice's
 * predictable name, then writes the notice by rename at that same name some pool round trips later.
 * An agent's user that makes the folder again in a loop wins that window (seen with real users: 3 to
 * 11 lost tries in a row, each one holding every checkpoint; after MAX_EFFECT_TRIES the notice is given
 * up). Here the window is lost every time, deterministically: right after the daemon's rename aside,
 * the folder is there again (made as uid 4242, as an agent would). Needs root (to own it as 4242).
 */
import { lstatSync, readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it, vi } from "vitest";

vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...real,
    // the agent's loop: its folder, renamed aside, is there again at once
    rename: async (from: string, to: string) => {
      await real.rename(from, to);
      if (basename(from).startsWith("notice-") && basename(to).startsWith(".refused-")) flicker(from);
    },
  };
});

const { flicker } = await import("../support/flicker.js");
const { tempDirEach, withInboxStore } = await import("../support/notice-store.js");
const { readKeyring } = await import("../../src/trust/key-file.js");
const { keyedNoticeNameOk } = await import("../../src/trust/notice-name.js");

const genuine = (inbox: string): string[] => readdirSync(inbox).filter((n) => n.startsWith("notice-") && lstatSync(join(inbox, n)).isFile());

describe.skipIf(process.geteuid?.() !== 0)("a notice's name an agent keeps taking", () => {
  const dir = tempDirEach("consensus-notice-race-");

  // No rename by name can win against an agent that re-makes the folder: the notice goes to its keyed
  // fallback name (trust/notice-name.ts), one the agent cannot know first.
  it("the notice is still delivered when the folder is made again right after it is renamed aside", async () => {
    await withInboxStore(dir(), async ({ store, L, inbox, keyed, keyedName }) => {
      const name = "notice-00000005-EP-001-stage_entered.yaml";
      flicker(join(inbox, name));
      await store.deliver({ role: "developer", name, body: "hi\n" });
      const delivered = genuine(inbox);
      expect(delivered.map((n) => readFileSync(join(inbox, n), "utf8"))).toEqual(["hi\n"]);
      // at the keyed name the daemon key gives, and said so with who holds the regular one
      expect(delivered).toEqual([await keyedName(name)]);
      expect(keyedNoticeNameOk((await readKeyring(L.dot)).keysForFile(), "developer", delivered[0]!)).toBe(true);
      expect(keyed).toEqual([expect.objectContaining({ file: `messages/inbox/developer/${name}`, written_to: `messages/inbox/developer/${delivered[0]}`, uid: 4242, found: "a folder" })]);
      // the agent's folder is still at the regular name (re-made), and no temporary was left behind
      expect(lstatSync(join(inbox, name)).isDirectory()).toBe(true);
      expect(readdirSync(inbox).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    });
  });

  it("recovery after the fallback finds the notice at its keyed name and writes no second one", async () => {
    const name = "notice-00000007-EP-001-stage_entered.yaml";
    const ino = await withInboxStore(dir(), async ({ store, inbox }) => {
      flicker(join(inbox, name));
      await store.deliver({ role: "developer", name, body: "hi\n" });
      expect(genuine(inbox)).toHaveLength(1);
      const ino = lstatSync(join(inbox, genuine(inbox)[0]!)).ino;
      // a failed-notice retry in the same store: the same name, left alone
      await store.deliver({ role: "developer", name, body: "hi\n" }, { replay: true });
      return ino;
    });
    // a restart: recovery re-runs the notice (the agent's folder is still at the regular name)
    await withInboxStore(dir(), async ({ store, inbox, keyed }) => {
      await store.deliver({ role: "developer", name, body: "hi\n" }, { replay: true });
      expect(genuine(inbox)).toHaveLength(1);
      expect(lstatSync(join(inbox, genuine(inbox)[0]!)).ino).toBe(ino);
      expect(keyed).toEqual([]);
    });
  });
});
