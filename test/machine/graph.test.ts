/** `consensus graph`: a diagram a person can read; edges every stage shares are drawn once. */
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_YAML } from "../../src/config/default-config.js";
import { defaultPipeline } from "../../src/config/pipeline.js";
import { buildEpicMachine } from "../../src/machine/epic-machine.js";
import { edgesOf, toDot, toMermaid } from "../../src/machine/graph.js";

const pipeline = defaultPipeline(DEFAULT_CONFIG_YAML);
const machine = buildEpicMachine(pipeline);

describe("graph", () => {
  it("draws the 'any stage → escalated' and cancel edges once, with readable labels", () => {
    const text = toMermaid(machine, pipeline);
    const arrows = text.split("\n").filter((l) => l.includes("-->"));
    expect(arrows.length).toBeLessThan(edgesOf(machine, pipeline).length);
    expect(arrows.length).toBeLessThanOrEqual(30);
    expect(text).toContain('state "any stage" as any_stage');
    expect(arrows.filter((l) => l.startsWith("  any_stage --> escalated:"))).toHaveLength(1);
    expect(arrows.filter((l) => l.startsWith("  any_stage --> cancelled:"))).toHaveLength(1);
    expect(text).toContain("any_stage --> escalated: artifacts cross the budget; daemon: stage removed or agent failing; deadline missed twice");
    // the veto escalations, which only stages with vetoes have, are drawn once too
    expect(text).toContain("stages_implementation_review_deployment --> escalated: same veto twice; two roles vetoing in turn (A, B, A); veto past max_iterations (3)");
    for (const s of pipeline.stages) expect(arrows.filter((l) => l.startsWith(`  ${s.id} --> escalated`)), s.id).toEqual([]);
    // no raw event names, no artifact edge that claims to escalate
    expect(text).not.toMatch(/: DEADLINE$/m);
    expect(text).not.toMatch(/--> escalated: [a-z.]+\.json valid/);
    expect(toDot(machine, pipeline)).toContain('"any_stage" [label="any stage", style=dashed];');
  });
});
