/**
 * The native watcher (watch.ts) when a folder it watches goes: inotify names the folder's own event by
 * the folder's name, which once came out as a path in it (messages/inbox/devops/devops, then rejected by
 * name as a message that never existed). Now the folder's going asks for a rescan; a folder swapped for
 * a link is reported as the link's path. Real inotify, no mocks; each wait ends on a sentinel file's
 * event, which inotify delivers after the events before it.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { layoutOf } from "../../../src/store/fs/layout.js";
import { watchBus, type BusWatcher } from "../../../src/transports/files/watch.js";

let base: string;
let root: string;
let w: BusWatcher | undefined;
const paths: string[] = [];
const rescans: string[] = [];

beforeEach(async () => {
  base = mkdtempSync(join(tmpdir(), "consensus-watch-"));
  root = join(base, "consensus");
  mkdirSync(join(root, "messages/inbox/devops"), { recursive: true });
  mkdirSync(join(root, "artifacts/EP-1"), { recursive: true });
  mkdirSync(join(root, ".consensus"), { recursive: true });
  paths.length = 0;
  rescans.length = 0;
  w = await watchBus(layoutOf(root), { onPath: (rel) => paths.push(rel), onRescanNeeded: (why) => rescans.push(why) });
});
afterEach(async () => {
  await w?.close();
  rmSync(base, { recursive: true, force: true });
});

/** Writes a file the artifacts/ watcher reports and waits for it: every event before it was delivered. */
async function barrier(name: string): Promise<void> {
  writeFileSync(join(root, "artifacts", name), "{}");
  await vi.waitFor(() => expect(paths).toContain(`artifacts/${name}`), { timeout: 15_000 });
}

it.runIf(process.platform === "linux")("a watched folder removed is a rescan, not a file named like the folder", async () => {
  rmSync(join(root, "messages/inbox/devops"), { recursive: true });
  await barrier("one.json");
  expect(paths).not.toContain("messages/inbox/devops/devops");
  expect(rescans).toContain("folder went away: messages/inbox/devops");
});

it.runIf(process.platform === "linux")("a watched folder swapped for a link: the link's path is reported, nothing through it", async () => {
  rmSync(join(root, "artifacts/EP-1"), { recursive: true });
  symlinkSync(join(root, ".consensus"), join(root, "artifacts/EP-1"));
  await barrier("two.json");
  expect(paths).toContain("artifacts/EP-1");
  expect(paths).not.toContain("artifacts/EP-1/EP-1");
  // the link's target is not watched: a file made there is no event of the bus
  writeFileSync(join(root, ".consensus", "inside.json"), "{}");
  await barrier("three.json");
  expect(paths.filter((p) => p.includes("inside.json"))).toEqual([]);
});

it.runIf(process.platform === "linux")("a file that has its folder's name, in the folder still there, is still a path", async () => {
  writeFileSync(join(root, "messages/inbox/devops/devops"), "x");
  await vi.waitFor(() => expect(paths).toContain("messages/inbox/devops/devops"), { timeout: 15_000 });
});
