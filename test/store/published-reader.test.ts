/**
 * review rv6 (issue 17.2): FsStore.published keeps what publish() wrote, listing an epic's archive
 * folder only the first time it is asked after a start. That holds for the store that publishes (the
 * daemon's), not for one that only reads: an MCP session's BusReader keeps one read-only FsStore for
 * the whole session and asks it at every `task` call ("every tool call reads afresh"). Kept, its first
 * answer stays the answer: a copy the daemon published later (the plan the session's role must read
 * now, a rework's next iteration) never shows, and the read list names the stale iteration's paths.
 * Real files, a real publishing FsStore, the real BusReader.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf, type Layout } from "../../src/store/fs/layout.js";
import { BusReader } from "../../src/transports/mcp/bus.js";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe("published, read by a session that does not publish (the MCP bus)", () => {
  let dir: string;
  let L: Layout;
  let daemon: FsStore;
  let session: BusReader;
  const bytes = Buffer.from("{}\n");
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-published-reader-"));
    L = layoutOf(join(dir, "root"));
    mkdirSync(L.root);
    daemon = new FsStore(L);
    await daemon.recover();
    await daemon.putBlob(sha(bytes), bytes);
    session = new BusReader(L.root);
  });
  afterEach(async () => {
    await session.close();
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const paths = async (): Promise<string[]> => (await session.published("EP-1")).map((p) => p.path);

  it("sees each copy the daemon publishes after the session first asked", async () => {
    // asked while the epic is still at its first stage: nothing accepted yet
    expect(await paths()).toEqual([]);
    await daemon.publish("EP-1", 1, "plan.json", sha(bytes));
    expect(await paths()).toEqual(["archive/EP-1/1/plan.json"]);
    // a rework: the next iteration's plan is the one to read
    await daemon.publish("EP-1", 2, "plan.json", sha(bytes));
    expect(await paths()).toEqual(["archive/EP-1/1/plan.json", "archive/EP-1/2/plan.json"]);
  });
});
