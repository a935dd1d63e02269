/**
 * `consensus migrate` and the pack (issue 17). A folder whose last commit accepted an
 * artifact, moved into a database and back out into a fresh folder: the moved log's artifact_accepted
 * entries name records (details.pack) of the old pack: migrate moves those records and writes them back at their addresses. Failed before the fix (4601baa).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bus, artifact } from "../support/bus.js";
import { freshDatabase, type TestDb } from "../support/pg.js";

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("consensus migrate with a pack-era folder", () => {
  it("folder → database → folder, the last commit an accepted plan: the new folder's daemon keeps it (nothing cut)", async () => {
    const folder = Bus.init();
    cleanups.push(() => folder.cleanup());
    expect(folder.cli("start", "EP-001", "--title", "moving").code).toBe(0);
    folder.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    expect(folder.cli("watch", "--once", "--log-level", "warn").code).toBe(0);
    const last = folder.entries().at(-1)!;
    expect(last.decision).toBe("stage_advanced");

    const db: TestDb = await freshDatabase("consensus_migrate_pack");
    cleanups.push(() => db.drop());
    const pg = (args: string[], root = folder.root) => folder.cliWith({ CONSENSUS_STORE: db.url, CONSENSUS_ROOT: root }, ...args);
    const into = pg(["migrate", "--from-folder", folder.root]);
    expect(into.code, into.stderr).toBe(0);
    // the accepted bytes live in .consensus/pack now: they should be moved as blobs, not 0
    expect.soft(into.stdout, into.stdout).not.toMatch(/, 0 blobs,/);

    const back = Bus.init();
    cleanups.push(() => back.cleanup());
    const out = pg(["migrate", "--to-folder", back.root]);
    expect(out.code, out.stderr).toBe(0);
    expect(back.cli("log", "verify").code).toBe(0);
    expect(readFileSync(join(back.root, "archive/EP-001/1/plan.json"), "utf8")).toBe(artifact("plan.json", "EP-001", 1));
    // consensus log on the moved folder shows the moved entries
    const shown = back.cli("log", "--json").stdout.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect.soft(shown).toContain(last.seq);
    // and its first daemon takes the moved log as its own: nothing cut as torn
    expect(back.cli("watch", "--once", "--log-level", "warn").code).toBe(0);
    const decisions = back.entries().map((e) => e.decision);
    expect.soft(decisions.filter((d) => /torn|pack_record_damaged/.test(d))).toEqual([]);
    expect(back.entries().filter((e) => e.decision === "artifact_accepted").map((e) => e.seq)).toEqual([2]);
  }, 180_000);
});
