/**
 * A transaction that leaves its epic as it was (an info message) writes no `state` into its log line
 * (Txn.same: a third of such a line, and half the cost of parsing it again at a cold start), yet hands
 * its committed entries back with the state, and a restart from the log alone rebuilds the same view.
 */
import { engineIn } from "../support/engine.js";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import type { Marks } from "../../src/log/marks.js";
import { interpretMessage } from "../../src/schemas/interpret.js";
import { classifyPath } from "../../src/transports/files/classify.js";
import { prepareContent } from "../../src/transports/files/prepare.js";
import { artifact } from "../support/bus.js";
import { pipeline } from "../support/pipeline.js";

const dir = mkdtempSync(join(tmpdir(), "consensus-unchanged-state-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const info = (id: string) => {
  const doc = { id, from: "developer", to: "planner", timestamp: "2026-11-21T10:00:00Z", epic_id: "EP-001", iteration: 1, type: "info", subject: "progress", content: { note: "a status note" } };
  const bytes = new TextEncoder().encode(JSON.stringify(doc));
  const m = interpretMessage(`${id}.json`, bytes, "planner");
  if (!m.doc) throw new Error(JSON.stringify(m.issues));
  const file = `messages/inbox/planner/${id}.json`;
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  return { input: { type: "message" as const, file, inbox: "planner", sha256, issues: [], doc: m.doc }, key: `${file}@${sha256}` };
};

/** Marks held whole: a view folded from the log alone keeps them in a Set<string>; a checkpoint's are
 * digests (MarkSet), which cannot be listed. This test starts each engine without a checkpoint. */
const isWhole = (m: Marks): m is Set<string> => m instanceof Set;
/** A view's marks as a sorted list. */
const listed = (m: Marks): string[] => {
  if (!isWhole(m)) throw new Error("the marks were loaded from a checkpoint (digests): they cannot be listed");
  return [...m].sort();
};

const lines = (path: string) => readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

describe("a transaction that does not change its epic", () => {
  it("leaves the state out of its line, not out of its entry, and replays to the same view", async () => {
    const opened = await engineIn(dir);
    const { layout } = opened;
    let { store, engine } = opened;
    await engine.process([{ input: { type: "start", epic_id: "EP-001", title: "t", by: "tester" }, key: "request:1" }]);
    const before = structuredClone(engine.state.epics.get("EP-001"));
    const [o] = await engine.process([info("m-1")]);
    if (o?.status !== "committed") throw new Error(JSON.stringify(o));
    const accepted = o.entries.find((e) => e.decision === "message_accepted")!;
    expect(accepted.state).toEqual(before);
    const c = classifyPath("artifacts/EP-001/plan.json");
    if (c.kind !== "artifact") throw new Error("not an artifact");
    const bytes = new TextEncoder().encode(artifact("plan.json", "EP-001", 1));
    const p = prepareContent(c, { bytes, sha256: createHash("sha256").update(bytes).digest("hex"), mtimeMs: Date.now() }, { pipeline, world: engine.world, now: Date.now() });
    if (p.kind !== "ready") throw new Error(p.kind);
    await engine.process([p.item]);
    await engine.process([info("m-2")]);
    const view = structuredClone({ epics: [...engine.state.epics], processed: listed(engine.state.processed), ids: listed(engine.state.messageIds) });
    expect(view.epics[0]![1].stage).toBe("implementation");
    await store.close();

    for (const path of [layout.record, layout.log]) {
      const written = lines(path);
      const msgs = written.filter((l) => l.decision === "message_accepted");
      expect(msgs).toHaveLength(2);
      for (const m of msgs) expect(m).not.toHaveProperty("state");
      // what changed the epic still says so
      expect(written.find((l) => l.decision === "epic_started")).toHaveProperty("state");
      expect(written.filter((l) => l.decision === "stage_advanced").at(-1)).toHaveProperty("state.stage", "implementation");
    }

    // a start from the log alone (no checkpoint) folds the same view
    rmSync(layout.checkpoint, { force: true });
    rmSync(`${layout.checkpoint.replace(/\.json$/, "")}.keys`, { force: true });
    ({ store, engine } = await engineIn(dir));
    // (the start may record what it found, a missing checkpoint: so seq and hash are not compared)
    expect({ epics: [...engine.state.epics], processed: listed(engine.state.processed), ids: listed(engine.state.messageIds) }).toEqual(view);
    await store.close();
  });
});
