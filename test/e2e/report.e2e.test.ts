/**
 * `consensus report --html` end to end: a real root built through the CLI and daemon (the demo story
 * with DevOps's veto, plus an epic sent back by the developer with a hostile title and reason), the
 * page loaded in Debian's headless chromium through playwright-core, a screenshot kept in
 * test-artifacts/report.png.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Bus, artifact, repo } from "../support/bus.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`report.e2e: skipping the browser test: ${CHROMIUM} is missing (install Debian's chromium package; .ci/run does)`);

const HOSTILE_TITLE = `<img src=x onerror="window.__pwned=1"> Payments & "refunds"`;
const HOSTILE_REASON = `</td><script>window.__pwned=2</script>`;
/** The page's global, in the functions run inside it (tab.evaluate): set only if a hostile string ran as script. */
declare const window: { __pwned?: number };

let bus: Bus;
let page: string;
let report: { code: number; stdout: string; stderr: string };

async function accepted(b: Bus, epic: string, iteration: number, name: string): Promise<void> {
  await b.waitFor(`${name} accepted for ${epic} in iteration ${iteration}`, (es) => es.some((e) => e.decision === "artifact_accepted" && e.epic_id === epic && e.iteration === iteration && String((e.details as { file: string }).file).endsWith(name)));
}

async function drop(b: Bus, epic: string, iteration: number, ...names: string[]): Promise<void> {
  for (const name of names) {
    b.drop(`artifacts/${epic}/${name}`, name === "review.json" ? artifact(name, epic, iteration, { review_status: "approved" }) : artifact(name, epic, iteration));
    await accepted(b, epic, iteration, name);
  }
}

beforeAll(async () => {
  bus = Bus.init();
  expect(bus.cli("start", "EP-001", "--title", "Add a /health endpoint").code).toBe(0);
  expect(bus.cli("start", "EP-002", "--title", HOSTILE_TITLE).code).toBe(0);
  expect(bus.cli("start", "EP-003", "--title", "Dropped feature").code).toBe(0);
  bus.startDaemon();
  // EP-001: the demo story — DevOps vetoes iteration 1, iteration 2 is promoted
  await drop(bus, "EP-001", 1, "plan.json", "implementation.json", "review.json");
  bus.drop("messages/inbox/quality/veto-1.yaml", bus.fixture("seed004/veto.yaml"));
  await bus.waitFor("EP-001 rework", (es) => es.some((e) => e.decision === "stage_advanced" && e.epic_id === "EP-001" && e.iteration === 2));
  await drop(bus, "EP-001", 2, "implementation.json", "review.json", "deployment.json", "cicd.yaml", "runbook.md");
  await bus.waitForDecision("promoted", 1, "EP-001");
  // EP-002: the developer sends the plan back with a hostile reason; it waits for the planner
  await drop(bus, "EP-002", 1, "plan.json");
  bus.drop("messages/inbox/planner/veto-2.yaml", `from: developer\nto: planner\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: EP-002\niteration: 1\ntype: veto\nsubject: plan_unworkable\ncontent:\n  violation: ${JSON.stringify(HOSTILE_REASON)}\n  specifics: "the plan has no rollback step"\n  blocking: true\n`);
  await bus.waitFor("EP-002 back at plan", (es) => es.some((e) => e.decision === "stage_advanced" && e.epic_id === "EP-002" && e.iteration === 2));
  expect(await bus.stopDaemon()).toBe(0);
  expect(bus.cli("cancel", "EP-003", "--reason", "descoped").code).toBe(0);
  page = join(bus.dir, "out", "report.html");
  mkdirSync(join(bus.dir, "out"));
  report = bus.cli("report", "--html", page);
});

afterAll(() => bus?.cleanup());

describe("consensus report", () => {
  it("writes the page atomically and says where", () => {
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toBe(`wrote ${page} (3 epics); open it in a browser\n`);
    const html = readFileSync(page, "utf8");
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
  });

  it("prints the rules and one line per epic; --format json is the model", () => {
    const text = bus.cli("report");
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(" 4. deployment; owner devops; drops deployment.json + cicd.yaml + runbook.md; vetoes devops → implementation, quality → implementation");
    expect(text.stdout).toMatch(/^EP-001\s+promoted\s+promoted\s+2\s+took /m);
    expect(text.stdout).toMatch(/^EP-002\s+in_progress\s+plan\s+2\s+.*waiting for planner to drop plan\.json$/m);
    expect(text.stdout).toMatch(/^EP-003\s+cancelled\s+plan\s+1\s+/m);
    const json = JSON.parse(bus.cli("report", "--format", "json").stdout) as { epics: Array<{ id: string; vetoes: unknown[] }>; rules: { stages: unknown[] } };
    expect(json.epics.map((e) => e.id)).toEqual(["EP-001", "EP-002", "EP-003"]);
    expect(json.epics[0]!.vetoes).toEqual([expect.objectContaining({ from: "devops", subject: "not_production_ready", blocking: true, resolved: true })]);
    expect(json.rules.stages).toHaveLength(4);
  });

  it("--format json with --html says where, as JSON", () => {
    const r = bus.cli("report", "--html", page, "--format", "json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ html: page, epics: 3, counts: { in_progress: 1, escalated: 0, promoted: 1, cancelled: 1 } });
  });

  it("says what is wrong when the page cannot be written", () => {
    const r = bus.cli("report", "--html", join(bus.dir, "no-such-folder", "r.html"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/OUTPUT_UNWRITABLE[\s\S]*fix: Check that the folder exists/);
  });

  it.skipIf(!hasChromium)(`renders in headless chromium: timelines, the veto, the promotion, the pipeline; nothing leaves the page${hasChromium ? "" : ` (skipped: ${CHROMIUM} is missing)`}`, async () => {
    const { chromium } = await import("playwright-core");
    const profile = mkdtempSync(join(tmpdir(), "consensus-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1360, height: 900 },
    });
    try {
      const requests: string[] = [];
      const dialogs: string[] = [];
      context.on("request", (r) => requests.push(r.url()));
      const tab = await context.newPage();
      tab.on("dialog", (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      const url = pathToFileURL(page).href;
      await tab.goto(url, { waitUntil: "load" });

      // the summary: a row per epic, the promoted status badge
      expect(await tab.locator("#epic-summary tbody tr[data-epic-id]").count()).toBe(3);
      const row1 = tab.locator('#epic-summary tr[data-epic-id="EP-001"]');
      expect(await row1.getAttribute("data-status")).toBe("promoted");
      expect(await row1.locator("[data-badge]").textContent()).toBe("promoted");
      expect(await tab.locator('#epic-summary tr[data-epic-id="EP-002"] td.waiting').textContent()).toContain("waiting for planner to drop plan.json");

      // EP-001's timeline: both iterations drawn, the veto marked where it happened, the promotion flag
      const tl1 = tab.locator('article#epic-EP-001 svg.timeline');
      expect(await tl1.isVisible()).toBe(true);
      expect((await tl1.boundingBox())!.width).toBeGreaterThan(600);
      expect(await tl1.locator('rect.span[data-iteration="1"]').count()).toBe(4);
      expect(await tl1.locator('rect.span[data-iteration="2"]').count()).toBe(3);
      expect(await tl1.locator('rect.span[data-stage="deployment"][data-exit="rework"]').count()).toBe(1);
      const veto = tl1.locator('.veto-marker[data-veto-from="devops"][data-veto-subject="not_production_ready"]');
      expect(await veto.count()).toBe(1);
      expect(await veto.isVisible()).toBe(true);
      expect(await tl1.locator(".end-mark.promoted").count()).toBe(1);
      expect(await tab.locator('article#epic-EP-001 tr.veto[data-veto-state="resolved"] td.why').textContent()).toContain("No health check endpoint defined");

      // the pipeline diagram: a box per stage, in order, and the veto routes back
      expect(await tab.locator("#pipeline-diagram g.stage-box").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-stage")))).toEqual(["plan", "implementation", "review", "deployment"]);
      expect(await tab.locator('#pipeline-diagram path.veto-route[data-from="deployment"][data-to="implementation"]').count()).toBe(1);
      expect(await tab.locator("#rules-table tbody tr").count()).toBe(4);

      // hostile strings are text, not markup
      expect(await tab.locator('article#epic-EP-002 .epic-head .title').textContent()).toBe(HOSTILE_TITLE);
      expect(await tab.locator('article#epic-EP-002 tr.veto td.why').textContent()).toBe(`${HOSTILE_REASON}: the plan has no rollback step`);
      expect(await tab.locator("img").count()).toBe(0);
      expect(await tab.evaluate(() => window.__pwned)).toBeUndefined();
      expect(dialogs).toEqual([]);

      // the filter box (the page's one small script)
      await tab.locator("#filter").fill("health");
      expect(await tab.locator('#epic-summary tr[data-epic-id="EP-002"]').isHidden()).toBe(true);
      expect(await row1.isVisible()).toBe(true);
      await tab.locator("#filter").fill("");
      await tab.locator("#status-filter").selectOption("cancelled");
      expect(await tab.locator("#epic-summary tr[data-epic-id]:visible").evaluateAll((rs) => rs.map((r) => r.getAttribute("data-epic-id")))).toEqual(["EP-003"]);
      expect(await tab.locator("article.epic:visible").count()).toBe(1);
      await tab.locator("#status-filter").selectOption("");

      // nothing but the page itself was requested
      expect(requests).toEqual([url]);

      mkdirSync(join(repo, "test-artifacts"), { recursive: true });
      await tab.screenshot({ path: join(repo, "test-artifacts", "report.png"), fullPage: true });
      expect(existsSync(join(repo, "test-artifacts", "report.png"))).toBe(true);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
