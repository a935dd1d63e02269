/**
 * The checkpoint syncs the files and folders the daemon wrote since the last one (fsyncPath). In an
 * inbox an agent can delete in (not sticky), it can put a FIFO or a link at a notice's name before
 * that: opening the FIFO to read waited for a writer for ever, and the checkpoint (every later one
 * too) hung. Review 9 listed it; the files here are real.
 */
import { chmodSync, chownSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
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

  it("fsyncPath neither opens nor fails on a socket an agent bound at the name (open(2) says ENXIO)", async () => {
    const dir = tmp();
    const sock = join(dir, "notice-00000001-EP-001-stage_entered.yaml");
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      await fsyncPath(sock); // before: ENXIO, and the checkpoint (every later one too) failed on it
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  // the daemon's user is not root here: run as root, the test takes uid 65534's place for the calls
  it.skipIf(process.geteuid?.() !== 0)("fsyncPath skips another user's entry it may not open (EACCES), and throws on its own", async () => {
    const dir = tmp();
    chmodSync(dir, 0o755);
    const theirs = join(dir, "theirs");
    writeFileSync(theirs, "x", { mode: 0o000 });
    const mine = join(dir, "mine");
    writeFileSync(mine, "x", { mode: 0o000 });
    chownSync(mine, 65534, 65534);
    process.seteuid!(65534);
    try {
      await fsyncPath(theirs); // before: EACCES, and the checkpoint (every later one too) failed on it
      await expect(fsyncPath(mine)).rejects.toMatchObject({ code: "EACCES" });
    } finally {
      process.seteuid!(0);
    }
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
