import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf, type Layout } from "../../src/store/fs/layout.js";
import type { View } from "../../src/log/replay.js";
import { Pack } from "../../src/store/fs/pack.js";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const notice = (n: number, body = `notice ${n}\n`) => ({ role: "developer", name: `notice-${n}.yaml`, body });

describe("effects (notices and archive copies) against a root people and agents change", () => {
  let dir: string;
  let L: Layout;
  let store: FsStore;
  let view: View;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-effects-"));
    L = layoutOf(dir);
    store = new FsStore(L);
    view = (await store.recover()).view;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const inbox = (n: number) => join(L.inbox, "developer", `notice-${n}.yaml`);

  it("a notice an agent removed before the checkpoint has nothing to sync: the checkpoint succeeds, and the next one", async () => {
    await store.deliver(notice(1));
    rmSync(inbox(1));
    await expect(store.checkpoint(view)).resolves.toBeUndefined();
    expect(existsSync(L.checkpoint)).toBe(true);
    await store.deliver(notice(2));
    await expect(store.checkpoint(view)).resolves.toBeUndefined();
    expect(readFileSync(inbox(2), "utf8")).toBe("notice 2\n");
  });

  it("an inbox folder removed while running is made again for the next notice (and the checkpoint still succeeds)", async () => {
    await store.deliver(notice(1));
    rmSync(join(L.inbox, "developer"), { recursive: true });
    await store.deliver(notice(2));
    expect(readFileSync(inbox(2), "utf8")).toBe("notice 2\n");
    await expect(store.checkpoint(view)).resolves.toBeUndefined();
    // and again after a checkpoint cleared the set of unsynced paths
    rmSync(join(L.inbox, "developer"), { recursive: true });
    await store.deliver(notice(3));
    expect(readFileSync(inbox(3), "utf8")).toBe("notice 3\n");
    await expect(store.checkpoint(view)).resolves.toBeUndefined();
  });

  it("an archive iteration folder removed while running is made again for the next publish", async () => {
    const a = Buffer.from("plan v1\n");
    const b = Buffer.from("implementation v1\n");
    await store.putBlob(sha(a), a);
    await store.putBlob(sha(b), b);
    await store.publish("EP-001", 1, "plan.json", sha(a));
    rmSync(join(L.archive, "EP-001"), { recursive: true });
    await store.publish("EP-001", 1, "implementation.json", sha(b));
    expect(readFileSync(join(L.archive, "EP-001", "1", "implementation.json"), "utf8")).toBe("implementation v1\n");
    await expect(store.checkpoint(view)).resolves.toBeUndefined();
  });

  it("an artifact's bytes are a pack record: found again, also by a store opened after a restart that read the entry naming them", async () => {
    const a = Buffer.from("a\n");
    await store.putBlob(sha(a), a);
    await store.putBlob(sha(a), a);
    expect(await store.getBlob(sha(a))).toEqual(a);
    expect(existsSync(L.blobs)).toBe(false);
    const [entry] = (await store.append([{ drafts: [{ decision: "artifact_accepted", epic_id: "EP-001", iteration: 1, details: { file: "artifacts/EP-001/plan.json", sha256: sha(a) } }], input: `artifacts/EP-001/plan.json@${sha(a)}` }], "2026-11-30T00:00:00.000Z", view.seq)).entries;
    expect(entry!.details).toMatchObject({ pack: { offset: 0, length: a.length } });
    await store.close();
    store = new FsStore(L);
    await store.recover();
    expect(await store.getBlob(sha(a))).toEqual(a);
  });

  it("a batch's blobs asked for at once (one content twice) are one record each, in order, and each archive copy is exact", async () => {
    const bodies = Array.from({ length: 40 }, (_, i) => Buffer.from(`plan ${i}\n`.repeat(i + 1)));
    await Promise.all([...bodies, bodies[3]!].map((b) => store.putBlob(sha(b), b)));
    const pack = await Pack.open(L.pack, 0);
    const records = [...pack.scan(statSync(L.pack).size).values()];
    await pack.close();
    expect(records.map((r) => r.sha256)).toEqual(bodies.map(sha));
    expect(records.map((r) => r.offset)).toEqual([...records.keys()].map((i) => (i === 0 ? 0 : Pack.end(records[i - 1]!))));
    await Promise.all(bodies.map((b, i) => store.publish(`EP-${String(i).padStart(3, "0")}`, 1, "plan.json", sha(b))));
    for (const [i, b] of bodies.entries()) expect(readFileSync(join(L.archive, `EP-${String(i).padStart(3, "0")}`, "1", "plan.json"))).toEqual(b);
    // a second archive copy of bytes already copied once is written from the pack record
    await store.publish("EP-100", 1, "plan.json", sha(bodies[3]!));
    expect(readFileSync(join(L.archive, "EP-100", "1", "plan.json"))).toEqual(bodies[3]);
  });

  it("publish writes the archive copy from the pack record, is idempotent, and on replay replaces a copy whose data was lost in a crash", async () => {
    const a = Buffer.from("plan v1\n");
    await store.putBlob(sha(a), a);
    const target = join(L.archive, "EP-001", "1", "plan.json");
    await store.publish("EP-001", 1, "plan.json", sha(a));
    expect(readFileSync(target, "utf8")).toBe("plan v1\n");
    const first = statSync(target).ino;
    await store.publish("EP-001", 1, "plan.json", sha(a), { replay: true });
    expect(statSync(target).ino).toBe(first);
    rmSync(target);
    writeFileSync(target, "");
    await store.publish("EP-001", 1, "plan.json", sha(a), { replay: true });
    expect(readFileSync(target, "utf8")).toBe("plan v1\n");
  });

  it("a root from before the pack: publish links the blob file, is idempotent, and replaces a zero-length archive file", async () => {
    const a = Buffer.from("plan v1\n");
    const blob = join(L.blobs, sha(a).slice(0, 2), sha(a));
    mkdirSync(dirname(blob), { recursive: true });
    writeFileSync(blob, a);
    const target = join(L.archive, "EP-001", "1", "plan.json");
    await store.publish("EP-001", 1, "plan.json", sha(a));
    expect(statSync(target).ino).toBe(statSync(blob).ino);
    await store.publish("EP-001", 1, "plan.json", sha(a));
    expect(readFileSync(target, "utf8")).toBe("plan v1\n");
    rmSync(target);
    writeFileSync(target, "");
    await store.publish("EP-001", 1, "plan.json", sha(a));
    expect(readFileSync(target, "utf8")).toBe("plan v1\n");
    expect(statSync(target).ino).toBe(statSync(blob).ino);
  });

  it("publish replaces an archive file that differs from the blob (the same name accepted again)", async () => {
    const a = Buffer.from("plan v1\n");
    const b = Buffer.from("plan v1, revised\n");
    await store.putBlob(sha(a), a);
    await store.putBlob(sha(b), b);
    await store.publish("EP-001", 1, "plan.json", sha(a));
    await store.publish("EP-001", 1, "plan.json", sha(b));
    expect(readFileSync(join(L.archive, "EP-001", "1", "plan.json"), "utf8")).toBe("plan v1, revised\n");
  });

  it("publish of a blob that is not there says so", async () => {
    await expect(store.publish("EP-001", 1, "plan.json", "ab".repeat(32))).rejects.toThrow(/blob .* is missing/);
  });

  it("on replay a notice already there whole is not rewritten; a missing or short one is written", async () => {
    await store.deliver(notice(1));
    const before = statSync(inbox(1));
    // live: always written (no stat first), so a new file replaces it
    await store.deliver(notice(1));
    expect(statSync(inbox(1)).ino).not.toBe(before.ino);
    const present = statSync(inbox(1));
    await store.deliver(notice(1), { replay: true });
    expect(statSync(inbox(1)).ino).toBe(present.ino);
    expect(readFileSync(inbox(1), "utf8")).toBe("notice 1\n");
    // short (its data never reached the disk): rewritten
    writeFileSync(inbox(1), "");
    await store.deliver(notice(1), { replay: true });
    expect(readFileSync(inbox(1), "utf8")).toBe("notice 1\n");
    // missing: written
    rmSync(inbox(1));
    await store.deliver(notice(1), { replay: true });
    expect(readFileSync(inbox(1), "utf8")).toBe("notice 1\n");
  });
});

describe("recovery keeps only the replayed entries the caller needs", () => {
  it("unapplied holds the kept entries, replayed counts every entry after the checkpoint", async () => {
    const dir = mkdtempSync(join(tmpdir(), "consensus-keep-"));
    try {
      const L = layoutOf(dir);
      let store = new FsStore(L);
      const { view } = await store.recover();
      await store.append([1, 2, 3].map((n) => ({ drafts: [{ decision: n === 2 ? "epic_started" : "message_accepted", details: { n } }] })), "2026-11-30T00:00:00.000Z", view.seq);
      await store.close();
      store = new FsStore(L);
      const rec = await store.recover({ keep: (e) => e.decision === "epic_started" });
      expect(rec.unapplied.map((e) => e.seq)).toEqual([2]);
      expect(rec.replayed).toBe(3);
      expect(rec.unapplied[0]).not.toHaveProperty("mac");
      expect(rec.unapplied[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
