/**
 * FsStore.published (the read list of a stage notice) names what publish() wrote, as the port says and
 * as the PostgreSQL store does: kept as it publishes, listed from the archive folder only the first time
 * an epic is asked about after a start (issue 17.2: no listing per notice). Real files.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf, type Layout } from "../../src/store/fs/layout.js";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const files = async (store: FsStore, epic: string): Promise<string[]> => (await store.published(epic)).map((p) => p.path);

describe("published: what publish() wrote", () => {
  let dir: string;
  let L: Layout;
  let store: FsStore;
  const bytes = Buffer.from("{}\n");
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-published-"));
    L = layoutOf(join(dir, "root"));
    mkdirSync(L.root);
    store = new FsStore(L);
    await store.recover();
    await store.putBlob(sha(bytes), bytes);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a new epic's copies, in order of iteration then name; a file an agent added to its folder is not one", async () => {
    await store.publish("EP-1", 1, "plan.json", sha(bytes));
    writeFileSync(join(L.archive, "EP-1", "1", "design.json"), "{}\n");
    mkdirSync(join(L.archive, "EP-1", "7"));
    writeFileSync(join(L.archive, "EP-1", "7", "plan.json"), "{}\n");
    await store.publish("EP-1", 2, "plan.json", sha(bytes));
    await store.publish("EP-1", 1, "implementation.json", sha(bytes));
    expect(await files(store, "EP-1")).toEqual(["archive/EP-1/1/implementation.json", "archive/EP-1/1/plan.json", "archive/EP-1/2/plan.json"]);
  });

  it("after a start, an epic's folder is listed once (copies of an earlier run included), then kept as it publishes", async () => {
    await store.publish("EP-1", 1, "plan.json", sha(bytes));
    await store.close();
    store = new FsStore(L);
    await store.recover();
    await store.putBlob(sha(bytes), bytes);
    expect(await files(store, "EP-1")).toEqual(["archive/EP-1/1/plan.json"]);
    await store.publish("EP-1", 2, "plan.json", sha(bytes));
    expect(await files(store, "EP-1")).toEqual(["archive/EP-1/1/plan.json", "archive/EP-1/2/plan.json"]);
    expect(await files(store, "EP-2")).toEqual([]);
  });

  // review rv6: listed after a start, a folder publish() never names ("02", "01": publish writes
  // String(n)) was read as that iteration: its files named at a path where they are not
  // (archive/EP-1/2/…), and "01" listed after "1" replaced iteration 1's copies (readdir's order)
  it("after a start, iteration folders publish() never makes (01, 02) are not read as iterations 1 and 2", async () => {
    await store.publish("EP-1", 1, "plan.json", sha(bytes));
    for (const it of ["01", "02"]) {
      mkdirSync(join(L.archive, "EP-1", it));
      writeFileSync(join(L.archive, "EP-1", it, "design.json"), "{}\n");
    }
    await store.close();
    store = new FsStore(L);
    await store.recover();
    expect(await files(store, "EP-1")).toEqual(["archive/EP-1/1/plan.json"]);
  });
});
