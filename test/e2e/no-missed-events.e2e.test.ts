/**
 * No missed events: a flood larger than a watcher queue holds, files renamed over each other, and a
 * folder moved in whole are all processed; the reconcile scans close whatever gap the watcher leaves.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Bus, artifact } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

const note = (epic: string, id: string) => `id: ${id}\nfrom: developer\nto: quality\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: ${epic}\niteration: 1\ntype: info\nsubject: flood\n`;

describe("no missed events", () => {
  it("10,000 files dropped at once are all processed", async () => {
    bus = Bus.init();
    bus.cli("start", "EP-100", "--title", "Flood");
    bus.startDaemon();
    const N = Number(process.env.FLOOD_FILES ?? 10_000);
    const staging = join(bus.dir, "staging");
    mkdirSync(staging);
    for (let i = 0; i < N; i++) writeFileSync(join(staging, `n${i}.yaml`), note("EP-100", `flood-${i}`));
    const inbox = join(bus.root, "messages/inbox/quality");
    for (let i = 0; i < N; i++) renameSync(join(staging, `n${i}.yaml`), join(inbox, `n${i}.yaml`));
    const es = await bus.waitFor(`${N} messages accepted`, (all) => all.filter((e) => e.decision === "message_accepted").length >= N, 240_000);
    expect(es.filter((e) => e.decision === "message_accepted").length).toBe(N);
    expect(es.filter((e) => e.decision === "message_rejected")).toEqual([]);
  }, 300_000);

  it("files renamed over each other and a folder moved in whole are processed", async () => {
    bus = Bus.init();
    for (const e of ["EP-101", "EP-102"]) bus.cli("start", e, "--title", e);
    bus.startDaemon();
    // a.yaml then b.yaml renamed over a.yaml: both contents are distinct inputs, both processed
    const inbox = join(bus.root, "messages/inbox/quality");
    writeFileSync(join(bus.dir, "a.yaml"), note("EP-101", "first"));
    writeFileSync(join(bus.dir, "b.yaml"), note("EP-101", "second"));
    renameSync(join(bus.dir, "a.yaml"), join(inbox, "x.yaml"));
    await bus.waitFor("first", (es) => es.some((e) => (e.details as { message_id?: string })?.message_id === "first"));
    renameSync(join(bus.dir, "b.yaml"), join(inbox, "x.yaml"));
    await bus.waitFor("second", (es) => es.some((e) => (e.details as { message_id?: string })?.message_id === "second"));
    // an epic's folder prepared elsewhere and moved into artifacts/ in one rename
    const prepared = join(bus.dir, "EP-102");
    mkdirSync(prepared);
    writeFileSync(join(prepared, "plan.json"), artifact("plan.json", "EP-102", 1));
    writeFileSync(join(prepared, "implementation.json"), artifact("implementation.json", "EP-102", 1));
    renameSync(prepared, join(bus.root, "artifacts/EP-102-moved"));
    // the folder name is not the epic id: rejected with the mismatch, proving both files were seen
    await bus.waitForDecision("artifact_rejected", 2);
    const moved = join(bus.dir, "EP-102b");
    mkdirSync(moved);
    writeFileSync(join(moved, "plan.json"), artifact("plan.json", "EP-102", 1, { note: "v2" }));
    renameSync(join(bus.root, "artifacts/EP-102"), join(bus.dir, "old-empty"));
    renameSync(moved, join(bus.root, "artifacts/EP-102"));
    await bus.waitFor("EP-102 plan accepted", (es) => es.some((e) => e.decision === "artifact_accepted" && e.epic_id === "EP-102"));
  }, 120_000);
});
