/**
 * The bridge mirrors rows down into files: a notice's role and name, a published copy's epic,
 * iteration and file come from the database, and are "plain names, never a path" (bridge.ts). They
 * were checked on the path after join() had resolved their '..': a row's role
 * `../../artifacts/EP-070` put the notice's bytes at artifacts/EP-070/<name>, a drop the host's
 * agents' transport then reads as the bridge user's (the daemon's). Each name is checked as it came.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PgBus } from "../support/pg-bus.js";

let bus: PgBus | undefined;
afterEach(async () => {
  await bus?.cleanup();
  bus = undefined;
});

describe("a notice row whose role or name climbs out of the inbox", () => {
  it("is not mirrored down anywhere; the bridge goes on", { timeout: 240_000 }, async () => {
    const b = (bus = await PgBus.create());
    await b.startRegisteredDaemon("d1");
    await b.sql`INSERT INTO notices (role, name, body) VALUES ('../../artifacts/EP-070', 'plan.md', 'forged'), ('planner', '../../../artifacts/EP-071/plan.md', 'forged')`;
    expect(b.cli("start", "EP-072", "--title", "After").code).toBe(0);
    b.start("bridge", "bridge");
    const inbox = join(b.root, "messages", "inbox", "planner");
    await b.until("EP-072's notice mirrored down", async () => (existsSync(inbox) && readdirSync(inbox).some((n) => n.includes("EP-072"))) || undefined, 60_000, ["d1", "bridge"]);
    expect(existsSync(join(b.root, "artifacts", "EP-070", "plan.md"))).toBe(false);
    expect(existsSync(join(b.root, "artifacts", "EP-071", "plan.md"))).toBe(false);
  });
});
