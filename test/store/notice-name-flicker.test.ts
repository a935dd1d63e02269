/**
 * Review 9: an agent that makes its folder at a notice's name and removes it again in a loop. The
 * daemon's rename fails on the folder (EISDIR), and by the time it looks at the name the folder is
 * gone: the fallback to the keyed name took "nothing there" for "not taken" and failed the notice
 * (retried before each checkpoint, each try a new race the agent may win again). The name was taken
 * when the write failed: the notice goes to its keyed name. The agent's timing is made deterministic
 * here by wrapping the renames (as in notice-name-race.test.ts); the files are real. Needs root (to own
 * the folder as uid 4242, as an agent would).
 */
import { lstatSync, readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it, vi } from "vitest";

vi.mock("node:fs/promises", async (importOriginal) => (await import("../support/flicker.js")).flickeringRename(await importOriginal<typeof import("node:fs/promises")>()));
/** Set by the test that has the folder appear only at the rename (and vanish again after it failed). */
let appearAtRename = false;
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  return {
    ...real,
    renameSync: (from: string, to: string) => {
      // an agent's folder made right at the daemon's rename, after its first look found nothing
      if (appearAtRename && basename(from).startsWith(".notice-") && basename(to).startsWith("notice-")) real.mkdirSync(to);
      try {
        real.renameSync(from, to);
      } catch (e) {
        if (basename(to).startsWith("notice-") && (e as NodeJS.ErrnoException).code === "EISDIR") real.rmdirSync(to);
        throw e;
      }
    },
  };
});

const { flicker } = await import("../support/flicker.js");
const { tempDirEach, withInboxStore } = await import("../support/notice-store.js");

describe.skipIf(process.geteuid?.() !== 0)("a folder at a notice's name made and removed in a loop", () => {
  const dir = tempDirEach("consensus-notice-flicker-");

  it("the daemon delivers the notice at its keyed name, not fails it", async () => {
    await withInboxStore(dir(), async ({ store, inbox, keyed, keyedName }) => {
      const name = "notice-00000011-EP-001-stage_entered.yaml";
      flicker(join(inbox, name));
      await store.deliver({ role: "developer", name, body: "hi\n" });
      const want = await keyedName(name);
      expect(readdirSync(inbox).filter((n) => n.startsWith("notice-"))).toEqual([want]);
      expect(readFileSync(join(inbox, want), "utf8")).toBe("hi\n");
      expect(lstatSync(join(inbox, want)).isFile()).toBe(true);
      expect(keyed).toEqual([expect.objectContaining({ file: `messages/inbox/developer/${name}`, written_to: `messages/inbox/developer/${want}`, found: "a folder" })]);
    });
  });

  it("a folder that appears only at the rename and is gone when looked at: keyed name, and no owner made up", async () => {
    await withInboxStore(dir(), async ({ store, inbox, keyed, keyedName }) => {
      appearAtRename = true;
      try {
        const name = "notice-00000012-EP-001-stage_entered.yaml";
        await store.deliver({ role: "developer", name, body: "hi\n" });
        const want = await keyedName(name);
        expect(readdirSync(inbox).filter((n) => n.startsWith("notice-"))).toEqual([want]);
        // its owner was never seen: said so (undefined), not a uid -1 for `getent passwd -1`
        expect(keyed).toEqual([expect.objectContaining({ file: `messages/inbox/developer/${name}`, uid: undefined })]);
      } finally {
        appearAtRename = false;
      }
    });
  });
});
