import { describe, expect, it } from "vitest";
import { placeNotice, placeOf } from "../../src/machine/notice-paths.js";
import type { NoticeDoc } from "../../src/machine/effects.js";

const notice = (content: Record<string, unknown>): NoticeDoc => ({ id: "notice-00000007", from: "orchestrator", to: "developer", timestamp: "2026-11-21T10:00:00Z", epic_id: "EP-001", iteration: 2, type: "request", subject: "rework_requested", content });

describe("notice paths: from the agent's working folder, and absolute", () => {
  it("rewrites every path field (also in lists and in each veto), and adds <field>_abs", () => {
    const placed = placeNotice(
      notice({ stage: "implementation", drop_to: "artifacts/EP-001/", read: ["archive/EP-001/1/plan.json"], epic: "epics/EP-001/epic.md", veto: { from: "devops", veto_file: "messages/inbox/quality/v.yaml" }, open_vetoes: [{ from: "devops", veto_file: "messages/inbox/quality/v.yaml" }] }),
      placeOf("/srv/project/consensus/"),
    );
    expect(placed.content).toEqual({
      stage: "implementation",
      drop_to: "consensus/artifacts/EP-001/",
      drop_to_abs: "/srv/project/consensus/artifacts/EP-001/",
      read: ["consensus/archive/EP-001/1/plan.json"],
      read_abs: ["/srv/project/consensus/archive/EP-001/1/plan.json"],
      epic: "consensus/epics/EP-001/epic.md",
      epic_abs: "/srv/project/consensus/epics/EP-001/epic.md",
      veto: { from: "devops", veto_file: "consensus/messages/inbox/quality/v.yaml", veto_file_abs: "/srv/project/consensus/messages/inbox/quality/v.yaml" },
      open_vetoes: [{ from: "devops", veto_file: "consensus/messages/inbox/quality/v.yaml", veto_file_abs: "/srv/project/consensus/messages/inbox/quality/v.yaml" }],
    });
  });

  it("a root with another name is named as it is; other fields are left alone", () => {
    const placed = placeNotice(notice({ file: "artifacts/EP-001/plan.json", reason: "artifacts/ is not a path here" }), placeOf("/home/a/bus"));
    expect(placed.content).toEqual({ file: "bus/artifacts/EP-001/plan.json", file_abs: "/home/a/bus/artifacts/EP-001/plan.json", reason: "artifacts/ is not a path here" });
  });
});
