/** The gate's verdict (src/report/gate.ts): open only when all five checks pass. Pure. */
import { describe, expect, it } from "vitest";
import { judgeGate, type GateFacts } from "../../src/report/gate.js";
import type { Epic } from "../../src/schemas/types.gen.js";

const epic = (patch: Partial<Epic> = {}): Epic => ({ epic_id: "EP-001", title: "t", stage: "promoted", status: "promoted", iteration: 1, iteration_base: 0, received: {}, approvals: [], open_vetoes: [], updated_at: "2026-11-21T10:00:00Z", ...patch }) as Epic;

const facts = (e: Epic | undefined, patch: Partial<GateFacts> = {}): GateFacts => ({
  epic: "EP-001",
  require: { kind: "promoted" },
  store: { answered: true, ...(e ? { epic: e, logEpic: e } : {}), seq: 9, logSeq: 9, findings: [] },
  log: { state: "intact", summary: "intact", lastSeq: 9 },
  ...patch,
});

const failing = (f: GateFacts): string[] => judgeGate(f).checks.filter((c) => c.status === "fail").map((c) => c.id);

describe("judgeGate", () => {
  it("opens for a promoted epic with everything read and sound", () => {
    const v = judgeGate(facts(epic()));
    expect(v).toMatchObject({ open: true, exit: 0 });
    expect(v.checks.map((c) => c.id)).toEqual(["store", "log", "state", "epic", "vetoes"]);
  });

  it("stays closed for in progress, escalated, cancelled; 3 only for an unknown epic with all else sound", () => {
    expect(judgeGate(facts(epic({ status: "in_progress", stage: "review" })))).toMatchObject({ open: false, exit: 1 });
    const esc = judgeGate(facts(epic({ status: "escalated", stage: "deployment", escalation: { reason: "max_iterations" } as Epic["escalation"] })));
    expect(esc).toMatchObject({ open: false, exit: 1 });
    expect(esc.checks.find((c) => c.id === "epic")!.found).toMatch(/escalated \(max_iterations\)/);
    expect(judgeGate(facts(epic({ status: "cancelled" })))).toMatchObject({ open: false, exit: 1 });
    expect(judgeGate(facts(undefined))).toMatchObject({ open: false, exit: 3 });
    expect(judgeGate(facts(undefined, { log: { state: "broken", summary: "broken", fix: "f", lastSeq: 3 } }))).toMatchObject({ exit: 1 });
  });

  it("a blocking veto keeps it closed even when the state says promoted; a non-blocking one does not", () => {
    const v = { from: "devops", subject: "x", iteration: 1, blocking: true } as Epic["open_vetoes"][number];
    expect(failing(facts(epic({ open_vetoes: [v] })))).toEqual(["vetoes"]);
    expect(judgeGate(facts(epic({ open_vetoes: [{ ...v, blocking: false }] }))).open).toBe(true);
  });

  it("never opens on what could not be read or does not agree", () => {
    expect(failing(facts(epic(), { store: { answered: false, reason: "down", fix: "f" } }))).toEqual(["store", "state", "epic", "vetoes"]);
    expect(failing(facts(epic(), { log: { state: "unreadable", summary: "EACCES", fix: "f", lastSeq: 0 } }))).toEqual(["log", "state"]);
    expect(failing(facts(epic(), { log: { state: "empty", summary: "none", lastSeq: 0 } }))).toEqual(["log", "state"]);
    const doubt = facts(epic(), { store: { answered: true, epic: epic(), logEpic: epic(), seq: 9, logSeq: 9, findings: [{ decision: "log_torn_line", details: { reason: "cut short" } }] } });
    expect(failing(doubt)).toEqual(["store"]);
    expect(failing(facts(epic(), { store: { answered: true, epic: epic(), logEpic: epic({ status: "in_progress", stage: "plan" }), seq: 9, logSeq: 9, findings: [] } }))).toEqual(["state"]);
    expect(failing(facts(epic(), { log: { state: "intact", summary: "intact", lastSeq: 8 } }))).toEqual(["state"]);
  });

  it("--require STAGE: at or past the stage opens, before it does not", () => {
    const require = { kind: "stage" as const, stage: "review", order: ["plan", "implementation", "review", "deployment"] };
    expect(judgeGate(facts(epic({ status: "in_progress", stage: "deployment" }), { require })).open).toBe(true);
    expect(judgeGate(facts(epic({ status: "in_progress", stage: "review" }), { require })).open).toBe(true);
    expect(judgeGate(facts(epic({ status: "in_progress", stage: "implementation" }), { require })).open).toBe(false);
    expect(judgeGate(facts(epic(), { require })).open).toBe(true);
  });
  it("the committed copy (CI): MACs not checked is a warning that leaves it open, a failure under --require-mac", () => {
    const copy = { state: "intact", summary: "intact: the committed readable copy; MACs NOT checked", lastSeq: 9, source: "copy", macChecked: false } as const;
    const v = judgeGate(facts(epic(), { log: copy }));
    expect(v).toMatchObject({ open: true, exit: 0 });
    expect(v.checks.find((c) => c.id === "log")).toMatchObject({ status: "warn", fix: expect.stringMatching(/CONSENSUS_KEY_FILE/) });
    expect(failing(facts(epic(), { log: copy, requireMac: true }))).toEqual(["log"]);
    expect(judgeGate(facts(epic(), { log: { ...copy, macChecked: true }, requireMac: true }))).toMatchObject({ open: true, checks: expect.arrayContaining([expect.objectContaining({ id: "log", status: "pass" })]) });
    // a warning does not turn an unknown epic's answer into another one, nor open a closed gate
    expect(judgeGate(facts(undefined, { log: copy }))).toMatchObject({ open: false, exit: 3 });
    expect(judgeGate(facts(epic({ status: "in_progress", stage: "review" }), { log: copy }))).toMatchObject({ open: false, exit: 1 });
  });
});
