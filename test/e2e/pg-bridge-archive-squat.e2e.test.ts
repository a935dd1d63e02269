/**
 * The bridge mirrors accepted artifacts down into the host's archive/<EPIC>/<N>/<file>, a name anyone
 * can predict. An entry made there first (a folder: the rename fails with EISDIR) ended the bridge (a
 * non-transient error out of its turn), and with it every later notice, archive copy and upward drop of
 * the host. Now the copy is skipped with an error saying what is there, whose it is and the fix, and the
 * bridge goes on.
 */
import { lstatSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { artifact } from "../support/bus.js";
import { PgBus } from "../support/pg-bus.js";

let bus: PgBus | undefined;
afterEach(async () => {
  await bus?.cleanup();
  bus = undefined;
});

describe("an archive copy's name taken on a bridged host", () => {
  it("the bridge says what holds it and whose, skips that copy and goes on", { timeout: 240_000 }, async () => {
    const b = (bus = await PgBus.create());
    await b.startRegisteredDaemon("d1");
    expect(b.cli("start", "EP-070", "--title", "Archive squat").code).toBe(0);
    const copy = join(b.root, "archive", "EP-070", "1", "plan.json");
    mkdirSync(copy, { recursive: true });
    b.start("bridge", "bridge");
    b.drop("artifacts/EP-070/plan.json", artifact("plan.json", "EP-070", 1));
    await b.until("the plan published", async () => (await b.sql`SELECT count(*)::int AS n FROM published WHERE epic_id = 'EP-070'`)[0]!.n === 1 || undefined, 60_000, ["d1", "bridge"]);
    await b.until("the bridge's error for the copy", async () => (b.stderr.get("bridge") ?? "").includes("archive copy not mirrored down") || undefined, 60_000, ["d1", "bridge"]);
    const said = b.stderr.get("bridge")!;
    expect(said).toContain(`archive/EP-070/1/plan.json is taken by a folder of uid ${process.getuid?.()}`);
    expect(said).toContain(`rm -r ${copy}`);
    expect(lstatSync(copy).isDirectory()).toBe(true);
    // and the bridge goes on: a later epic's notice comes down
    expect(b.cli("start", "EP-071", "--title", "After").code).toBe(0);
    const inbox = join(b.root, "messages", "inbox", "planner");
    await b.until("EP-071's notice mirrored down", async () => (readdirSync(inbox).some((n) => n.includes("EP-071")) || undefined), 60_000, ["d1", "bridge"]);
  });
});
