/**
 * The bridge mirrors notices down into the host's inboxes, drop zones where a notice's name is
 * predictable: an entry another user made at that name (here a folder no one can move: root's, or the
 * bridge's own user's) made every pass fail (EISDIR), and with it every later notice, archive copy and
 * upward drop of the host. The notice now goes to its keyed name (trust/notice-name.ts).
 */
import { lstatSync, mkdirSync, readFileSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PgBus } from "../support/pg-bus.js";
import { readKeyring } from "../../src/trust/key-file.js";
import { keyedNoticeName } from "../../src/trust/notice-name.js";

let bus: PgBus | undefined;
afterEach(async () => {
  await bus?.cleanup();
  bus = undefined;
});

/**
 * A daemon and a bridge on a fresh database, `epic` started, and a folder (root's: no one can move it)
 * made at its planner notice's name before the bridge mirrors it down; resolves once the bridge wrote
 * the notice at its keyed name.
 */
async function squatted(epic: string) {
  const b = (bus = await PgBus.create());
  await b.startRegisteredDaemon("d1");
  expect(b.cli("start", epic, "--title", "Squatted").code).toBe(0);
  const row = await b.until("the planner's notice row", async () => (await b.sql`SELECT name, body FROM notices WHERE role = 'planner' AND name LIKE ${`%${epic}%`} LIMIT 1`)[0], 60_000, ["d1"]);
  const inbox = join(b.root, "messages", "inbox", "planner");
  const name = String(row.name);
  mkdirSync(join(inbox, name), { recursive: true });
  b.start("bridge", "bridge");
  const keys = (await readKeyring(join(b.root, ".consensus"))).keysForFile();
  const keyed = keyedNoticeName(keys.at(-1)!, "planner", name);
  await b.until("the notice at its keyed name", async () => lstatSync(join(inbox, keyed), { throwIfNoEntry: false })?.isFile() || undefined, 60_000, ["d1", "bridge"]);
  return { b, row, inbox, name, keyed };
}

describe("a notice's name taken on a bridged host", () => {
  it("the bridge writes the notice at its keyed name and goes on", { timeout: 240_000 }, async () => {
    const { b, row, inbox, name, keyed } = await squatted("EP-060");
    expect(readFileSync(join(inbox, keyed), "utf8")).toBe(String(row.body));
    expect(lstatSync(join(inbox, name)).isDirectory()).toBe(true);
    await b.until("the bridge's warning", async () => /mirrored down at its keyed name/.test(b.stderr.get("bridge") ?? "") || undefined, 60_000, ["d1", "bridge"]);
    // and the bridge goes on: a later epic's notice comes down at its own name
    expect(b.cli("start", "EP-061", "--title", "After").code).toBe(0);
    await b.until("EP-061's notice mirrored down", async () => readdirSync(inbox).some((n) => n.includes("EP-061")) || undefined, 60_000, ["d1", "bridge"]);
  });
});

describe("a notice mirrored down at its keyed name, then the bridge restarted", () => {
  it("is not written a second time at its regular name once that is free", { timeout: 240_000 }, async () => {
    const { b, inbox, name, keyed } = await squatted("EP-062");
    await b.stop("bridge");
    // the squatter gives up: the regular name is free again, and the bridge mirrors every notice anew
    rmdirSync(join(inbox, name));
    b.start("bridge2", "bridge");
    expect(b.cli("start", "EP-063", "--title", "After").code).toBe(0);
    await b.until("EP-063's notice mirrored down", async () => readdirSync(inbox).some((n) => n.includes("EP-063")) || undefined, 60_000, ["d1", "bridge2"]);
    // one copy of the notice: the keyed one; the planner would otherwise see it twice
    expect(lstatSync(join(inbox, name), { throwIfNoEntry: false })).toBeUndefined();
    expect(readdirSync(inbox).filter((n) => n.includes("EP-062"))).toEqual([keyed]);
  });
});
