/**
 * The readable log's descriptor kept between copies and reads (issue 17.2): whatever happens to the
 * name between two uses — an agent's line appended right after the daemon's copy, the file replaced,
 * removed, linked a second time, swapped for a FIFO or a symbolic link — the mirror behaves as when
 * it opened the name for each copy and each read. Real files.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, linkSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Mirror } from "../../src/store/fs/mirror.js";
import { sealLine } from "../../src/log/chain.js";

const daemonLine = (seq: number): string => sealLine(`{"seq":${seq},"timestamp":"2026-11-30T00:00:00.000Z","agent":"orchestrator","decision":"epic_created","epic_id":"EP-${seq}"}`, "0".repeat(64), "", () => `k1.${"ab".repeat(32)}`).line;
const agentLine = (n: number): string => JSON.stringify({ timestamp: "2026-11-30T00:00:00Z", agent: "planner", decision: "note", epic_id: "EP-1", n });

describe("the readable log held open between copies and reads", () => {
  let dir: string;
  let path: string;
  let mirror: Mirror;
  /** Reads as the store does: moves readAt past what was read. */
  const read = async () => {
    const r = await mirror.read();
    if (r) mirror.readAt = r.cursor;
    return r;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "consensus-mirror-held-"));
    path = join(dir, "decision_log.jsonl");
    mirror = new Mirror(path, (t) => /"mac":"k1\.(ab){32}"\}$/.test(t), 0);
  });
  afterEach(async () => {
    await mirror.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an agent's line appended right after the daemon's copy is read, the copy is not", async () => {
    await mirror.copy([{ seq: 1, text: daemonLine(1) }]);
    appendFileSync(path, `${agentLine(1)}\n`);
    const r = await read();
    expect(r?.entries.map((e) => [e.line, e.text])).toEqual([[2, agentLine(1)]]);
    expect(r?.forged).toEqual([]);
    // the next copy lands after the agent's line; read back, nothing new
    await mirror.copy([{ seq: 2, text: daemonLine(2) }]);
    const again = await read();
    expect(again?.entries ?? []).toEqual([]);
    expect(readFileSync(path, "utf8")).toBe(`${daemonLine(1)}\n${agentLine(1)}\n${daemonLine(2)}\n`);
  });

  it("a line an agent rewrote in place in the daemon's copy before it was read back is reported forged", async () => {
    await mirror.copy([{ seq: 1, text: daemonLine(1) }]);
    const forged = daemonLine(1).replace('"EP-1"', '"EP-9"').replace(/"mac":"[^"]+"/, `"mac":"k1.${"cd".repeat(32)}"`);
    writeFileSync(path, `${forged}\n`, { flag: "r+" }); // same length, same file, no new name
    const r = await read();
    expect(r?.forged.map((f) => f.text)).toEqual([forged]);
  });

  it("a file renamed over the name: the next copy goes to the file at the name, and the new file's lines are read", async () => {
    await mirror.copy([{ seq: 1, text: daemonLine(1) }]);
    await read();
    const other = join(dir, ".other");
    writeFileSync(other, `${daemonLine(1)}\n${agentLine(1)}\n`);
    renameSync(other, path);
    const r = await read();
    expect(r?.entries.map((e) => e.text)).toEqual([agentLine(1)]);
    await mirror.copy([{ seq: 2, text: daemonLine(2) }]);
    expect(readFileSync(path, "utf8").trimEnd().split("\n").at(-1)).toBe(daemonLine(2));
  });

  it("a file removed: the next copy makes it again", async () => {
    await mirror.copy([{ seq: 1, text: daemonLine(1) }]);
    rmSync(path);
    await mirror.copy([{ seq: 2, text: daemonLine(2) }]);
    expect(readFileSync(path, "utf8")).toBe(`${daemonLine(2)}\n`);
  });

  it("a second name made for the file: neither appended to nor read, and reported", async () => {
    await mirror.copy([{ seq: 1, text: daemonLine(1) }]);
    await read();
    linkSync(path, join(dir, "elsewhere"));
    appendFileSync(path, `${agentLine(1)}\n`);
    expect(await mirror.read()).toBeUndefined();
    expect(mirror.takeProblem()).toMatch(/hard link/);
    const size = statSync(path).size;
    await mirror.copy([{ seq: 2, text: daemonLine(2) }]);
    expect(statSync(path).size).toBe(size);
  });

  it("a FIFO put in its place: never blocks, neither written nor read, and reported", async () => {
    await mirror.copy([{ seq: 1, text: daemonLine(1) }]);
    rmSync(path);
    expect(spawnSync("mkfifo", [path]).status).toBe(0);
    await mirror.copy([{ seq: 2, text: daemonLine(2) }]);
    expect(mirror.takeProblem()).toMatch(/a FIFO/);
    expect(await mirror.read()).toBeUndefined();
  });

  it("a symbolic link put in its place: not followed, neither written nor read, and reported", async () => {
    await mirror.copy([{ seq: 1, text: daemonLine(1) }]);
    const target = join(dir, "target");
    writeFileSync(target, "");
    rmSync(path);
    symlinkSync(target, path);
    await mirror.copy([{ seq: 2, text: daemonLine(2) }]);
    expect(await mirror.read()).toBeUndefined();
    expect(mirror.takeProblem()).toMatch(/symbolic link/);
    expect(readFileSync(target, "utf8")).toBe("");
    expect(existsSync(path)).toBe(true);
  });
});
