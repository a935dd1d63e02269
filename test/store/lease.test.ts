/**
 * The file store's writer lease (issue 12.7): a provably dead holder is taken over at once, a live one
 * is refused, and a holder whose lock was taken over while it was paused cannot append (fencing token).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsStore, lockPathOf } from "../../src/store/fs/fs-store.js";
import { layoutOf, type Layout } from "../../src/store/fs/layout.js";
import { checkFence, ownIdentity } from "../../src/store/fs/lease.js";
import { ConsensusError } from "../../src/errors/issue.js";

/** A lease that would wait this long for staleness never resolves within the test's timeout. */
const FOREVER = 600_000;

describe("writer lease", () => {
  let dir: string;
  let L: Layout;
  const stores: FsStore[] = [];
  const open = (staleMs = FOREVER, onLeaseLost?: (e: Error) => void): FsStore => {
    const s = new FsStore(L, { staleMs, ...(onLeaseLost ? { onLeaseLost } : {}) });
    stores.push(s);
    return s;
  };
  /** A lock folder refreshed just now, and a holder file naming pid. */
  const plantHolder = (pid: number, extra: Record<string, unknown> = {}): void => {
    mkdirSync(L.dot, { recursive: true });
    mkdirSync(lockPathOf(L));
    writeFileSync(L.holder, JSON.stringify({ pid, host: hostname(), started_at: "2026-01-01T00:00:00.000Z", kind: "daemon", ...extra }));
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "consensus-lease-"));
    L = layoutOf(dir);
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes over a fresh lock at once when its holder's pid is gone", async () => {
    const gone = spawnSync("true").pid!;
    plantHolder(gone);
    const s = open();
    const lease = await s.lease("daemon", "watch");
    expect(s.takenOver?.pid).toBe(gone);
    expect(s.takenOverReason).toMatch(/died holding the lock/);
    await lease.release();
  });

  it("takes over at once when the pid now belongs to a process that started at another time", async () => {
    const other = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      plantHolder(other.pid!, { proc_start: "1", boot_id: ownIdentity().boot_id });
      const s = open();
      const lease = await s.lease("daemon", "watch");
      expect(s.takenOver?.pid).toBe(other.pid);
      expect(s.takenOverReason).toMatch(/died/);
      await lease.release();
    } finally {
      other.kill("SIGKILL");
    }
  });

  it("refuses at once a live holder that refreshes its lock", async () => {
    const live = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      const id = ownIdentity();
      // the identity of `live` itself: its start time from /proc
      const start = readFileSync(`/proc/${live.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19];
      plantHolder(live.pid!, { proc_start: start, boot_id: id.boot_id });
      await expect(open().lease("daemon", "watch")).rejects.toMatchObject({ issues: [expect.objectContaining({ code: "LOCK_HELD" })] });
    } finally {
      live.kill("SIGKILL");
    }
  });

  it("a holder whose lock was taken over while it was paused cannot append: it steps down, and leaves the new holder's lock alone", async () => {
    const lost: Error[] = [];
    const a = open(2000, (e) => lost.push(e));
    await a.recover();
    const leaseA = await a.lease("daemon", "watch");
    await a.append([{ drafts: [{ decision: "first", details: {} }] }], "2026-01-01T00:00:00.000Z", 0);
    // A stops refreshing (as under SIGSTOP): its lock ages past the staleness, and B takes it over
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(lockPathOf(L), old, old);
    const b = open(2000);
    await b.recover();
    const leaseB = await b.lease("daemon", "watch");
    const before = readFileSync(L.log, "utf8");
    const err = await a.append([{ drafts: [{ decision: "from_the_paused_one", details: {} }] }], "2026-01-01T00:00:01.000Z", 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsensusError);
    expect((err as ConsensusError).issues[0]!.code).toBe("LEASE_LOST");
    expect((err as ConsensusError).issues[0]!.message).toMatch(/stepping down without writing/);
    expect(readFileSync(L.log, "utf8")).toBe(before);
    // the stepped-down holder's release does not remove B's holder file or lock
    await leaseA.release();
    expect(JSON.parse(readFileSync(L.holder, "utf8"))).toMatchObject({ pid: process.pid, token: leaseB.holder.token });
    expect(existsSync(lockPathOf(L))).toBe(true);
    // B appends as usual
    await expect(b.append([{ drafts: [{ decision: "from_b", details: {} }] }], "2026-01-01T00:00:02.000Z", 1)).resolves.toMatchObject({ entries: [expect.objectContaining({ seq: 2 })] });
    await leaseB.release();
    expect(existsSync(L.holder)).toBe(false);
  });
  // issue 17.2: the fence is one lstat while the holder file is the one last read with our token (it
  // had not changed for a second then). Whatever changes it after that is still caught.
  it("the fence reads the holder again once it changed: in place with the same size, or replaced by another holder's", async () => {
    mkdirSync(L.dot, { recursive: true });
    const holder = (token: string): string => JSON.stringify({ pid: process.pid, host: hostname(), kind: "daemon", token });
    const ours = "a".repeat(32);
    const theirs = "b".repeat(32);
    writeFileSync(L.holder, holder(ours));
    // the condition the cache waits for: a holder file unchanged for over a second
    while (Date.now() - lstatSync(L.holder).ctimeMs <= 1000) await new Promise((r) => setTimeout(r, 100));
    await checkFence(L.holder, ours);
    await checkFence(L.holder, ours);
    writeFileSync(L.holder, holder(theirs));
    await expect(checkFence(L.holder, ours)).rejects.toMatchObject({ issues: [expect.objectContaining({ code: "LEASE_LOST" })] });
    writeFileSync(`${L.holder}.new`, holder(ours));
    renameSync(`${L.holder}.new`, L.holder);
    await checkFence(L.holder, ours);
    writeFileSync(`${L.holder}.new`, holder(theirs));
    renameSync(`${L.holder}.new`, L.holder);
    await expect(checkFence(L.holder, ours)).rejects.toMatchObject({ issues: [expect.objectContaining({ code: "LEASE_LOST" })] });
    rmSync(L.holder);
    await expect(checkFence(L.holder, ours)).rejects.toMatchObject({ issues: [expect.objectContaining({ code: "LEASE_LOST" })] });
  });
});
