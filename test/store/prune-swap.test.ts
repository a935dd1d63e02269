/**
 * Review 9: prune removes an epic's derived files; a name in an inbox may hold an agent's own file
 * (a keyed-looking notice name it made up: isDerivedFileOf takes it by name). Prune looked (lstat: a
 * file) and then unlinked by name; an agent that swapped its file for a folder in between made the
 * unlink fail (EISDIR), and with it the prune effect and every checkpoint until it was given up. What
 * is a folder by the unlink is left for its owner, as one seen by the lstat is. The agent's timing is
 * made deterministic by wrapping unlink (as test/store/notice-name-race.test.ts wraps rename).
 */
import { writeFileSync, lstatSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it, vi } from "vitest";

vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...real,
    // the agent's swap, between the daemon's look and its unlink
    unlink: async (p: string) => {
      if (basename(p).startsWith("notice-") && basename(p).includes(".0123456789abcdef.")) {
        await real.rm(p);
        await real.mkdir(p);
      }
      return real.unlink(p);
    },
  };
});

const { tempDirEach, withInboxStore } = await import("../support/notice-store.js");

describe("prune, a file swapped for a folder before the unlink", () => {
  const dir = tempDirEach("consensus-prune-swap-");

  it("leaves the folder and removes the rest; the effect does not fail", async () => {
    await withInboxStore(dir(), async ({ store, inbox }) => {
      const swapped = "notice-00000003-EP-001-stage_entered.0123456789abcdef.yaml";
      const plain = "notice-00000004-EP-001-rework_requested.yaml";
      writeFileSync(join(inbox, swapped), "x\n");
      writeFileSync(join(inbox, plain), "y\n");
      await store.prune("EP-001", [`messages/inbox/developer/${swapped}`, `messages/inbox/developer/${plain}`]);
      expect(lstatSync(join(inbox, swapped)).isDirectory()).toBe(true);
      expect(lstatSync(join(inbox, plain), { throwIfNoEntry: false })).toBeUndefined();
    });
  });
});
