/** The one guarded read (issue 12.8): regular files only, judged after the open, capped, never blocking. */
import { spawnSync } from "node:child_process";
import { linkSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readGuarded, readGuardedSync } from "../../src/store/fs/guarded-read.js";
import { scanCandidates } from "../../src/transports/files/scan.js";

describe("readGuarded", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "consensus-guard-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a regular file under the cap", async () => {
    writeFileSync(join(dir, "a"), "hello");
    expect((await readGuarded(join(dir, "a"), { maxBytes: 5 })).bytes.toString()).toBe("hello");
    expect(readGuardedSync(join(dir, "a"), { maxBytes: 5 }).toString()).toBe("hello");
  });

  it("a name an agent chose goes into the fix's command as one word: run as written, it removes that entry and runs nothing", async () => {
    const name = "x $(touch PWNED) it's";
    for (const make of [() => spawnSync("mkfifo", [join(dir, name)]).status, () => (symlinkSync("/dev/zero", join(dir, name)), 0)]) {
      expect(make()).toBe(0);
      const e = (await readGuarded(join(dir, name), { maxBytes: 10 }).catch((x: unknown) => x)) as { fix: string };
      const cmd = /`(rm [^`]+)`/.exec(e.fix)?.[1];
      expect(cmd, e.fix).toBeDefined();
      expect(spawnSync("sh", ["-c", cmd!], { cwd: dir }).status, cmd).toBe(0);
      expect(spawnSync("ls", ["-A", dir], { encoding: "utf8" }).stdout).toBe("");
    }
  });

  it("refuses a FIFO without blocking, a device, a link (to /dev/zero too) and an oversized file", async () => {
    expect(spawnSync("mkfifo", [join(dir, "fifo")]).status).toBe(0);
    await expect(readGuarded(join(dir, "fifo"), { maxBytes: 10 })).rejects.toMatchObject({ kind: "not_regular", found: "a FIFO (named pipe)" });
    expect(() => readGuardedSync(join(dir, "fifo"), { maxBytes: 10 })).toThrow(/FIFO/);
    await expect(readGuarded("/dev/zero", { maxBytes: 10 })).rejects.toMatchObject({ kind: "not_regular", found: "a character device" });
    symlinkSync("/dev/zero", join(dir, "zero"));
    await expect(readGuarded(join(dir, "zero"), { maxBytes: 10 })).rejects.toMatchObject({ kind: "symlink" });
    writeFileSync(join(dir, "big"), Buffer.alloc(11));
    await expect(readGuarded(join(dir, "big"), { maxBytes: 10 })).rejects.toMatchObject({ kind: "too_large", fix: expect.stringContaining("10 bytes") });
  });

  it("refuses a file with two names when asked (a drop hard-linked to a file elsewhere)", async () => {
    writeFileSync(join(dir, "key"), "secret");
    linkSync(join(dir, "key"), join(dir, "drop"));
    await expect(readGuarded(join(dir, "drop"), { maxBytes: 100, singleLink: true })).rejects.toMatchObject({ kind: "hard_link" });
    expect((await readGuarded(join(dir, "drop"), { maxBytes: 100 })).bytes.toString()).toBe("secret");
  });

  it("the scan keeps every candidate when one name is not UTF-8 (it hid them all before)", async () => {
    const root = join(dir, "root");
    const art = join(root, "artifacts", "EP-1");
    spawnSync("mkdir", ["-p", art]);
    writeFileSync(join(art, "plan.json"), "{}");
    writeFileSync(Buffer.concat([Buffer.from(`${art}/`), Buffer.from([0x70, 0xff, 0x2e, 0x6a, 0x73, 0x6f, 0x6e])]), "{}");
    expect(spawnSync("mkfifo", [join(art, "review.json")]).status).toBe(0);
    const rels = (await scanCandidates(root)).map((c) => c.rel).sort();
    expect(rels).toEqual(["artifacts/EP-1/plan.json", "artifacts/EP-1/p\uFFFD.json", "artifacts/EP-1/review.json"].sort());
  });
});
