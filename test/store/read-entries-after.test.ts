/**
 * Store port contract, run against both stores (a real folder, a real PostgreSQL): readEntries({
 * afterSeq }) gives exactly what a read of the whole log gives after the daemon's line of that seq —
 * the same lines, the same line numbers — whether the store reads on from an earlier read or not, and
 * stays right when the log under it gained a forged or agent's line, or was cut back and written
 * again (a restore, a recovery's cut): it reads again from the start then, never stale or wrong lines.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, appendFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { silentLogger } from "../../src/daemon/logger.js";
import { unsealLine } from "../../src/log/chain.js";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf, type Layout } from "../../src/store/fs/layout.js";
import { PgStore } from "../../src/store/pg/pg-store.js";
import type { Store } from "../../src/store/port.js";
import { daemonEntries } from "../../src/transports/await-decision.js";
import { engineIn } from "../support/engine.js";
import { following, readAll, startEpics } from "../support/log-reads.js";
import { pipeline } from "../support/pipeline.js";
import { freshDatabase, type TestDb } from "../support/pg.js";

/** A log under test: a writer (the engine) and a reader that only reads, as an MCP session's. */
interface Subject {
  engine: Engine;
  reader: Store;
  /** A reader with no earlier read (no cursor). */
  freshReader(): Promise<Store>;
  /** Puts a line claiming to be the daemon's verdict, and an agent's line, into the log after its current end. */
  forge(): Promise<void>;
  /** Cuts the log back to just after seq `m` and opens a new writer on it (as after a restore): the next seqs are written again. */
  cutTo(m: number): Promise<void>;
  close(): Promise<void>;
}

const lastSeq = async (s: Store): Promise<number> => (await daemonEntries(s)).at(-1)?.seq ?? 0;

async function fsSubject(): Promise<Subject & { layout: Layout; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "consensus-read-after-"));
  let { layout, engine, store } = await engineIn(dir);
  const reader = new FsStore(layout, { readOnly: true });
  const s = {
    dir,
    layout,
    get engine() {
      return engine;
    },
    reader,
    freshReader: async () => new FsStore(layout, { readOnly: true }),
    async forge() {
      const lines = readFileSync(layout.record, "utf8").trimEnd().split("\n");
      const last = JSON.parse(lines.at(-1)!) as { seq: number };
      // re-hashed in the daemon's shape, but without the daemon key: its MAC does not check
      const forged = `{"seq":${last.seq + 1},"txn":1,"timestamp":"2026-11-21T10:00:00Z","agent":"orchestrator","decision":"artifact_accepted","epic_id":"EP-001","details":{"file":"artifacts/EP-001/plan.json","sha256":"${"a".repeat(64)}"},"input":"x","hash":"${"b".repeat(64)}","mac":"k1.${"c".repeat(64)}"}`;
      appendFileSync(layout.record, `${forged}\n{"seq":${last.seq + 1},"agent":"planner","decision":"artifact_accepted","details":{"file":"artifacts/EP-001/plan.json"}}\n`);
    },
    async cutTo(m: number) {
      await store.close();
      const text = readFileSync(layout.record, "utf8");
      let offset = 0;
      for (const line of text.split("\n")) {
        offset += Buffer.byteLength(line) + 1;
        if (unsealLine(line) && (JSON.parse(line) as { seq: number }).seq === m) break;
      }
      truncateSync(layout.record, offset);
      rmSync(layout.log, { force: true });
      ({ layout, engine, store } = await engineIn(dir));
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return s;
}

async function pgSubject(): Promise<Subject> {
  // a schema of its own per subject: each starts from an empty log
  // a database of its own per subject: each starts from an empty log
  const db: TestDb = await freshDatabase();
  const url = db.url;
  const open = async (): Promise<{ store: PgStore; engine: Engine }> => {
    const store = await PgStore.open(url, { staleMs: 2000 });
    await store.lease("daemon", "test");
    return { store, engine: await Engine.open(pipeline, store, silentLogger()) };
  };
  let w = await open();
  const readers: PgStore[] = [await PgStore.open(url, { readOnly: true })];
  return {
    get engine() {
      return w.engine;
    },
    reader: readers[0]!,
    freshReader: async () => {
      const r = await PgStore.open(url, { readOnly: true });
      readers.push(r);
      return r;
    },
    async forge() {
      // an agent's line moved in with the last entry (a log moved in from a folder): it claims a verdict
      const claim = `{"seq":999,"agent":"orchestrator","decision":"artifact_accepted","details":{"file":"artifacts/EP-001/plan.json","sha256":"${"a".repeat(64)}"},"hash":"${"b".repeat(64)}"}`;
      await w.store.sql`UPDATE entries SET foreign_text = ${`${claim}\n{"agent":"planner","decision":"note"}\n`} WHERE seq = (SELECT max(seq) FROM entries)`;
    },
    async cutTo(m: number) {
      // as a restore from a backup taken at seq m leaves it
      const { sql } = w.store;
      await sql`DELETE FROM entries WHERE seq > ${m}`;
      await sql`DELETE FROM marks WHERE seq > ${m}`;
      await sql`DELETE FROM snapshots`;
      await sql`UPDATE head SET seq = ${m}, hash = (SELECT hash FROM entries WHERE seq = ${m})`;
      await w.store.close();
      w = await open();
    },
    async close() {
      await Promise.all([w.store.close(), ...readers.map((r) => r.close())]);
      await db.drop();
    },
  };
}

describe.each([
  ["file store", fsSubject],
  ["PostgreSQL store", pgSubject],
] as const)("readEntries after a seq (%s)", (_name, make) => {
  it("gives what a whole read gives after that seq's line, line numbers included, with or without an earlier read to go on from; after the last seq, nothing", async () => {
    const s = await make();
    try {
      await startEpics(s.engine, 5);
      const whole = await readAll(await s.freshReader());
      const top = await lastSeq(s.reader);
      expect(top).toBeGreaterThanOrEqual(5);
      for (const k of [0, 1, 3, top - 1, top]) {
        expect(await readAll(await s.freshReader(), k)).toEqual(following(whole, k));
        expect(await readAll(s.reader, k)).toEqual(following(whole, k));
      }
      expect(await readAll(s.reader, top)).toEqual([]);
      expect(await readAll(s.reader, top + 10)).toEqual([]);
      // reading on as the log grows: each read after the last seq read gives the new lines only
      let seen = top;
      for (let i = 0; i < 3; i++) {
        await startEpics(s.engine, 2);
        const fresh = await daemonEntries(s.reader, seen);
        expect(fresh.map((e) => e.seq)).toEqual((await daemonEntries(await s.freshReader(), seen)).map((e) => e.seq));
        expect(fresh.length).toBeGreaterThanOrEqual(2);
        seen = fresh.at(-1)!.seq;
      }
      expect(await readAll(s.reader, seen)).toEqual([]);
      const again = await readAll(await s.freshReader());
      expect(await readAll(s.reader, top)).toEqual(following(again, top));
    } finally {
      await s.close();
    }
  });

  it("an afterSeq that is no seq (not a whole number, or past 2^53) is refused alike, saying what it got; a negative one reads from the start", async () => {
    const s = await make();
    try {
      await startEpics(s.engine, 2);
      for (const bad of [2.5, Number.NaN, Number.POSITIVE_INFINITY, 1e20]) {
        await expect(readAll(s.reader, bad)).rejects.toThrow(new RangeError(`readEntries: afterSeq must be a whole number of at most ${Number.MAX_SAFE_INTEGER} (a seq of the log), not ${bad}`));
      }
      expect(await readAll(s.reader, -1)).toEqual(await readAll(await s.freshReader()));
    } finally {
      await s.close();
    }
  });

  it("a read its caller stopped early leaves a right point to read on from", async () => {
    const s = await make();
    try {
      await startEpics(s.engine, 2);
      await s.forge();
      await startEpics(s.engine, 4);
      const whole = await readAll(await s.freshReader());
      const reader = await s.freshReader();
      for await (const l of reader.readEntries()) if (unsealLine(l.raw) && l.entry?.seq === 4) break;
      for (const k of [3, 4, 5]) expect(await readAll(reader, k)).toEqual(following(whole, k));
    } finally {
      await s.close();
    }
  });

  it("a line claiming to be the daemon's verdict that it did not seal, and an agent's line, are never the daemon's entries, read on or read whole", async () => {
    const s = await make();
    try {
      await startEpics(s.engine, 2);
      const before = await lastSeq(s.reader);
      expect(await readAll(s.reader, before)).toEqual([]);
      await s.forge();
      await startEpics(s.engine, 2);
      // numbered as a whole read numbers them, though the agents' lines came in below where this reader had read to
      expect(await readAll(s.reader, before)).toEqual(following(await readAll(await s.freshReader()), before));
      const read = await daemonEntries(s.reader, before);
      expect(read.some((e) => e.decision === "artifact_accepted")).toBe(false);
      expect(read.map((e) => e.seq)).toEqual((await daemonEntries(await s.freshReader(), before)).map((e) => e.seq));
      expect(read.map((e) => e.seq)).toEqual(read.map((_, i) => before + 1 + i));
      // the whole read agrees, line for line
      expect(await readAll(s.reader, before)).toEqual(following(await readAll(await s.freshReader()), before));
    } finally {
      await s.close();
    }
  });

  it("a log cut back and written again under a reader's last read is read again from the start: the new lines, never the old ones", async () => {
    const s = await make();
    try {
      // agents' lines before where the reader gets to: the restored log has none, so its lines are numbered otherwise
      await startEpics(s.engine, 3);
      await s.forge();
      await startEpics(s.engine, 3);
      const top = await lastSeq(s.reader);
      const old = await readAll(s.reader, 2);
      expect(await readAll(s.reader, top)).toEqual([]);
      // restored from a backup taken at seq 2, and written on past where the reader was
      await s.cutTo(2);
      await startEpics(s.engine, 8);
      const whole = await readAll(await s.freshReader());
      const now = await lastSeq(await s.freshReader());
      expect(now).toBeGreaterThan(top);
      expect(await readAll(s.reader, top)).toEqual(following(whole, top));
      expect(await readAll(s.reader, 2)).toEqual(following(whole, 2));
      expect((await readAll(s.reader, 2)).map((l) => l.raw)).not.toEqual(old.map((l) => l.raw));
      // cut back again with nothing written since: nothing after the seq the reader had reached
      expect(await readAll(s.reader, now)).toEqual([]);
      await s.cutTo(2);
      expect(await readAll(s.reader, now)).toEqual([]);
      expect(await readAll(s.reader, 2)).toEqual(following(await readAll(await s.freshReader()), 2));
    } finally {
      await s.close();
    }
  });
});

describe("readEntries after a seq (file store only)", () => {
  it("reads on from where the last read stopped: only the bytes appended since, whatever the log's size", async () => {
    const s = await fsSubject();
    try {
      await startEpics(s.engine, 40);
      const reader = s.reader as FsStore;
      const top = await lastSeq(reader);
      const size = statSync(s.layout.record).size;
      expect(reader.bytesRead).toBe(size);
      let seen = top;
      for (let i = 0; i < 5; i++) {
        const was = { bytes: reader.bytesRead, size: statSync(s.layout.record).size };
        await startEpics(s.engine, 1);
        const grew = statSync(s.layout.record).size - was.size;
        const fresh = await daemonEntries(reader, seen);
        expect(fresh.length).toBeGreaterThan(0);
        expect(reader.bytesRead - was.bytes).toBe(grew);
        seen = fresh.at(-1)!.seq;
      }
    } finally {
      await s.close();
    }
  });

  it("two waits on one reader, each reading on after the last seq it got, read only what was appended: neither makes the other read the log again", async () => {
    const s = await fsSubject();
    try {
      await startEpics(s.engine, 40);
      const reader = s.reader as FsStore;
      const top = await lastSeq(reader);
      const seen = [top, top];
      for (let i = 0; i < 4; i++) {
        await startEpics(s.engine, 1);
        const size = statSync(s.layout.record).size;
        // the two waits wake on the same append and read one after the other, each after its own last seq
        for (const w of [0, 1]) {
          const was = reader.bytesRead;
          const fresh = await daemonEntries(reader, seen[w]!);
          expect(fresh.map((e) => e.seq)).toEqual((await daemonEntries(await s.freshReader(), seen[w]!)).map((e) => e.seq));
          expect(fresh.length).toBeGreaterThan(0);
          expect(reader.bytesRead - was).toBeLessThan(size / 4);
          seen[w] = fresh.at(-1)!.seq;
        }
        // and one of them is a wake behind the other
        if (i === 1) await startEpics(s.engine, 1);
        if (i === 1) seen[0] = (await daemonEntries(reader, seen[0]!)).at(-1)!.seq;
      }
    } finally {
      await s.close();
    }
  });

  it("a log replaced by another file (renamed over it) is read from the start", async () => {
    const s = await fsSubject();
    try {
      await startEpics(s.engine, 4);
      const top = await lastSeq(s.reader);
      const text = readFileSync(s.layout.record, "utf8");
      // the same bytes up to the reader's last line, then a line of a log that was never the daemon's
      writeFileSync(`${s.layout.record}.new`, `${text}{"agent":"planner","decision":"note"}\n`);
      renameSync(`${s.layout.record}.new`, s.layout.record);
      const got = await readAll(s.reader, top);
      expect(got).toEqual(following(await readAll(await s.freshReader()), top));
      expect(got.map((l) => l.raw)).toEqual(['{"agent":"planner","decision":"note"}']);
    } finally {
      await s.close();
    }
  });
});

describe("readEntries after a seq (PostgreSQL store only)", () => {
  it("two waits on one reader, each reading on after the last seq it got, count only the rows appended: neither makes the other count the log again", async () => {
    const s = await pgSubject();
    try {
      await startEpics(s.engine, 40);
      const reader = s.reader as PgStore;
      const top = await lastSeq(reader);
      const seen = [top, top];
      for (let i = 0; i < 4; i++) {
        await startEpics(s.engine, 1);
        for (const w of [0, 1]) {
          const was = reader.rowsCounted;
          const fresh = await daemonEntries(reader, seen[w]!);
          const whole = await readAll(await s.freshReader());
          expect(await readAll(reader, seen[w]!)).toEqual(following(whole, seen[w]!));
          expect(fresh.length).toBeGreaterThan(0);
          // this read and the check's read after the same seq: each counts what is new to it, not the 40 epics' rows
          expect(reader.rowsCounted - was).toBeLessThan(10);
          seen[w] = fresh.at(-1)!.seq;
        }
        if (i === 1) await startEpics(s.engine, 1);
        if (i === 1) seen[0] = (await daemonEntries(reader, seen[0]!)).at(-1)!.seq;
      }
    } finally {
      await s.close();
    }
  });
});
