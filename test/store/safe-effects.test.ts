/**
 * Effects re-validate what they use and never write through a link (issue 12.2), and files get explicit
 * modes whatever the umask (12.11): real files, real links, a folder outside the root that must end as
 * it began.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf, type Layout } from "../../src/store/fs/layout.js";
import { tmpOf, writeAtomic } from "../../src/store/fs/atomic-write.js";
import { openAgentLog } from "../../src/runner/agent-process.js";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const unsafe = { issues: [expect.objectContaining({ code: "UNSAFE_PATH" })] };
const OLD = new Date("2001-01-01T00:00:00Z");
/** The folder's mtime set back to OLD: any entry made or removed in it since moves it. */
const markOld = (d: string): void => utimesSync(d, OLD, OLD);
const untouched = (d: string): boolean => lstatSync(d).mtimeMs === OLD.getTime();

describe("effects against a hostile tree", () => {
  let dir: string;
  let outside: string;
  let L: Layout;
  let store: FsStore;
  const outsideFiles = (): string[] => readdirSync(outside).sort();
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-safe-"));
    outside = mkdtempSync(join(tmpdir(), "consensus-outside-"));
    writeFileSync(join(outside, "precious.txt"), "x");
    L = layoutOf(join(dir, "root"));
    mkdirSync(L.root);
    store = new FsStore(L);
    await store.recover();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it("an inbox folder replaced by a link: the notice is refused, nothing lands outside", async () => {
    mkdirSync(L.inbox, { recursive: true });
    symlinkSync(outside, join(L.inbox, "developer"));
    await expect(store.deliver({ role: "developer", name: "notice-1.yaml", body: "hi\n" })).rejects.toMatchObject(unsafe);
    await expect(store.deliver({ role: "developer", name: "notice-1.yaml", body: "hi\n" }, { replay: true })).rejects.toMatchObject(unsafe);
    expect(outsideFiles()).toEqual(["precious.txt"]);
  });

  // review5: a notice whose write failed is retried with replay (engine.retryFailedEffects), and replay
  // kept any regular file of the notice's length at its name: an agent that made the first write fail
  // (its folder there again in the rename window) then put its own file of that length there kept it
  // as the notice, read as the daemon's by an agent reading its inbox's files.
  it.skipIf(process.geteuid?.() !== 0)("on replay a file of the notice's length another user put at its name is replaced by the notice, not kept", async () => {
    const inbox = join(L.inbox, "developer");
    mkdirSync(inbox, { recursive: true });
    const target = join(inbox, "notice-1.yaml");
    writeFileSync(target, "no\n");
    lchownSync(target, 4242, 4242);
    await store.deliver({ role: "developer", name: "notice-1.yaml", body: "hi\n" }, { replay: true });
    expect([readFileSync(target, "utf8"), lstatSync(target).uid]).toEqual(["hi\n", process.geteuid?.()]);
    // the daemon's own notice of that length is left alone on replay, as before
    const ino = lstatSync(target).ino;
    await store.deliver({ role: "developer", name: "notice-1.yaml", body: "hi\n" }, { replay: true });
    expect(lstatSync(target).ino).toBe(ino);
  });

  it.skipIf(process.geteuid?.() !== 0)("a folder, FIFO or link another user made at a notice's name is renamed aside unread and the notice written; root's stays, the notice refused", async () => {
    const inbox = join(L.inbox, "developer");
    mkdirSync(inbox, { recursive: true });
    const freed: Array<{ file: string; moved_to: string; uid: number; found: string }> = [];
    const s2 = new FsStore(L, { onNoticeNameFreed: (a) => freed.push(a) });
    try {
      mkdirSync(join(inbox, "notice-1.yaml"));
      writeFileSync(join(inbox, "notice-1.yaml", "inside"), "kept");
      execFileSync("mkfifo", [join(inbox, "notice-2.yaml")]);
      symlinkSync(join(outside, "precious.txt"), join(inbox, "notice-3.yaml"));
      for (const n of ["notice-1.yaml", "notice-2.yaml", "notice-3.yaml"]) lchownSync(join(inbox, n), 4242, 4242);
      for (const n of ["notice-1.yaml", "notice-2.yaml", "notice-3.yaml"]) await s2.deliver({ role: "developer", name: n, body: "hi\n" });
      for (const n of ["notice-1.yaml", "notice-2.yaml", "notice-3.yaml"]) expect(readFileSync(join(inbox, n), "utf8"), n).toBe("hi\n");
      expect(freed.map((f) => [f.file, f.found, f.uid])).toEqual([
        ["messages/inbox/developer/notice-1.yaml", "a folder", 4242],
        ["messages/inbox/developer/notice-2.yaml", "a FIFO (named pipe)", 4242],
        ["messages/inbox/developer/notice-3.yaml", "a symbolic link", 4242],
      ]);
      expect(readFileSync(join(L.root, freed[0]!.moved_to, "inside"), "utf8")).toBe("kept");
      expect(lstatSync(join(L.root, freed[2]!.moved_to)).isSymbolicLink()).toBe(true);
      expect(readFileSync(join(outside, "precious.txt"), "utf8")).toBe("x");
      // root's folder there is never moved: the notice fails, as before
      mkdirSync(join(inbox, "notice-4.yaml"));
      await expect(s2.deliver({ role: "developer", name: "notice-4.yaml", body: "hi\n" })).rejects.toThrow(/EISDIR/);
      expect(freed).toHaveLength(3);
    } finally {
      await s2.close();
    }
  });

  it("a folder above, swapped for a link after an earlier write, is caught at the next write", async () => {
    await store.deliver({ role: "developer", name: "notice-1.yaml", body: "hi\n" });
    rmSync(L.inbox, { recursive: true });
    symlinkSync(outside, L.inbox);
    await expect(store.deliver({ role: "developer", name: "notice-2.yaml", body: "hi\n" })).rejects.toMatchObject(unsafe);
    expect(outsideFiles()).toEqual(["precious.txt"]);
  });

  // issue 17.2: the write checks where its open temporary really is (/proc/self/fd on Linux); a folder
  // known from an earlier write is walked again by name first (review rv6: known-folder-link.test.ts
  // shows nothing is created where the link points, not even briefly).
  it("a known folder swapped for a link to a folder of the same shape: refused, nothing left outside, writes resume once it is gone", async () => {
    await store.deliver({ role: "developer", name: "notice-1.yaml", body: "hi\n" });
    mkdirSync(join(outside, "developer"));
    rmSync(L.inbox, { recursive: true });
    symlinkSync(outside, L.inbox);
    await expect(store.deliver({ role: "developer", name: "notice-2.yaml", body: "hi\n" })).rejects.toMatchObject(unsafe);
    expect([outsideFiles(), readdirSync(join(outside, "developer"))]).toEqual([["developer", "precious.txt"], []]);
    rmSync(L.inbox);
    await store.deliver({ role: "developer", name: "notice-2.yaml", body: "hi\n" });
    expect(readdirSync(join(L.inbox, "developer"))).toEqual(["notice-2.yaml"]);
  });

  it("the same for an archive copy: an epic's known archive folder swapped for a link is refused", async () => {
    const bytes = Buffer.from("{}\n");
    await store.putBlob(sha(bytes), bytes);
    await store.publish("EP-1", 1, "plan.json", sha(bytes));
    mkdirSync(join(outside, "1"));
    rmSync(join(L.archive, "EP-1"), { recursive: true });
    symlinkSync(outside, join(L.archive, "EP-1"));
    await expect(store.publish("EP-1", 1, "design.json", sha(bytes))).rejects.toMatchObject(unsafe);
    expect(readdirSync(join(outside, "1"))).toEqual([]);
  });

  it("an archive folder replaced by a link: publish is refused, nothing lands outside", async () => {
    const bytes = Buffer.from("{}\n");
    await store.putBlob(sha(bytes), bytes);
    mkdirSync(L.archive, { recursive: true });
    symlinkSync(outside, join(L.archive, "EP-1"));
    await expect(store.publish("EP-1", 1, "plan.json", sha(bytes))).rejects.toMatchObject(unsafe);
    expect(outsideFiles()).toEqual(["precious.txt"]);
  });

  it("ids, iterations, file names and digests from a forged entry are checked where the path is built", async () => {
    const bytes = Buffer.from("{}\n");
    await store.putBlob(sha(bytes), bytes);
    const rel = `../../${basename(outside)}`;
    await expect(store.publish(`${rel}/x`, 1, "plan.json", sha(bytes))).rejects.toMatchObject(unsafe);
    await expect(store.publish("EP-1", "../.." as unknown as number, "plan.json", sha(bytes))).rejects.toMatchObject(unsafe);
    await expect(store.publish("EP-1", 1, `${rel}/evil`, sha(bytes))).rejects.toMatchObject(unsafe);
    await expect(store.publish("EP-1", 1, "plan.json", `../../${"0".repeat(10)}`)).rejects.toMatchObject(unsafe);
    await expect(store.deliver({ role: "../../x", name: "n.yaml", body: "" })).rejects.toMatchObject(unsafe);
    await expect(store.deliver({ role: "developer", name: "../../../x.yaml", body: "" })).rejects.toMatchObject(unsafe);
    await expect(store.putBlob("../../x", bytes)).rejects.toMatchObject(unsafe);
    expect(outsideFiles()).toEqual(["precious.txt"]);
    expect(existsSync(L.archive)).toBe(false);
  });

  it("an agent-log folder replaced by a link: the log is not opened", () => {
    mkdirSync(L.agentLogs, { recursive: true });
    symlinkSync(outside, join(L.agentLogs, "EP-1"));
    expect(() => openAgentLog(join(L.agentLogs, "EP-1", "1", "dev-1.log"), L.root)).toThrow(/symbolic link/);
    // a path built from a forged id never leaves logs/agents
    expect(() => openAgentLog(join(L.agentLogs, "..", "..", ".consensus", "x-1.log"), L.root)).toThrow(/logs\/agents/);
    // a link planted at the log's own name is refused, not written through
    mkdirSync(join(L.agentLogs, "EP-2", "1"), { recursive: true });
    symlinkSync(join(outside, "precious.txt"), join(L.agentLogs, "EP-2", "1", "dev-1.log"));
    expect(() => openAgentLog(join(L.agentLogs, "EP-2", "1", "dev-1.log"), L.root)).toThrow(/ELOOP/);
    expect(outsideFiles()).toEqual(["precious.txt"]);
    expect(statSync(join(outside, "precious.txt")).size).toBe(1);
  });

  it("temporary names are unguessable (no pid, no counter) and distinct", () => {
    const names = Array.from({ length: 100 }, () => basename(tmpOf(join(L.current, "state.json"))));
    expect(new Set(names).size).toBe(100);
    // 96 random bits, nothing else: no pid, no counter to predict the next one from
    for (const n of names) expect(n).toMatch(/^\.state\.json\.[0-9a-f]{24}\.tmp$/);
  });

  it("files and folders get explicit modes whatever the umask: shared 0644/0755, private 0600/0700", async () => {
    const old = process.umask(0o000);
    try {
      const lease = await store.lease("command", "test");
      await store.deliver({ role: "developer", name: "notice-1.yaml", body: "hi\n" });
      const blob = Buffer.from("{}\n");
      await store.putBlob(sha(blob), blob);
      await store.publish("EP-1", 1, "plan.json", sha(blob));
      await store.checkpoint((await store.recover()).view);
      await writeAtomic(join(L.root, "plain.txt"), "x");
      const mode = (p: string): string => (lstatSync(p).mode & 0o7777).toString(8);
      expect(mode(join(L.inbox, "developer", "notice-1.yaml"))).toBe("644");
      expect(mode(join(L.inbox, "developer"))).toBe("755");
      expect(mode(L.state)).toBe("644");
      expect(mode(join(L.root, "plain.txt"))).toBe("644");
      expect(mode(L.dot)).toBe("700");
      expect(mode(L.checkpoint)).toBe("600");
      expect(mode(L.holder)).toBe("600");
      // the archive copy is the blob's inode: readable by agents
      expect(mode(join(L.archive, "EP-1", "1", "plan.json"))).toBe("644");
      await lease.release();
    } finally {
      process.umask(old);
    }
  });

  // review rv6 (issue 17.2): a known folder swapped for a link must not get even a temporary created
  // where the link points (the whole notice, or the agent's own artifact bytes for an archive copy),
  // refused and removed or not. Evidence without a race: the target folder's mtime, set back before;
  // creating or removing an entry in it moves it.
  it("a role's inbox swapped for a link to the private area: the notice is refused and nothing is created in .consensus/", async () => {
    await store.deliver({ role: "developer", name: "notice-1.yaml", body: "hi\n" });
    mkdirSync(L.dot, { recursive: true });
    const before = readdirSync(L.dot).sort();
    rmSync(join(L.inbox, "developer"), { recursive: true });
    symlinkSync(L.dot, join(L.inbox, "developer"));
    markOld(L.dot);
    await expect(store.deliver({ role: "developer", name: "notice-2.yaml", body: "hi\n" })).rejects.toMatchObject(unsafe);
    expect(readdirSync(L.dot).sort()).toEqual(before);
    expect(untouched(L.dot), "an entry was created (and removed) in .consensus/").toBe(true);
  });

  it("an epic's archive folder swapped for a link to a folder of the same shape: the agent's bytes are never written there", async () => {
    const bytes = Buffer.from('{"planted":"by the agent"}\n');
    await store.putBlob(sha(bytes), bytes);
    await store.publish("EP-1", 1, "plan.json", sha(bytes));
    mkdirSync(join(outside, "1"));
    rmSync(join(L.archive, "EP-1"), { recursive: true });
    symlinkSync(outside, join(L.archive, "EP-1"));
    markOld(join(outside, "1"));
    await expect(store.publish("EP-1", 1, "design.json", sha(bytes))).rejects.toMatchObject(unsafe);
    expect(readdirSync(join(outside, "1"))).toEqual([]);
    expect(untouched(join(outside, "1")), "a temporary was created (and removed) outside the root").toBe(true);
  });
});
