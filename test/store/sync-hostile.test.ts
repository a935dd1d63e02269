/**
 * The checkpoint syncs the files and folders the daemon wrote since the last one (fsyncPath). In an
 * inbox an agent can delete in (not sticky), it can put a FIFO or a link at a notice's name before
 * that: opening the FIFO to read waited for a writer for ever, and the checkpoint (every later one
 * too) hung. Review 9 listed it; the files here are real.
 */
import { symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fsyncPath } from "../../src/store/fs/atomic-write.js";
import { tempDirEach, withInboxStore } from "../support/notice-store.js";

const tmp = tempDirEach("consensus-sync-hostile-");

describe("syncing what the daemon wrote, when an agent swapped it", () => {
  it("fsyncPath syncs a file and a folder, and neither opens nor follows a FIFO or a link", async () => {
    const dir = tmp();
    const file = join(dir, "f");
    writeFileSync(file, "x");
    await fsyncPath(file);
    await fsyncPath(dir);
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    await fsyncPath(fifo); // before: waited for a writer for ever
    const link = join(dir, "link");
    symlinkSync(fifo, link);
    await fsyncPath(link);
    await expect(fsyncPath(join(dir, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a checkpoint completes after the agent replaced the daemon's notice with a FIFO", async () => {
    await withInboxStore(tmp(), async ({ store, recovered, inbox }) => {
      await store.deliver({ role: "developer", name: "notice-00000001-EP-001-stage_entered.yaml", body: "hi\n" });
      const notice = join(inbox, "notice-00000001-EP-001-stage_entered.yaml");
      unlinkSync(notice);
      execFileSync("mkfifo", [notice]);
      await store.checkpoint(recovered.view);
    });
  });
});
