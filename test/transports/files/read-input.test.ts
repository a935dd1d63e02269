/**
 * Reading a drop (read-input.ts) where a folder on the way is a link out of the root: refused as
 * SYMLINK_OUTSIDE, and what it leads to is never opened (review rv7 of "where it is asked of
 * /proc/self/fd"): opening is not harmless for a FIFO (its waiting writer is let go) or a socket.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, constants as fsc, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readCandidateSync } from "../../../src/transports/files/read-input.js";

describe("readCandidateSync: a folder on the way that links out of the root", () => {
  let base: string;
  let root: string;
  let realRoot: string;
  let outside: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), "consensus-read-input-"));
    root = join(base, "root");
    outside = join(base, "outside");
    mkdirSync(join(root, "artifacts", "EP-1"), { recursive: true });
    mkdirSync(outside);
    realRoot = realpathSync(root);
    symlinkSync(outside, join(root, "artifacts", "EP-OUT"));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it("a regular file there is refused as outside, one inside is read", () => {
    writeFileSync(join(outside, "plan.json"), "{}");
    writeFileSync(join(root, "artifacts", "EP-1", "plan.json"), "{}");
    expect(readCandidateSync(root, realRoot, "artifacts/EP-OUT/plan.json", 100)).toMatchObject({ ok: false, issue: { code: "SYMLINK_OUTSIDE", found: realpathSync(join(outside, "plan.json")) } });
    expect(readCandidateSync(root, realRoot, "artifacts/EP-1/plan.json", 100)).toMatchObject({ ok: true, size: 2 });
  });

  it("a socket there is refused as outside (SYMLINK_OUTSIDE), not as unreadable: it is never opened", async () => {
    const srv: Server = createServer();
    await new Promise<void>((res) => srv.listen(join(outside, "plan.json"), res));
    try {
      expect(readCandidateSync(root, realRoot, "artifacts/EP-OUT/plan.json", 100)).toMatchObject({ ok: false, issue: { code: "SYMLINK_OUTSIDE" } });
    } finally {
      srv.close();
    }
  });

  it.runIf(process.platform === "linux")("a FIFO there is never opened: the writer waiting for a reader still waits, and writes to the first real reader", async () => {
    const fifo = join(outside, "plan.json");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const writer = spawn("sh", ["-c", 'exec 3>"$0"; echo x >&3', fifo], { stdio: "ignore" });
    const exited = new Promise<{ code: number | null; signal: string | null }>((res) => writer.on("exit", (code, signal) => res({ code, signal })));
    // the writer blocked in open(2), waiting for a reader
    await vi.waitFor(() => expect(readFileSync(`/proc/${writer.pid}/wchan`, "utf8")).toBe("wait_for_partner"), { timeout: 5000 });
    expect(readCandidateSync(root, realRoot, "artifacts/EP-OUT/plan.json", 100)).toMatchObject({ ok: false, issue: { code: "SYMLINK_OUTSIDE" } });
    // the test is the first reader: the writer was still waiting, so its line comes here (had the
    // daemon opened the FIFO, the writer would have written to it and died of SIGPIPE once it closed;
    // a writer slow to wake may still reach this reader instead, so this catches that 2 runs in 3:
    // the socket above catches it every time)
    const fd = openSync(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK);
    try {
      expect(await exited).toEqual({ code: 0, signal: null });
      const buf = Buffer.alloc(16);
      expect(buf.subarray(0, readSync(fd, buf)).toString()).toBe("x\n");
    } finally {
      closeSync(fd);
    }
  });
});

describe("readCandidateSync: a link at the drop's name is answered by where it leads, never skipped as gone (review rv8)", () => {
  let base: string;
  let root: string;
  let realRoot: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), "consensus-read-input-"));
    root = join(base, "root");
    mkdirSync(join(root, "artifacts", "EP-1"), { recursive: true });
    mkdirSync(join(root, ".consensus", "keys"), { recursive: true });
    writeFileSync(join(root, ".consensus", "keys", "daemon.key"), '{"secret":"s3cr3t"}');
    realRoot = realpathSync(root);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));
  const read = (rel: string) => readCandidateSync(root, realRoot, rel, 100);

  it("a dangling link, a loop of links and a link to a folder: NOT_REGULAR_FILE naming the target, with the fix", () => {
    symlinkSync("/nonexistent/plan.json", join(root, "artifacts/EP-1/plan.json"));
    expect(read("artifacts/EP-1/plan.json")).toMatchObject({ ok: false, issue: { code: "NOT_REGULAR_FILE", found: "a symbolic link to /nonexistent/plan.json (nothing that exists)", fix: expect.stringContaining("rm artifacts/EP-1/plan.json") } });
    symlinkSync("review.json", join(root, "artifacts/EP-1/implementation.json"));
    symlinkSync("implementation.json", join(root, "artifacts/EP-1/review.json"));
    expect(read("artifacts/EP-1/review.json")).toMatchObject({ ok: false, issue: { code: "NOT_REGULAR_FILE", found: expect.stringContaining("a loop of links") } });
    symlinkSync(join(root, "artifacts"), join(root, "artifacts/EP-1/deployment.json"));
    expect(read("artifacts/EP-1/deployment.json")).toMatchObject({ ok: false, issue: { code: "NOT_REGULAR_FILE", found: expect.stringContaining("a folder") } });
  });

  it("a link into the private area is refused unread (its bytes would be read otherwise: it is inside the root)", () => {
    symlinkSync(join(root, ".consensus/keys/daemon.key"), join(root, "artifacts/EP-1/plan.json"));
    const r = read("artifacts/EP-1/plan.json");
    expect(r).toMatchObject({ ok: false, issue: { code: "SYMLINK_OUTSIDE", found: join(realRoot, ".consensus/keys/daemon.key"), message: expect.stringContaining("private area") } });
    expect(JSON.stringify(r)).not.toContain("s3cr3t");
    // through a folder on the way too: the fix removes that folder's link, never the path through it
    // (`rm artifacts/EP-KEYS/daemon.key` would remove the daemon's key)
    symlinkSync(join(root, ".consensus/keys"), join(root, "artifacts/EP-KEYS"));
    const via = read("artifacts/EP-KEYS/daemon.key");
    expect(via).toMatchObject({ ok: false, issue: { code: "SYMLINK_OUTSIDE", message: expect.stringContaining("private area"), fix: expect.stringContaining("`rm artifacts/EP-KEYS`") } });
    expect(JSON.stringify(via)).not.toContain("rm artifacts/EP-KEYS/daemon.key");
  });

  it("a link out of the root: the fix removes the link it is (the drop's name, or the folder on the way) and names the file to copy", () => {
    const out = join(base, "out");
    mkdirSync(out);
    writeFileSync(join(out, "plan.json"), "{}");
    symlinkSync(join(out, "plan.json"), join(root, "artifacts/EP-1/plan.json"));
    expect(read("artifacts/EP-1/plan.json")).toMatchObject({ ok: false, issue: { code: "SYMLINK_OUTSIDE", fix: `Remove the link (\`rm artifacts/EP-1/plan.json\`) and copy the file into place instead (\`cp ${realpathSync(join(out, "plan.json"))} artifacts/EP-1/plan.json\`): the daemon reads no drop from outside the root.` } });
    symlinkSync(out, join(root, "artifacts/EP-2"));
    const r = read("artifacts/EP-2/plan.json");
    expect(r).toMatchObject({ ok: false, issue: { code: "SYMLINK_OUTSIDE", fix: expect.stringContaining("`rm artifacts/EP-2`") } });
    expect(JSON.stringify(r)).not.toContain("rm artifacts/EP-2/plan.json");
  });

  it("names an agent chose (the drop's, the link's target) go into the fix's commands as words: run from the root, they do what they say and nothing else", () => {
    const out = join(base, "out $(touch PWNED-target)");
    mkdirSync(out);
    writeFileSync(join(out, "it's.json"), "{}");
    // the commands a person would copy from each fix, run as written (cwd: the root)
    const runFix = (fix: string): void => {
      const cmds = [...fix.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      expect(cmds.length, fix).toBeGreaterThan(0);
      for (const cmd of cmds) expect(spawnSync("sh", ["-c", cmd], { cwd: root, encoding: "utf8" }).status, `${cmd} (from: ${fix})`).toBe(0);
    };
    const outName = "artifacts/EP-1/$(touch PWNED-out) x.json";
    symlinkSync(join(out, "it's.json"), join(root, outName));
    const r = read(outName);
    expect(r).toMatchObject({ ok: false, issue: { code: "SYMLINK_OUTSIDE" } });
    runFix((r as { issue: { fix: string } }).issue.fix);
    // the link was removed and the file copied into its place, by those names
    expect(lstatSync(join(root, outName)).isFile()).toBe(true);
    const danglingName = "artifacts/EP-1/a;touch PWNED-dangling;.json";
    symlinkSync("/nonexistent/$(touch PWNED-x)", join(root, danglingName));
    const d = read(danglingName);
    expect(d).toMatchObject({ ok: false, issue: { code: "NOT_REGULAR_FILE" } });
    runFix((d as { issue: { fix: string } }).issue.fix);
    expect(existsSync(join(root, danglingName))).toBe(false);
    expect(lstatSync(join(root, "artifacts/EP-1")).isDirectory()).toBe(true);
    // a FIFO at such a name (the guarded read's own fix, named by the drop's name)
    const fifoName = "artifacts/EP-1/$(touch PWNED-fifo) f.json";
    expect(spawnSync("mkfifo", [join(root, fifoName)]).status).toBe(0);
    const f = read(fifoName);
    expect(f).toMatchObject({ ok: false, issue: { code: "NOT_REGULAR_FILE" } });
    runFix((f as { issue: { fix: string } }).issue.fix);
    expect(existsSync(join(root, fifoName))).toBe(false);
    // no command hidden in a name ran
    expect(readdirSync(root).filter((n) => n.startsWith("PWNED"))).toEqual([]);
    expect(readdirSync(base).filter((n) => n.startsWith("PWNED"))).toEqual([]);
  });

  it("a link to a FIFO inside the root, both names needing quotes: the fix is one command that removes the drop's name", () => {
    const fifo = join(root, "artifacts/EP-1/a b.json");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const name = "artifacts/EP-1/it's.json";
    symlinkSync("a b.json", join(root, name));
    const r = read(name);
    expect(r).toMatchObject({ ok: false, issue: { code: "NOT_REGULAR_FILE" } });
    const fix = (r as { issue: { fix: string } }).issue.fix;
    // before: the quoted target was replaced inside its own quotes (''artifacts/EP-1/it'\''s.json''): not a command
    for (const [, cmd] of fix.matchAll(/`([^`]+)`/g)) expect(spawnSync("sh", ["-c", cmd!], { cwd: root }).status, `${cmd} (from: ${fix})`).toBe(0);
    expect(existsSync(join(root, name))).toBe(false);
  });

  it("what is not a link is as before: a folder and a vanished name are skipped, a link to a file inside the root is read", () => {
    mkdirSync(join(root, "artifacts/EP-1/plan.json"));
    expect(read("artifacts/EP-1/plan.json")).toEqual({ ok: false, gone: true });
    expect(read("artifacts/EP-1/gone.json")).toEqual({ ok: false, gone: true });
    writeFileSync(join(root, "artifacts/EP-1/real.json"), "{}");
    symlinkSync("real.json", join(root, "artifacts/EP-1/review.json"));
    expect(read("artifacts/EP-1/review.json")).toMatchObject({ ok: true, size: 2 });
  });
});
