/**
 * Issue 16 item 3: the bridge mirrors a host's folder "with the same rules as the file bus". Its settle
 * rule is the files transport's (settle.ts): a file written in place goes up only once it has stayed
 * unchanged for settle_ms, whether or not it parses; one moved or linked into place goes up at once.
 */
import { closeSync, fsyncSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { artifact, writeInTwoBursts } from "../support/bus.js";
import { PgBus } from "../support/pg-bus.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";

let bus: PgBus | undefined;
afterEach(async () => {
  await bus?.cleanup();
  bus = undefined;
});

const decided = (es: LogEntry[], decision: string, epic: string) => es.filter((e) => e.decision === decision && e.epic_id === epic);

/** Waits until the log holds the rejection of `file`; returns the log then and that entry. */
async function rejectionOf(b: PgBus, file: string, what: string, alive: string[]): Promise<{ es: LogEntry[]; entry: LogEntry }> {
  const isIt = (e: LogEntry): boolean => e.decision === "artifact_rejected" && (e.details as { file?: unknown }).file === file;
  const es = await b.until(what, async () => {
    const all = await b.entries();
    return all.some(isIt) ? all : undefined;
  }, 60_000, alive);
  return { es, entry: es.find(isIt)! };
}

async function started(settleMs?: number): Promise<PgBus> {
  const b = (bus = await PgBus.create());
  if (settleMs !== undefined) {
    const cfg = join(b.root, "consensus.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace(/settle_ms: \d+/, `settle_ms: ${settleMs}`));
  }
  b.startDaemon("d1");
  await b.until("the daemon registered", async () => (await b.sql`SELECT count(*)::int AS n FROM writers WHERE kind = 'daemon'`)[0]!.n === 1, 60_000, ["d1"]);
  b.start("bridge", "bridge");
  await b.until("the bridge connected", async () => b.stderr.get("bridge") !== undefined, 60_000, ["bridge"]);
  return b;
}

describe("the bridge settles files as the file bus does", () => {
  it("a veto written in place in two bursts, the first ending before `blocking: false`, goes up whole: a non-blocking veto", { timeout: 240_000 }, async () => {
    const b = await started();
    const alive = ["d1", "bridge"];
    expect(b.cli("start", "EP-050", "--title", "Half files").code).toBe(0);
    await b.send("artifacts/EP-050/plan.json", artifact("plan.json", "EP-050", 1));
    await b.send("artifacts/EP-050/implementation.json", artifact("implementation.json", "EP-050", 1));
    await b.send("artifacts/EP-050/review.json", artifact("review.json", "EP-050", 1, { review_status: "approved", findings: [] }));
    await b.until("EP-050 at deployment", async () => (await b.stages()).get("EP-050")?.stage === "deployment", 60_000, alive);
    // the bridge is watching (a file moved in goes up): then the timed write
    b.drop("messages/inbox/quality/info-devops-0.yaml", `from: devops\nto: quality\ntimestamp: "2026-11-21T09:00:00Z"\nepic_id: EP-050\niteration: 1\ntype: info\nsubject: hello\n`);
    await b.until("the info went up", async () => decided(await b.entries(), "message_accepted", "EP-050").length === 1, 60_000, alive);
    const text = `from: devops\nto: quality\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: EP-050\niteration: 1\ntype: veto\nsubject: dashboards_thin\ncontent:\n  violation: "Dashboards are thin"\n  specifics: "No latency panel"\n  impact: "Harder to watch the rollout"\n  requirement: "Add a p99 latency panel"\n  blocking: false\n`;
    const cut = text.indexOf("  blocking: false");
    await writeInTwoBursts(join(b.root, "messages/inbox/quality/veto-devops-1.yaml"), text.slice(0, cut), text.slice(cut));
    const es = await b.until("the veto recorded", async () => {
      const all = await b.entries();
      return decided(all, "veto_recorded", "EP-050").length ? all : undefined;
    }, 60_000, alive);
    const vetoes = decided(es, "veto_recorded", "EP-050");
    expect(vetoes).toHaveLength(1);
    expect(vetoes[0]!.details).toMatchObject({ from: "devops", subject: "dashboards_thin", blocking: false });
    expect(es.filter((e) => e.decision === "message_rejected")).toEqual([]);
    // one row per content: the half file never went up
    const rows = await b.sql`SELECT key FROM inputs WHERE path = 'messages/inbox/quality/veto-devops-1.yaml'`;
    expect(rows).toHaveLength(1);
  });

  it("a file moved into place goes up at once, without waiting for settle_ms", { timeout: 120_000 }, async () => {
    const b = await started(60_000);
    expect(b.cli("start", "EP-051", "--title", "Renamed in").code).toBe(0);
    expect(b.cli("start", "EP-052", "--title", "Found by the first scan").code).toBe(0);
    // first a file dated back (old: taken at once whether the scan or the watcher sees it), so that
    // the bridge is known to be watching before the timed drop
    b.drop("artifacts/EP-052/plan.json", artifact("plan.json", "EP-052", 1));
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(b.root, "artifacts/EP-052/plan.json"), hourAgo, hourAgo);
    await b.until("EP-052 advanced", async () => decided(await b.entries(), "stage_advanced", "EP-052").length > 0, 60_000, ["d1", "bridge"]);
    // with a one-minute settle time, only the rename fast path advances the epic within the 30 s wait
    b.drop("artifacts/EP-051/plan.json", artifact("plan.json", "EP-051", 1));
    await b.until("EP-051 advanced", async () => decided(await b.entries(), "stage_advanced", "EP-051").length > 0, 30_000, ["d1", "bridge"]);
  });

  it("an epic's folder that is a link on the bridge's host: rejected through the database naming its epic, its stage owner told (review rv8)", { timeout: 120_000 }, async () => {
    const b = await started();
    const alive = ["d1", "bridge"];
    expect(b.cli("start", "EP-053", "--title", "Linked folder").code).toBe(0);
    const outside = mkdtempSync(join(tmpdir(), "consensus-outside-"));
    try {
      writeFileSync(join(outside, "plan.json"), artifact("plan.json", "EP-053", 1));
      const folder = join(b.root, "artifacts/EP-053");
      await b.until("the folder replaced by a link", async () => {
        rmSync(folder, { recursive: true, force: true });
        try {
          symlinkSync(outside, folder);
        } catch {
          /* made again meanwhile */
        }
        return lstatSync(folder).isSymbolicLink();
      }, 30_000, alive);
      const { es, entry } = await rejectionOf(b, "artifacts/EP-053", "the linked folder rejected", alive);
      expect(entry).toMatchObject({ epic_id: "EP-053", details: { author: "planner", errors: [expect.objectContaining({ code: "SYMLINK_OUTSIDE", fix: expect.stringContaining("mkdir artifacts/EP-053") })] } });
      expect(es.filter((e) => e.epic_id === "EP-053" && e.decision === "artifact_accepted")).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("a FIFO where an epic's folder goes, on the bridge's host: refused unread, the fix makes the folder (as the file transport's)", { timeout: 120_000 }, async () => {
    const b = await started();
    const alive = ["d1", "bridge"];
    expect(b.cli("start", "EP-054", "--title", "FIFO folder").code).toBe(0);
    const folder = join(b.root, "artifacts/EP-054");
    await b.until("the folder replaced by a FIFO", async () => {
      rmSync(folder, { recursive: true, force: true });
      spawnSync("mkfifo", [folder]);
      return lstatSync(folder).isFIFO();
    }, 30_000, alive);
    const { entry } = await rejectionOf(b, "artifacts/EP-054", "the FIFO rejected", alive);
    expect(entry).toMatchObject({ epic_id: "EP-054", details: { author: "planner", errors: [expect.objectContaining({ code: "NOT_REGULAR_FILE", found: "a FIFO (named pipe)", fix: expect.stringContaining("mkdir artifacts/EP-054") })] } });
    expect(lstatSync(folder).isFIFO()).toBe(true);
  });
});
