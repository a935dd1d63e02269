/**
 * A person's command on the PostgreSQL store with no daemon alive decides its own input row, as a
 * rows daemon would (decideRows in pg-writer.ts): what it came to is recorded on the row, returned to
 * the command, and in the log once.
 */
import { afterAll, describe, expect, it } from "vitest";
import { PgBus } from "../support/pg-bus.js";

const buses: PgBus[] = [];
afterAll(async () => {
  for (const b of buses) await b.cleanup();
});
const bus = async (): Promise<PgBus> => {
  const b = await PgBus.create();
  buses.push(b);
  return b;
};

describe("a command decided in-process (no daemon on the store)", () => {
  it("start accepted, the same start refused with its reason, an approval nobody may give rejected: each row done with its result", async () => {
    const b = await bus();
    const start = b.cli("start", "EP-001", "--title", "direct");
    expect(start.code, start.stdout + start.stderr).toBe(0);
    const again = b.cli("start", "EP-001", "--title", "direct");
    expect(again.code, again.stdout + again.stderr).not.toBe(0);
    expect(again.stderr).toMatch(/EP-001/);
    // nobody may approve the plan stage (the default rules): decided now, and rejected
    const approve = b.cli("approve", "EP-001", "--role", "quality", "--subject", "looks_good");
    // told to the person as a rejection, with its reason and fix (it was printed 'approve accepted', exit 0)
    expect(approve.code, approve.stdout + approve.stderr).toBe(1);
    expect(approve.stdout).not.toMatch(/accepted/);
    expect(approve.stderr).toMatch(/NOT_PERMITTED/);
    expect(approve.stderr).toMatch(/quality may not approve stage plan/);
    expect(approve.stderr).toMatch(/approve rejected/);
    const rows = await b.sql`SELECT kind, done_at IS NOT NULL AS done, claimed_by, result FROM inputs ORDER BY id`;
    expect(rows.map((r) => [r.kind, r.done, r.claimed_by])).toEqual([["command", true, null], ["command", true, null], ["file", true, null]]);
    const results = rows.map((r) => r.result as { ok: boolean; entries?: Array<{ decision: string }>; issues?: Array<{ code: string }> });
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[0]!.entries!.map((e) => e.decision)).toEqual(["epic_started"]);
    expect(results[1]!.issues!.length).toBeGreaterThan(0);
    expect(results[2]!.entries!.map((e) => e.decision)).toEqual(["message_rejected"]);
    const decisions = (await b.entries()).map((e) => e.decision);
    expect(decisions).toEqual(["epic_started", "message_rejected"]);
  }, 120_000);

  it("an approval nobody may give, decided by a running daemon: told as a rejection with its reason", async () => {
    const b = await bus();
    expect(b.cli("start", "EP-001", "--title", "direct").code).toBe(0);
    b.startDaemon("d1");
    await b.until("the daemon registered", async () => (await b.sql`SELECT count(*)::int AS n FROM writers WHERE kind = 'daemon'`)[0]!.n === 1, 60_000, ["d1"]);
    const approve = b.cli("approve", "EP-001", "--role", "developer", "--subject", "fine_by_me");
    expect(approve.code, approve.stdout + approve.stderr).toBe(1);
    expect(approve.stderr).toMatch(/NOT_PERMITTED/);
    expect(approve.stderr).toMatch(/approve rejected \(by a running daemon\)/);
    expect(await b.stop("d1")).toBe(0);
  }, 120_000);
});
