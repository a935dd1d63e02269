/**
 * `consensus migrate`: a folder root moved into a database and back, still verifiable (agents' lines
 * included), with its state, archives and notices; the database goes on from where the folder was;
 * a target that already holds a log is refused; a folder whose last commit accepted an artifact keeps it
 * on the way back (its pack records move too).
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bus, artifact, rootWithAcceptedPlan } from "../support/bus.js";
import { PgBus } from "../support/pg-bus.js";
import { freshDatabase, type TestDb } from "../support/pg.js";

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A folder root whose EP-001 plan was accepted by `watch --once` (removed after the file's tests). */
function folderWithAcceptedPlan(): Bus {
  const folder = rootWithAcceptedPlan("EP-001", "moving").bus;
  cleanups.push(() => folder.cleanup());
  return folder;
}

describe("consensus migrate", () => {
  it("moves a folder into the database and back: same log, same state, archives and notices; the database goes on", async () => {
    const folder = folderWithAcceptedPlan();
    // an agent's own line, chained into the next daemon hash
    appendFileSync(join(folder.root, "current/decision_log.jsonl"), `${JSON.stringify({ timestamp: "2026-11-21T10:00:00Z", agent: "developer", decision: "started_work", epic_id: "EP-001", iteration: 1 })}\n`);
    // the daemon reads it into the log of record
    expect(folder.cli("watch", "--once", "--log-level", "warn").code).toBe(0);
    expect(folder.cli("start", "EP-002", "--title", "second").code).toBe(0);
    expect(folder.cli("log", "verify").code).toBe(0);
    const statusBefore = JSON.parse(folder.cli("status", "--json").stdout) as unknown[];

    const db: TestDb = await freshDatabase("consensus_migrate");
    cleanups.push(() => db.drop());
    const pg = (args: string[], root = folder.root) => folder.cliWith({ CONSENSUS_STORE: db.url, CONSENSUS_ROOT: root }, ...args);
    const into = pg(["migrate", "--from-folder", folder.root]);
    expect(into.code, into.stderr).toBe(0);
    expect(into.stdout).toMatch(/moved \d+ log entries \(and 1 agents' lines\)/);
    expect(pg(["log", "verify"]).code).toBe(0);
    expect(JSON.parse(pg(["status", "--json"]).stdout)).toEqual(statusBefore);
    // a second migration into the same database is refused
    const again = pg(["migrate", "--from-folder", folder.root]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("STORE_NOT_EMPTY");
    // the database goes on: a command decided against the moved state
    const cancel = pg(["cancel", "EP-002", "--reason", "moved"]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(pg(["log", "verify"]).code).toBe(0);

    const back = Bus.init();
    cleanups.push(() => back.cleanup());
    const out = pg(["migrate", "--to-folder", back.root]);
    expect(out.code, out.stderr).toBe(0);
    expect(back.cli("log", "verify").code).toBe(0);
    // a log of record the folder store accepts: the daemon key made, every daemon line sealed with it
    expect(existsSync(join(back.root, ".consensus/keys/daemon.key"))).toBe(true);
    const record = readFileSync(join(back.root, ".consensus/log.jsonl"), "utf8").split("\n").filter((l) => l.includes('"agent":"orchestrator"'));
    expect(record.length).toBeGreaterThan(0);
    const keyId = (JSON.parse(readFileSync(join(back.root, ".consensus/keys/daemon.key"), "utf8")) as { keys: Array<{ id: string }> }).keys.at(-1)!.id;
    // with this root's key, also the lines that came from the first folder with its MAC
    expect(record.filter((l) => !l.endsWith(`,"mac":"${keyId}.${/"mac":"[a-z0-9]+\.([0-9a-f]{64})"\}$/.exec(l)?.[1] ?? ""}"}`))).toEqual([]);
    expect(readFileSync(join(back.root, ".consensus/log.jsonl"), "utf8")).toContain('"agent":"developer"');
    const st = JSON.parse(back.cli("status", "--json").stdout) as Array<{ epic_id: string; status: string; stage: string }>;
    expect(st.map((s) => [s.epic_id, s.stage, s.status])).toEqual([["EP-001", "implementation", "in_progress"], ["EP-002", "plan", "cancelled"]]);
    expect(readFileSync(join(back.root, "archive/EP-001/1/plan.json"), "utf8")).toBe(artifact("plan.json", "EP-001", 1));
    expect(back.inbox("developer").some((n) => n.includes("EP-001"))).toBe(true);
    expect(readFileSync(join(back.root, "current/decision_log.jsonl"), "utf8")).toContain('"agent":"developer"');
    // and a file daemon goes on from there
    expect(back.cli("watch", "--once", "--log-level", "warn").code).toBe(0);
    expect(existsSync(join(back.root, "current/state.json"))).toBe(true);
    // it took the moved logs as its own: nothing forged, cut or torn found in them
    const decisions = back.cli("log", "--json").stdout.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { decision: string }).decision);
    expect(decisions.filter((d) => /forged|truncated|torn|chain_broken|adopt/.test(d))).toEqual([]);
    expect(back.cli("log", "verify").code).toBe(0);
  }, 180_000);

  it("moves only the daemon's files: a link, a FIFO or foreign bytes planted in archive/ or an inbox stay behind, named", async () => {
    const folder = folderWithAcceptedPlan();
    const secret = join(folder.dir, "secret.txt");
    writeFileSync(secret, "TOP-SECRET-VALUE\n");
    // an agent plants, beside the daemon's own files: a link to a secret, a hard link to it, a FIFO, and other bytes
    symlinkSync(secret, join(folder.root, "archive/EP-001/1/review.json"));
    linkSync(secret, join(folder.root, "messages/inbox/developer/notice-99999999-EP-001-stage_entered.yaml"));
    execFileSync("mkfifo", [join(folder.root, "messages/inbox/quality/notice-99999998-EP-001-stage_entered.yaml")]);
    writeFileSync(join(folder.root, "archive/EP-001/1/implementation.json"), "{}\n");
    // bytes the log did accept, but as iteration 1's plan: not as iteration 2's
    mkdirSync(join(folder.root, "archive/EP-001/2"));
    copyFileSync(join(folder.root, "archive/EP-001/1/plan.json"), join(folder.root, "archive/EP-001/2/plan.json"));
    const db: TestDb = await freshDatabase("consensus_migrate_planted");
    cleanups.push(() => db.drop());
    const into = folder.cliWith({ CONSENSUS_STORE: db.url, CONSENSUS_ROOT: folder.root }, "migrate", "--from-folder", folder.root);
    expect(into.code, into.stderr).toBe(0);
    for (const f of ["archive/EP-001/1/review.json", "archive/EP-001/1/implementation.json", "archive/EP-001/2/plan.json", "notice-99999999-EP-001-stage_entered.yaml", "notice-99999998-EP-001-stage_entered.yaml"]) expect(into.stderr).toMatch(new RegExp(`not moved: \\S*${f.replace(/[.]/g, "\\.")} is a link, a FIFO`));
    expect(into.stdout).toMatch(/, 1 published artifacts, /);
    const rows = await db.sql`SELECT file, iteration FROM consensus.published ORDER BY file`;
    expect(rows.map((r) => `${r.iteration}/${r.file}`)).toEqual(["1/plan.json"]);
    const bodies = await db.sql`SELECT body FROM consensus.notices`;
    expect(bodies.some((r) => String(r.body).includes("TOP-SECRET-VALUE"))).toBe(false);
    const blobs = await db.sql`SELECT encode(bytes, 'escape') AS b FROM consensus.blobs`;
    expect(blobs.some((r) => String(r.b).includes("TOP-SECRET-VALUE"))).toBe(false);

    // and back out into a folder where an agent planted an inbox as a link to a folder outside: refused, nothing written there
    const back = Bus.init();
    cleanups.push(() => back.cleanup());
    rmSync(join(back.root, ".consensus"), { recursive: true, force: true });
    rmSync(join(back.root, "current"), { recursive: true, force: true });
    const outside = join(back.dir, "outside");
    mkdirSync(outside);
    rmSync(join(back.root, "messages/inbox/developer"), { recursive: true, force: true });
    symlinkSync(outside, join(back.root, "messages/inbox/developer"));
    const out = folder.cliWith({ CONSENSUS_STORE: db.url, CONSENSUS_ROOT: folder.root }, "migrate", "--to-folder", back.root);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/UNSAFE_PATH|symbolic link/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it("a database moved out into a folder with a log already is refused", async () => {
    const b = await PgBus.create();
    cleanups.push(() => b.cleanup());
    expect(b.cli("start", "EP-001", "--title", "x").code).toBe(0);
    const folder = Bus.init();
    cleanups.push(() => folder.cleanup());
    expect(folder.cli("start", "EP-009", "--title", "here").code).toBe(0);
    const r = b.cli("migrate", "--to-folder", folder.root);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("STORE_NOT_EMPTY");
  }, 120_000);

  // the pack (issue 17): the moved log's artifact_accepted entries name records (details.pack) of the
  // folder's pack; migrate moves those records and writes them back at their addresses (failed before, 4601baa)
  it("folder → database → folder, the last commit an accepted plan: the new folder's daemon keeps it (nothing cut)", async () => {
    const folder = folderWithAcceptedPlan();
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
