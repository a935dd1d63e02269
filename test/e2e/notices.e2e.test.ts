/**
 * Issue 11 items 5, 6 and 7 through the real CLI: notices an agent can act on (paths from its working
 * folder and absolute, the epic's epic.md, the veto in a rework notice, the reason of an override),
 * warnings that reach the author and `consensus log`, a rejected message marked as not in force for
 * the role whose inbox holds it, and `validate` that sees the bus.
 */
import { userInfo } from "node:os";
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, artifact } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

type Notice = { subject: string; epic_id?: string; content: Record<string, unknown> };
const notices = (b: Bus, role: string, subject: string): Notice[] =>
  b
    .inbox(role)
    .filter((n) => n.endsWith(`-${subject}.yaml`))
    .map((n) => load(readFileSync(join(b.root, "messages/inbox", role, n), "utf8")) as Notice);

const devopsVeto = (epic: string, iteration: number, subject = "not_production_ready") =>
  `from: devops\nto: quality\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: ${epic}\niteration: ${iteration}\ntype: veto\nsubject: ${subject}\ncontent:\n  violation: Missing critical production requirement\n  specifics: No health check endpoint defined\n  impact: Cannot monitor service health\n  requirement: Implement standardized health check\n  blocking: true\naction_needed: add_health_monitoring\n`;

function toDeployment(epic: string, iteration: number): void {
  bus.drop(`artifacts/${epic}/implementation.json`, artifact("implementation.json", epic, iteration));
  bus.drop(`artifacts/${epic}/review.json`, artifact("review.json", epic, iteration, { review_status: "approved", findings: [] }));
  expect(bus.cli("watch", "--once").code).toBe(0);
}

describe("notices an agent can act on", () => {
  it("paths from the working folder and absolute; the epic's epic.md; the veto in the rework notice; an override and its reason", () => {
    bus = Bus.init();
    const root = realpathSync(bus.root);
    bus.cli("start", "EP-070", "--title", "Notices");
    const [first] = notices(bus, "planner", "stage_entered");
    expect(first!.content).toMatchObject({
      epic: "consensus/epics/EP-070/epic.md",
      epic_abs: `${root}/epics/EP-070/epic.md`,
      drop_to: "consensus/artifacts/EP-070/",
      drop_to_abs: `${root}/artifacts/EP-070/`,
    });
    expect(readFileSync(first!.content.epic_abs as string, "utf8")).toContain("EP-070");

    bus.drop("artifacts/EP-070/plan.json", artifact("plan.json", "EP-070", 1));
    toDeployment("EP-070", 1);
    bus.drop("messages/inbox/quality/veto-devops.yaml", devopsVeto("EP-070", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    const [rework] = notices(bus, "developer", "rework_requested");
    expect(rework!.content.veto).toEqual({
      from: "devops",
      subject: "not_production_ready",
      iteration: 1,
      stage: "deployment",
      violation: "Missing critical production requirement: No health check endpoint defined",
      specifics: "No health check endpoint defined",
      impact: "Cannot monitor service health",
      requirement: "Implement standardized health check",
      action_needed: "add_health_monitoring",
      veto_file: "consensus/messages/inbox/quality/veto-devops.yaml",
      veto_file_abs: `${root}/messages/inbox/quality/veto-devops.yaml`,
    });
    expect(rework!.content.read).toEqual(expect.arrayContaining(["consensus/archive/EP-070/1/plan.json"]));

    // the same veto raised again in iteration 2 escalates; a person overrides back to implementation
    toDeployment("EP-070", 2);
    bus.drop("messages/inbox/quality/veto-devops-2.yaml", devopsVeto("EP-070", 2));
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(JSON.parse(bus.cli("status", "EP-070", "--json").stdout)).toMatchObject({ status: "escalated" });
    expect(bus.cli("override", "EP-070", "--to", "implementation", "--reason", "health check added by hand").code).toBe(0);
    const override = notices(bus, "developer", "rework_requested").find((n) => n.content.override);
    expect(override!.content.override).toMatchObject({ by: userInfo().username, reason: "health check added by hand", note: expect.stringMatching(/override/) as unknown });
  });
});

describe("warnings and rejections reach who can act on them", () => {
  it("a normalised value and a fenced document are accepted with a warning that reaches the author's inbox and `consensus log`", () => {
    bus = Bus.init();
    bus.cli("start", "EP-071", "--title", "Warnings");
    const doc = JSON.parse(artifact("plan.json", "EP-071", 1)) as Record<string, unknown>;
    bus.drop("artifacts/EP-071/plan.json", `\`\`\`json\n${JSON.stringify({ ...doc, iteration: "1" }, null, 2)}\n\`\`\`\n`);
    expect(bus.cli("watch", "--once").code).toBe(0);
    const [warned] = notices(bus, "planner", "accepted_with_warnings");
    expect((warned!.content.warnings as Array<{ code: string }>).map((w) => w.code).sort()).toEqual(["FENCED", "NORMALISED"]);
    expect(warned!.content.file).toBe("consensus/artifacts/EP-071/plan.json");
    const log = bus.cli("log", "--epic", "EP-071").stdout;
    expect(log).toMatch(/artifact accepted: artifacts\/EP-071\/plan\.json.*warning: \/iteration iteration was a string; read as the integer 1/);
    expect(log).toMatch(/warning: the document is wrapped in a Markdown code fence/);
  });

  it("prose around a fence, UTF-16, and the fix carried to the author's rejection notice", () => {
    bus = Bus.init();
    bus.cli("start", "EP-072", "--title", "Rejections");
    bus.drop("artifacts/EP-072/plan.json", `Here is the plan you asked for:\n\`\`\`json\n${artifact("plan.json", "EP-072", 1)}\`\`\`\nLet me know if you need changes.\n`);
    expect(bus.cli("watch", "--once").code).toBe(0);
    const [fenced] = notices(bus, "planner", "artifact_rejected");
    expect(fenced!.content.errors).toMatchObject([{ code: "FENCED_WITH_TEXT", fix: "Remove the fence lines and the text around them: the file must hold the document alone." }]);
    bus.drop("artifacts/EP-072/plan.json", Buffer.from(artifact("plan.json", "EP-072", 1), "utf16le"));
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.cli("log", "--epic", "EP-072").stdout).toMatch(/UTF-16; the bus reads UTF-8/);
  });

  it("a rejected message stays where it was written, and the role whose inbox holds it is told it is not in force", () => {
    bus = Bus.init();
    bus.cli("start", "EP-073", "--title", "Not in force");
    // quality may not veto at plan: rejected, the sender told, the addressee told it is not in force
    bus.drop("messages/inbox/developer/veto-q.yaml", devopsVeto("EP-073", 1).replace("from: devops", "from: quality").replace("to: quality", "to: developer"));
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(notices(bus, "quality", "message_rejected")).toHaveLength(1);
    const [marked] = notices(bus, "developer", "message_not_in_force");
    expect(marked!.content).toMatchObject({ file: "consensus/messages/inbox/developer/veto-q.yaml", in_force: false, from: "quality" });
    expect(bus.inbox("developer")).toContain("veto-q.yaml");
  });

  it("validate, with the bus in view, names the stale iteration next to the bad timestamp, with the current one", () => {
    bus = Bus.init();
    bus.cli("start", "EP-074", "--title", "Validate");
    const tmp = join(bus.root, "artifacts/EP-074/.plan.json.tmp");
    writeFileSync(tmp, artifact("plan.json", "EP-074", 3, { timestamp: "tomorrow" }));
    const r = bus.cli("validate", tmp);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/WRONG_ITERATION/);
    expect(r.stdout).toContain('Set "iteration": 1 (EP-074\'s current iteration).');
    expect(r.stdout).toMatch(/\/timestamp/);
  });
});
