/**
 * Issue 11 item 2: never act on half a file. Files written in place, the way editors and LLM tools
 * write them, in two bursts 150 ms apart: the daemon must act on the whole file only.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, artifact } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

/** Writes `first`, pauses `gapMs` (the writer's own pace: this is the input, not a wait), then `second`, in place. */
async function writeInTwoBursts(abs: string, first: string, second: string, gapMs = 150): Promise<void> {
  mkdirSync(dirname(abs), { recursive: true });
  const fd = openSync(abs, "w");
  try {
    writeSync(fd, first);
    fsyncSync(fd);
    await new Promise((r) => setTimeout(r, gapMs));
    writeSync(fd, second);
  } finally {
    closeSync(fd);
  }
}

async function atDeployment(epic: string): Promise<void> {
  bus.cli("start", epic, "--title", "Half files");
  bus.startDaemon();
  bus.drop(`artifacts/${epic}/plan.json`, artifact("plan.json", epic, 1));
  bus.drop(`artifacts/${epic}/implementation.json`, artifact("implementation.json", epic, 1));
  bus.drop(`artifacts/${epic}/review.json`, artifact("review.json", epic, 1, { review_status: "approved", findings: [] }));
  await bus.waitFor(`${epic} at deployment`, (es) => es.some((e) => e.epic_id === epic && e.decision === "stage_advanced" && (e.details as { to?: string }).to === "deployment"));
}

describe("files written in place are acted on only once complete", () => {
  it("a veto written in two bursts, the first ending before `blocking: false`, is read as the non-blocking veto it is", async () => {
    bus = Bus.init();
    await atDeployment("EP-040");
    const text = `from: devops\nto: quality\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: EP-040\niteration: 1\ntype: veto\nsubject: dashboards_thin\ncontent:\n  violation: "Dashboards are thin"\n  specifics: "No latency panel"\n  impact: "Harder to watch the rollout"\n  requirement: "Add a p99 latency panel"\n  blocking: false\n`;
    const cut = text.indexOf("  blocking: false");
    await writeInTwoBursts(join(bus.root, "messages/inbox/quality/veto-devops-1.yaml"), text.slice(0, cut), text.slice(cut));
    const es = await bus.waitForDecision("veto_recorded", 1, "EP-040");
    const vetoes = es.filter((e) => e.decision === "veto_recorded");
    expect(vetoes).toHaveLength(1);
    expect(vetoes[0]!.details).toMatchObject({ from: "devops", subject: "dashboards_thin", blocking: false });
    expect(es.filter((e) => e.decision === "message_rejected" || e.decision === "message_accepted" && e.epic_id !== "EP-040")).toEqual([]);
    expect(es.filter((e) => e.decision === "message_accepted")).toHaveLength(1);
    const status = JSON.parse(bus.cli("status", "EP-040", "--json").stdout) as { stage: string; iteration: number; open_vetoes: unknown[] };
    expect(status).toMatchObject({ stage: "deployment", iteration: 1, open_vetoes: [] });
  });

  it("a runbook whose last section comes in the second burst is accepted (and archived) whole", async () => {
    bus = Bus.init();
    await atDeployment("EP-041");
    bus.drop("artifacts/EP-041/deployment.json", artifact("deployment.json", "EP-041", 1));
    bus.drop("artifacts/EP-041/cicd.yaml", artifact("cicd.yaml", "EP-041", 1));
    await bus.waitFor("deployment.json and cicd.yaml accepted", (es) => es.filter((e) => e.epic_id === "EP-041" && e.decision === "artifact_accepted").length === 5);
    const runbook = artifact("runbook.md", "EP-041", 1);
    const cut = runbook.indexOf("## Rollback Procedure") + "## Rollback Procedure\n".length;
    await writeInTwoBursts(join(bus.root, "artifacts/EP-041/runbook.md"), runbook.slice(0, cut), runbook.slice(cut));
    const es = await bus.waitForDecision("promoted", 1, "EP-041");
    const runbooks = es.filter((e) => e.decision === "artifact_accepted" && String((e.details as { file?: string }).file).endsWith("runbook.md"));
    expect(runbooks).toHaveLength(1);
    // the archive copy is an effect, written just after the commit the log shows
    const archived = join(bus.root, "archive/EP-041/1/runbook.md");
    await bus.until("the runbook archived", () => existsSync(archived) && readFileSync(archived, "utf8").length >= runbook.length);
    expect(readFileSync(archived, "utf8")).toBe(runbook);
    expect(es.filter((e) => e.decision === "artifact_rejected")).toEqual([]);
  });

  it("a file moved into place is still taken at once, without waiting for settle_ms", async () => {
    bus = Bus.init();
    bus.editConfig((t) => t.replace(/settle_ms: \d+/, "settle_ms: 60000"));
    bus.cli("start", "EP-042", "--title", "Renamed in");
    bus.cli("start", "EP-043", "--title", "Found by the first scan");
    bus.startDaemon();
    // first a file dated back (found by the start-up scan or the watcher alike, and old: taken at once),
    // so that the watcher is known to be armed before the timed drop
    bus.drop("artifacts/EP-043/plan.json", artifact("plan.json", "EP-043", 1), { mtime: new Date(Date.now() - 3_600_000) });
    await bus.waitFor("EP-043 advanced", (es) => es.some((e) => e.epic_id === "EP-043" && e.decision === "stage_advanced"));
    bus.drop("artifacts/EP-042/plan.json", artifact("plan.json", "EP-042", 1));
    // with a one-minute settle time, only the rename fast path advances the epic within the 30 s wait
    await bus.waitFor("EP-042 advanced", (es) => es.some((e) => e.epic_id === "EP-042" && e.decision === "stage_advanced"));
  });
});
