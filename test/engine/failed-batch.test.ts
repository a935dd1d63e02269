/**
 * A batch whose commit fails (here: the artifact's bytes cannot be written to the pack) leaves nothing behind: deciding the
 * same input again applies it, rather than calling it a duplicate of a decision never made durable.
 */
import { engineIn } from "../support/engine.js";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { classifyPath } from "../../src/transports/files/classify.js";
import { prepareContent } from "../../src/transports/files/prepare.js";
import { artifact } from "../support/bus.js";
import { pipeline } from "../support/pipeline.js";

const dir = mkdtempSync(join(tmpdir(), "consensus-failed-batch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("engine", () => {
  it("decides an input again after its batch failed before the commit", async () => {
    const { layout, store, engine } = await engineIn(dir);
    await engine.process([{ input: { type: "start", epic_id: "EP-001", title: "t", by: "tester" }, key: "request:1" }]);
    const c = classifyPath("artifacts/EP-001/plan.json");
    if (c.kind !== "artifact") throw new Error("not an artifact");
    const bytes = new TextEncoder().encode(artifact("plan.json", "EP-001", 1));
    const p = prepareContent(c, { bytes, sha256: createHash("sha256").update(bytes).digest("hex"), mtimeMs: Date.now() }, { pipeline, world: engine.world, now: Date.now() });
    if (p.kind !== "ready") throw new Error(p.kind);
    // the pack is a folder, not a file: putBlob fails, so the batch fails before its append
    mkdirSync(layout.pack);
    await expect(engine.process([p.item])).rejects.toThrow();
    rmSync(layout.pack, { recursive: true });
    const [o] = await engine.process([p.item]);
    expect(o!.status).toBe("committed");
    expect(engine.state.epics.get("EP-001")!.stage).toBe("implementation");
    await store.close();
  });
});
