/**
 * Issue 16 item 2: a daemon on PostgreSQL is woken by NOTIFY for every input; the slow poll is only a
 * floor for notifications lost while disconnected. With the poll out of reach (ten minutes), inputs
 * that arrive while the daemon is claiming or deciding others must all be decided: a notification
 * that came during a claim was overwritten by that claim's "no more rows", and the input waited for
 * the poll.
 */
import { afterAll, describe, expect, it } from "vitest";
import { PgBus } from "../support/pg-bus.js";

let b: PgBus | undefined;
afterAll(async () => b?.cleanup());

const note = (epic: string, n: number) => `id: note-${epic}-${n}\nfrom: developer\nto: quality\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: ${epic}\niteration: 1\ntype: info\nsubject: wake_${n}\n`;

describe("NOTIFY wakes the daemon for every input", () => {
  it("inputs sent one by one while the daemon works are all decided without the poll", { timeout: 180_000 }, async () => {
    b = await PgBus.create();
    b.env.CONSENSUS_POLL_MS = "600000";
    b.env.CONSENSUS_RESCAN_MS = "600000";
    expect(b.cli("start", "EP-001", "--title", "wake-ups").code).toBe(0);
    b.startDaemon("d1");
    await b.until("the daemon registered", async () => (await b!.sql`SELECT count(*)::int AS n FROM writers WHERE kind = 'daemon'`)[0]!.n === 1, 60_000, ["d1"]);
    const n = 150;
    for (let i = 0; i < n; i++) await b.send(`messages/inbox/quality/note-${i}.yaml`, note("EP-001", i));
    await b.until(`all ${n} notes decided`, async () => (await b!.sql`SELECT count(*)::int AS n FROM inputs WHERE done_at IS NULL`)[0]!.n === 0, 60_000, ["d1"]);
    const es = await b.entries();
    const accepted = es.filter((e) => e.decision === "message_accepted").length;
    expect(accepted, JSON.stringify(es.filter((e) => e.decision !== "message_accepted").slice(0, 3))).toBe(n);
  });
});
