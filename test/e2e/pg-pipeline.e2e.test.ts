/**
 * A PostgreSQL deployment end to end: two daemons and a bridge on one database, agents that only
 * know files. Epics go from start to promoted; notices and published artifacts come back into the
 * folder; the log exports as a file that `log verify` checks; every command reads the database.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { artifact } from "../support/bus.js";
import { PgBus, driveToPromotion, expectEachOnce } from "../support/pg-bus.js";

let bus: PgBus | undefined;
afterAll(async () => bus?.cleanup());

describe("PostgreSQL deployment", () => {
  it("two daemons and a bridge take epics to promoted, each input applied once; notices and archives reach the folder", async () => {
    const b = (bus = await PgBus.create());
    b.startDaemon("d1");
    b.startDaemon("d2");
    b.start("bridge", "bridge");
    const alive = ["d1", "d2", "bridge"];
    const epics = ["EP-001", "EP-002", "EP-003", "EP-004"];
    await b.until("both daemons registered", async () => (await b.sql`SELECT count(*)::int AS n FROM writers WHERE kind = 'daemon'`)[0]!.n === 2, 60_000, alive);
    for (const e of epics) {
      const r = b.cli("start", e, "--title", `pg ${e}`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("applied by the running daemon");
    }
    await driveToPromotion(b, epics, (rel, text) => b.drop(rel, text), (n, e) => artifact(n, e, 1), { alive });
    const entries = await expectEachOnce(b, epics);
    // both daemons decided something (no leader)
    const writers = await b.sql`SELECT count(DISTINCT writer)::int AS n FROM entries WHERE writer IS NOT NULL`;
    expect(writers[0]!.n).toBeGreaterThanOrEqual(1);
    // the bridge brought the daemons' notices and the published artifacts into the folder
    await b.until("devops notices in the folder", async () => epics.every((e) => readdirSync(join(b.root, "messages/inbox/devops")).some((n) => n.includes(`-${e}-stage_entered`))), 30_000, alive);
    for (const x of entries.filter((y) => y.decision === "artifact_accepted")) {
      const d = x.details as { file: string; sha256: string };
      const archived = join(b.root, "archive", x.epic_id!, String(x.iteration), d.file.split("/").pop()!);
      await b.until(`${archived} mirrored`, async () => existsSync(archived), 30_000, alive);
      expect(createHash("sha256").update(readFileSync(archived)).digest("hex")).toBe(d.sha256);
    }
    // every reading command reads the database
    const status = JSON.parse(b.cli("status", "--json").stdout) as Array<{ epic_id: string; status: string }>;
    expect(status.map((s) => [s.epic_id, s.status])).toEqual(epics.map((e) => [e, "promoted"]));
    expect(b.cli("status", "EP-001").code).toBe(0);
    expect(b.cli("log", "--epic", "EP-002").stdout).toContain("PROMOTED");
    const report = JSON.parse(b.cli("report", "--format", "json").stdout) as { epics: Array<{ status: string }> };
    expect(report.epics.map((e) => e.status)).toEqual(epics.map(() => "promoted"));
    expect(b.cli("log", "verify").code).toBe(0);
    const out = join(b.dir, "export.jsonl");
    expect(b.cli("log", "export", "--output", out).code).toBe(0);
    expect(readFileSync(out, "utf8").trim().split("\n").length).toBe(entries.length);
    const v = b.cli("log", "verify", "--file", out);
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toContain(`seq 1..${entries.length}`);
    // a person's veto through the CLI is a row a daemon decides; its refusal comes back
    const cancel = b.cli("cancel", "EP-001", "--reason", "too late");
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(/EPIC_CLOSED|no longer in progress/);
    const doctor = b.cli("doctor", "--format", "json");
    expect(doctor.code, doctor.stdout).toBe(0);
    const checks = (JSON.parse(doctor.stdout) as { checks: Array<{ id: string; status: string; found: string }> }).checks;
    expect(checks.find((c) => c.id === "daemons")).toMatchObject({ status: "pass", found: expect.stringContaining("2 alive") });
    expect(checks.find((c) => c.id === "log")!.status).toBe("pass");
    const valid = b.cli("validate");
    expect(valid.code, valid.stdout).toBe(0);
    for (const n of alive) expect(await b.stop(n)).toBe(0);
    expect(await b.sql`SELECT id FROM writers`).toEqual([]);
  }, 600_000);
});
