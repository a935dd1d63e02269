/**
 * Issue 11 item 3: no file is ignored in silence. Files one folder off get one `file_ignored` entry per
 * content with the path they were meant for, their author is told, doctor warns; editors' temporaries
 * stay silent; status and report say why an epic still waits when its drop was rejected.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { load } from "js-yaml";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, artifact, vetoYaml } from "../support/bus.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

const ignored = (es: LogEntry[]) => es.filter((e) => e.decision === "file_ignored");
const detailsOf = (e: LogEntry) => e.details as { file: string; did_you_mean?: string; author?: string; reason: string };

describe("files where the layout expects nothing", () => {
  it("the issue's four examples: each logged once per content, with the path it was meant for, and its author told", () => {
    bus = Bus.init();
    bus.cli("start", "EP-050", "--title", "Strays");
    bus.drop("messages/developer/veto.yaml", vetoYaml("quality", "developer", "EP-050", 1, "missing_tests"));
    bus.drop("messages/inbox/veto.yaml", vetoYaml("devops", "quality", "EP-050", 1, "no_rollback"));
    bus.drop("plan.json", artifact("plan.json", "EP-050", 1));
    bus.drop("consensus/artifacts/EP-050/implementation.json", artifact("implementation.json", "EP-050", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    const byFile = Object.fromEntries(ignored(bus.entries()).map((e) => [detailsOf(e).file, detailsOf(e)]));
    expect(byFile["messages/developer/veto.yaml"]).toMatchObject({ did_you_mean: "messages/inbox/developer/veto.yaml", author: "quality" });
    expect(byFile["messages/inbox/veto.yaml"]).toMatchObject({ did_you_mean: "messages/inbox/quality/veto.yaml", author: "devops" });
    expect(byFile["plan.json"]).toMatchObject({ did_you_mean: "artifacts/EP-050/plan.json", author: "planner" });
    expect(byFile["consensus/artifacts/EP-050/implementation.json"]).toMatchObject({ did_you_mean: "artifacts/EP-050/implementation.json", author: "developer" });
    expect(Object.keys(byFile)).toHaveLength(4);
    // nothing of it was acted on
    expect(JSON.parse(bus.cli("status", "EP-050", "--json").stdout)).toMatchObject({ stage: "plan", iteration: 1, open_vetoes: [] });
    // each author has a notice that says where the file belongs
    const notice = bus.inbox("quality").find((n) => n.endsWith("-file_ignored.yaml"))!;
    expect(notice).toBeDefined();
    expect(load(readFileSync(join(bus.root, "messages/inbox/quality", notice), "utf8"))).toMatchObject({ type: "info", subject: "file_ignored", content: { file: "consensus/messages/developer/veto.yaml", did_you_mean: "consensus/messages/inbox/developer/veto.yaml" } });
    expect(bus.inbox("planner").some((n) => n.endsWith("-file_ignored.yaml"))).toBe(true);

    // once per content: a restart, or the same bytes written again, adds nothing; new content is logged again
    expect(bus.cli("watch", "--once").code).toBe(0);
    bus.drop("plan.json", artifact("plan.json", "EP-050", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(ignored(bus.entries())).toHaveLength(4);
    bus.drop("plan.json", artifact("plan.json", "EP-050", 1, { timestamp: "2026-11-21T11:00:00Z" }));
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(ignored(bus.entries())).toHaveLength(5);

    // doctor names them too
    const doctor = bus.cli("doctor", "--format", "json");
    const strays = (JSON.parse(doctor.stdout) as { checks: Array<{ id: string; status: string; found: string }> }).checks.find((c) => c.id === "strays")!;
    expect(strays.status).toBe("warn");
    expect(strays.found).toContain("messages/developer/veto.yaml (did you mean messages/inbox/developer/veto.yaml?)");
    expect(strays.found).toContain("stray folders: consensus/, messages/developer/ (did you mean messages/inbox/developer/?)");
  });

  it("a running daemon reports a file dropped at the root or in messages/<role>/ as soon as it lands", async () => {
    bus = Bus.init();
    bus.cli("start", "EP-051", "--title", "Live strays");
    bus.startDaemon();
    bus.drop("plan.json", artifact("plan.json", "EP-051", 1));
    await bus.waitFor("plan.json at the root logged", (es) => ignored(es).some((e) => detailsOf(e).file === "plan.json"));
    bus.drop("messages/developer/veto.yaml", vetoYaml("quality", "developer", "EP-051", 1, "missing_tests"));
    await bus.waitFor("messages/developer/veto.yaml logged", (es) => ignored(es).some((e) => detailsOf(e).file === "messages/developer/veto.yaml"));
  });

  it("editors' and tools' temporaries are never read nor reported (sed -i, vim's 4913, swap and backup files)", () => {
    bus = Bus.init();
    bus.cli("start", "EP-052", "--title", "Editors");
    const inbox = join(bus.root, "messages/inbox/quality");
    // what sed -i, vim and others leave behind when they are interrupted mid-write
    for (const name of ["sedK3x9Qa", "4913", ".veto.yaml.swp", "veto.yaml~", "#veto.yaml#", "veto.yaml___jb_tmp___"]) writeFileSync(join(inbox, name), "from: devops\nto: quality\n");
    const msg = join(inbox, "info-1.yaml");
    writeFileSync(msg, "from: devops\nto: quality\ntimestamp: \"2026-11-21T10:00:00Z\"\nepic_id: EP-052\niteration: 1\ntype: info\nsubject: heads_up\n");
    expect(bus.cli("watch", "--once").code).toBe(0);
    // a real sed -i in the inbox: its temporary file is never taken for a message
    expect(spawnSync("sed", ["-i", "s/heads_up/heads_up_again/", msg]).status).toBe(0);
    expect(bus.cli("watch", "--once").code).toBe(0);
    const es = bus.entries();
    expect(es.filter((e) => e.decision === "message_rejected" || e.decision === "file_ignored")).toEqual([]);
    expect(es.filter((e) => e.decision === "message_accepted").map((e) => (e.details as { subject: string }).subject)).toEqual(["heads_up", "heads_up_again"]);
  });
});

describe("status and report say why an epic waits after a rejection", () => {
  it("the latest rejection and its reason, instead of only 'waiting for quality to drop review.json'", () => {
    bus = Bus.init();
    bus.cli("start", "EP-053", "--title", "Rejected review");
    bus.drop("artifacts/EP-053/plan.json", artifact("plan.json", "EP-053", 1));
    bus.drop("artifacts/EP-053/implementation.json", artifact("implementation.json", "EP-053", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    bus.drop("artifacts/EP-053/review.json", artifact("review.json", "EP-053", 2, { review_status: "approved", findings: [] }));
    expect(bus.cli("watch", "--once").code).toBe(0);
    const s = JSON.parse(bus.cli("status", "EP-053", "--json").stdout) as { waiting_for: string[]; last_rejection?: { file: string; errors: Array<{ code: string }> } };
    expect(s.waiting_for).toEqual(["quality"]);
    expect(s.last_rejection).toMatchObject({ file: "artifacts/EP-053/review.json", errors: [{ code: "WRONG_ITERATION" }] });
    expect(bus.cli("status").stdout).toMatch(/review\.json from quality rejected at .*WRONG_ITERATION/);
    const report = bus.cli("report").stdout;
    expect(report).toMatch(/waiting for quality to drop review\.json; the last drop was rejected: review\.json from quality rejected at .*WRONG_ITERATION/);
    // once a valid review.json is accepted, the rejection no longer explains anything
    bus.drop("artifacts/EP-053/review.json", artifact("review.json", "EP-053", 1, { review_status: "approved", findings: [] }));
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(JSON.parse(bus.cli("status", "EP-053", "--json").stdout)).not.toHaveProperty("last_rejection");
    expect(existsSync(join(bus.root, "archive/EP-053/1/review.json"))).toBe(true);
    expect(readdirSync(join(bus.root, "messages/inbox/quality")).some((n) => n.endsWith("artifact_rejected.yaml"))).toBe(true);
  });
});
