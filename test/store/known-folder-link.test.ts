/**
 * review rv6 (issue 17.2): a folder known from an earlier write is no longer checked before the next
 * write; the write checks afterwards where its open temporary landed (/proc/self/fd) and removes it.
 * So a known folder an agent swapped for a link makes the daemon create its temporary — the whole
 * notice, or the agent's own artifact bytes for an archive copy — in the folder the link names: the
 * private area, or any folder the daemon's user may write. Before, nothing was created there (the
 * known folder's real path was checked first). Real files, a real FsStore.
 *
 * Evidence without a race: the target folder's mtime. Creating and removing an entry both set it, so a
 * folder whose mtime was set back beforehand and is unchanged after the refused write had nothing
 * created in it, even briefly.
 */
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf, type Layout } from "../../src/store/fs/layout.js";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const unsafe = { issues: [expect.objectContaining({ code: "UNSAFE_PATH" })] };
const OLD = new Date("2001-01-01T00:00:00Z");
/** The folder's mtime set back to OLD: any entry made or removed in it since moves it. */
const markOld = (d: string): void => utimesSync(d, OLD, OLD);
const untouched = (d: string): boolean => lstatSync(d).mtimeMs === OLD.getTime();

describe("a known folder swapped for a link: nothing is created where the link points", () => {
  let dir: string;
  let outside: string;
  let L: Layout;
  let store: FsStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-known-"));
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
