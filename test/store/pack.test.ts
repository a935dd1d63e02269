import { createHash } from "node:crypto";
import { linkSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PACK_HEADER, Pack, type PackAddress } from "../../src/store/fs/pack.js";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const item = (s: string) => {
  const bytes = Buffer.from(s);
  return { bytes, sha256: sha(bytes) };
};
const CHUNK = 1 << 20;

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "consensus-pack-"));
  path = join(dir, "pack");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** What a crash leaves when a record's data never reached the disk: the preallocated zeros. */
function zeroOut(a: PackAddress, from = 0): void {
  const fd = openSync(path, "r+");
  writeSync(fd, Buffer.alloc(PACK_HEADER + a.length - from), 0, PACK_HEADER + a.length - from, a.offset + from);
  closeSync(fd);
}

describe("Pack", () => {
  it("appends records back to back, reads each whole by its address, and preallocates so appends do not grow the file", async () => {
    const pack = await Pack.open(path, 0, { chunkBytes: CHUNK });
    expect(statSync(path).size).toBe(CHUNK);
    const items = [item('{"epic_id":"EP-001"}'), item("# runbook\n"), item("")];
    const addrs = await pack.append(items);
    await pack.flush();
    expect(addrs.map((a) => a.offset)).toEqual([0, PACK_HEADER + 20, 2 * PACK_HEADER + 30]);
    expect(pack.size).toBe(Pack.end(addrs[2]!));
    for (const [i, a] of addrs.entries()) expect(Buffer.from((await pack.read(a))!)).toEqual(items[i]!.bytes);
    expect(statSync(path).size).toBe(CHUNK);
    await pack.close();
  });

  it("grows by whole chunks when a record does not fit, keeping every record readable", async () => {
    const pack = await Pack.open(path, 0, { chunkBytes: CHUNK });
    const big = { bytes: Buffer.alloc(CHUNK + 100, 7), sha256: "" };
    big.sha256 = sha(big.bytes);
    const [a1] = await pack.append([item("first")]);
    const [a2] = await pack.append([big]);
    const [a3] = await pack.append([item("third")]);
    await pack.flush();
    expect(statSync(path).size).toBeGreaterThanOrEqual(Pack.end(a3!));
    expect(statSync(path).size % CHUNK).toBe(0);
    expect(await pack.firstNotWhole([a1!, a2!, a3!])).toBe(-1);
    await pack.close();
  });

  it("gives concurrent appends disjoint ranges", async () => {
    const pack = await Pack.open(path, 0, { chunkBytes: CHUNK });
    const batches = await Promise.all(Array.from({ length: 20 }, (_, i) => pack.append([item(`a${i}`), item(`b${i}-${"x".repeat(i * 1000)}`)])));
    await pack.flush();
    const addrs = batches.flat().sort((x, y) => x.offset - y.offset);
    for (let i = 1; i < addrs.length; i++) expect(addrs[i]!.offset).toBe(Pack.end(addrs[i - 1]!));
    expect(await pack.firstNotWhole(addrs)).toBe(-1);
    await pack.close();
  });

  it("finds the first log entry whose bytes are not whole: zeros (never reached the disk), a torn tail, another content", async () => {
    const pack = await Pack.open(path, 0, { chunkBytes: CHUNK });
    const addrs = await pack.append([item("one"), item("two two"), item("three three three")]);
    await pack.flush();
    await pack.close();
    zeroOut(addrs[2]!, PACK_HEADER + 5);
    const again = await Pack.open(path, Pack.end(addrs[2]!), { chunkBytes: CHUNK });
    expect(await again.firstNotWhole(addrs)).toBe(2);
    expect(await again.read(addrs[2]!)).toBeUndefined();
    // the address the log holds names other bytes than the record at that offset
    expect(await again.holds({ ...addrs[1]!, sha256: addrs[0]!.sha256 })).toBe(false);
    expect(await again.holds({ ...addrs[1]!, length: addrs[1]!.length - 1 })).toBe(false);
    // beyond the end of the file, or not an offset at all
    expect(await again.holds({ offset: CHUNK * 4, length: 3, sha256: addrs[0]!.sha256 })).toBe(false);
    expect(await again.holds({ offset: -1, length: 3, sha256: addrs[0]!.sha256 })).toBe(false);
    zeroOut(addrs[1]!);
    expect(await again.firstNotWhole(addrs)).toBe(1);
    // the same judgement on the calling thread (recovery's reader)
    expect(addrs.map((a) => again.holdsSync(a))).toEqual([true, false, false]);
    expect(again.holdsSync({ offset: CHUNK * 4, length: 3, sha256: addrs[0]!.sha256 })).toBe(false);
    await again.close();
  });

  it("reopened at the log's end, overwrites what no entry refers to and keeps what they do", async () => {
    const pack = await Pack.open(path, 0, { chunkBytes: CHUNK });
    const [kept] = await pack.append([item("committed")]);
    await pack.append([item("written, but the log entry never made it")]);
    await pack.flush();
    await pack.close();
    const again = await Pack.open(path, Pack.end(kept!), { chunkBytes: CHUNK });
    const [next] = await again.append([item("next")]);
    await again.flush();
    expect(next!.offset).toBe(Pack.end(kept!));
    expect(Buffer.from((await again.read(kept!))!).toString()).toBe("committed");
    expect(Buffer.from((await again.read(next!))!).toString()).toBe("next");
    await again.close();
    expect(readFileSync(path).subarray(next!.offset + PACK_HEADER, Pack.end(next!)).toString()).toBe("next");
  });

  it("refuses a log that refers to bytes past the end of the pack", async () => {
    const pack = await Pack.open(path, 0, { chunkBytes: CHUNK });
    await pack.close();
    await expect(Pack.open(path, CHUNK + 1)).rejects.toThrow(/refers to bytes up to/);
  });

  it("is made private (0600), starts small and grows by its own size; never opened through a link or a second name", async () => {
    const pack = await Pack.open(path, 0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // a first chunk of 1 MiB, not the 64 MiB most (a small project never holds 64 MiB of zeros)
    expect(statSync(path).size).toBe(1 << 20);
    await pack.append([{ bytes: Buffer.alloc(1 << 20, 1), sha256: sha(Buffer.alloc(1 << 20, 1)) }]);
    await pack.flush();
    expect(statSync(path).size).toBeGreaterThanOrEqual((1 << 20) + PACK_HEADER);
    await pack.close();
    const other = join(dir, "elsewhere");
    symlinkSync(path, other);
    await expect(Pack.open(other, 0)).rejects.toThrow();
    rmSync(other);
    linkSync(path, other);
    await expect(Pack.open(path, 0)).rejects.toThrow(/a hard link/);
  });
});
