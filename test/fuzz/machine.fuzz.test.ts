/**
 * Property-based tests (fast-check) over decide() and the epic machine, through the pure harness of
 * test/support/pipeline.ts: random sequences of starts, artifacts (for the current, an older or a
 * later iteration; per-epic or flat; broken or not), messages (approve / veto / info from any role to
 * any inbox, blocking or not, replayed ids), overrides with any --to, and cancels.
 *
 * After every step: decide() did not throw and is deterministic, and no state the rules forbid was
 * reached — promoted with an open blocking veto, an iteration going down, anything accepted for an
 * epic after it was cancelled or promoted, a terminal status left, an epic in progress beyond
 * max_iterations, an epic state the state schema rejects, a rejection without a fix.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { approvalsMet, defaultPipeline, type Pipeline } from "../../src/config/pipeline.js";
import { issue } from "../../src/errors/issue.js";
import { decide, type Input } from "../../src/machine/decide.js";
import { validateKind } from "../../src/schemas/registry.js";
import type { Epic, LogEntry } from "../../src/schemas/types.gen.js";
import { Harness, pipeline as defaultPipe, sha, variant } from "../support/pipeline.js";

/** The default pipeline plus approvers (a quorum at deployment, one approver at plan) and a lower cap. */
const approverPipe: Pipeline = defaultPipeline(
  variant(
    "    vetoes: [devops, quality]\n",
    "    vetoes: [devops, quality]\n    approvers: {roles: [quality, devops, developer], quorum: majority}\n",
    variant("    artifacts: [plan.json]\n", "    artifacts: [plan.json]\n    approvers: {roles: [developer]}\n", variant("max_iterations: 3", "max_iterations: 2")),
  ),
);

/** FUZZ_RUNS=5000 npx vitest run test/fuzz for a longer hunt. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const EPICS = ["EP-1", "EP-2"];
const ROLES = ["planner", "developer", "quality", "devops", "orchestrator", "ghost"];
const ARTIFACTS = ["plan.json", "implementation.json", "review.json", "deployment.json", "cicd.yaml", "runbook.md", "notes.json"];
const SUBJECTS = ["missing_tests", "no_rollback", "not_production_ready", "veto"];
const TARGETS = [undefined, "plan", "implementation", "review", "deployment", "promoted", "escalated", "cancelled", "nowhere"];

type Action =
  | { t: "start"; epic: string }
  | { t: "artifact"; epic: string; name: string; delta: number; folder: boolean; status: string; findings: boolean; stale: boolean; broken: boolean; other: string | undefined }
  | { t: "message"; epic: string; from: string; to: string; inbox: string | undefined; type: "approve" | "veto" | "info" | "request" | "response"; subject: string | undefined; blocking: boolean; delta: number | undefined; id: string | undefined; broken: boolean }
  | { t: "override"; epic: string; to: string | undefined; reason: string; by: string }
  | { t: "cancel"; epic: string; reason: string; by: string }
  /** Whatever the epic's current stage needs: its artifacts, for the current iteration. */
  | { t: "advance"; epic: string; status: string }
  /** A veto or an approval from a role the current stage lists (vetoes, approvers), else from anyone. */
  | { t: "stage_role"; epic: string; type: "veto" | "approve"; pick: number; subject: string; blocking: boolean };

const epicArb = fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...EPICS) }, { weight: 1, arbitrary: fc.constantFrom("EP-9", "../EP-1", "EP\u001b", "") });
const roleArb = fc.constantFrom(...ROLES);
const deltaArb = fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1, 5) });

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ t: fc.constant("start" as const), epic: epicArb }) },
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant("artifact" as const),
      epic: epicArb,
      name: fc.constantFrom(...ARTIFACTS),
      delta: deltaArb,
      folder: fc.boolean(),
      status: fc.constantFrom("approved", "approved", "changes_required", "blocked"),
      findings: fc.boolean(),
      stale: fc.boolean(),
      broken: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      other: fc.option(fc.constantFrom(...EPICS), { nil: undefined, freq: 8 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant("message" as const),
      epic: epicArb,
      from: roleArb,
      to: roleArb,
      inbox: fc.option(roleArb, { nil: undefined, freq: 1 }),
      type: fc.constantFrom("approve" as const, "veto" as const, "veto" as const, "info" as const, "request" as const, "response" as const),
      subject: fc.option(fc.constantFrom(...SUBJECTS), { nil: undefined, freq: 6 }),
      blocking: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      delta: fc.option(deltaArb, { nil: undefined, freq: 6 }),
      id: fc.option(fc.constantFrom("m-1", "m-2", "m-3"), { nil: undefined, freq: 2 }),
      broken: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
  },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("advance" as const), epic: fc.constantFrom(...EPICS), status: fc.constantFrom("approved", "approved", "approved", "changes_required", "blocked") }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("stage_role" as const),
      epic: fc.constantFrom(...EPICS),
      type: fc.constantFrom("veto" as const, "approve" as const),
      pick: fc.nat(),
      subject: fc.constantFrom(...SUBJECTS),
      blocking: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("override" as const), epic: epicArb, to: fc.constantFrom(...TARGETS), reason: fc.constantFrom("checked by hand", "checked by hand", "", "  "), by: fc.constantFrom("alice", "bob") }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("cancel" as const), epic: epicArb, reason: fc.constantFrom("obsolete", ""), by: fc.constantFrom("alice", "bob") }) },
);

/**
 * A sequence that opens with a start for each epic most of the time, so the machine is reached, then
 * random actions; a quarter of the time, a "happy path" is woven in so promotions happen too.
 */
const happy = (epic: string): Action[] =>
  ["plan.json", "implementation.json", "review.json", "deployment.json", "cicd.yaml", "runbook.md"].map((name) => ({ t: "artifact" as const, epic, name, delta: 0, folder: true, status: "approved", findings: false, stale: false, broken: false, other: undefined }));
const sequenceArb = fc
  .tuple(fc.subarray(EPICS, { minLength: 1 }), fc.array(actionArb, { maxLength: 40, size: "max" }), fc.option(fc.tuple(fc.constantFrom(...EPICS), fc.nat()), { nil: undefined, freq: 2 }))
  .map(([started, rest, weave]) => {
    const actions: Action[] = [...started.map((epic) => ({ t: "start" as const, epic })), ...rest];
    if (weave) actions.splice(started.length + (weave[1] % (rest.length + 1)), 0, ...happy(weave[0]));
    return actions;
  });

let counter = 0;
/** The inputs an action stands for, against the harness's current view. */
function toInputs(h: Harness, a: Action): Input[] {
  const epic = h.view.epics.get(a.epic);
  const stage = epic ? h.p.stage(epic.stage) : undefined;
  if (a.t === "advance") {
    if (!stage) return [toInput(h, { t: "artifact", epic: a.epic, name: "plan.json", delta: 0, folder: true, status: a.status, findings: false, stale: false, broken: false, other: undefined })];
    return stage.artifacts.map((name) => toInput(h, { t: "artifact", epic: a.epic, name, delta: 0, folder: true, status: a.status, findings: a.status !== "approved", stale: false, broken: false, other: undefined }));
  }
  if (a.t === "stage_role") {
    const pool = (a.type === "veto" ? stage?.vetoes : stage?.approvers) ?? [];
    const from = pool.length ? pool[a.pick % pool.length]! : ROLES[a.pick % 4]!;
    const to = h.p.roles.find((r) => r !== from)!;
    return [toInput(h, { t: "message", epic: a.epic, from, to, inbox: undefined, type: a.type, subject: a.subject, blocking: a.blocking, delta: 0, id: undefined, broken: false })];
  }
  return [toInput(h, a)];
}

function toInput(h: Harness, a: Exclude<Action, { t: "advance" | "stage_role" }>): Input {
  const epic = h.view.epics.get(a.epic);
  const iteration = Math.max(1, (epic?.iteration ?? 1) + ("delta" in a && a.delta !== undefined ? a.delta : 0));
  switch (a.t) {
    case "start":
      return { type: "start", epic_id: a.epic, title: `Epic ${a.epic}`, by: "alice" };
    case "override":
      return { type: "override", epic_id: a.epic, reason: a.reason, by: a.by, ...(a.to !== undefined ? { to: a.to } : {}) };
    case "cancel":
      return { type: "cancel", epic_id: a.epic, reason: a.reason, by: a.by };
    case "artifact": {
      const json = a.name.endsWith(".json");
      const docEpic = a.other ?? a.epic;
      const doc: Record<string, unknown> | undefined = json ? { epic_id: docEpic, iteration, timestamp: "2026-11-21T10:00:00Z" } : undefined;
      if (doc && a.name === "review.json") Object.assign(doc, { review_status: a.status, findings: a.findings ? [{ severity: "critical", description: "SQL injection in /health" }] : [] });
      return {
        type: "artifact",
        file: a.folder ? `artifacts/${a.epic}/${a.name}` : `artifacts/${a.name}`,
        name: a.name,
        ...(a.folder ? { folder: a.epic } : {}),
        sha256: sha(`artifact ${counter++}`),
        ...(a.broken ? {} : doc ? { doc } : {}),
        issues: a.broken ? [issue("FILE_BOM"), issue("JSON_SYNTAX", { found: "Unexpected end of JSON input" })] : [],
        mtime: a.stale ? "2000-01-01T00:00:00.000Z" : "2099-01-01T00:00:00.000Z",
      };
    }
    case "message": {
      const doc = {
        ...(a.id ? { id: a.id } : {}),
        from: a.from,
        to: a.to,
        timestamp: "2026-11-21T10:00:00Z",
        epic_id: a.epic,
        ...(a.delta !== undefined ? { iteration } : {}),
        type: a.type,
        ...(a.subject ? { subject: a.subject } : {}),
        content: { violation: "Missing requirement", specifics: `${a.subject ?? "it"} is not met`, blocking: a.blocking },
      };
      return {
        type: "message",
        file: `messages/inbox/${a.inbox ?? a.to}/m-${counter}.yaml`,
        inbox: a.inbox ?? a.to,
        sha256: sha(`message ${counter++}`),
        ...(a.broken ? {} : { doc: doc as never }),
        issues: a.broken ? [issue("FILE_BOM"), issue("YAML_SYNTAX", { found: "bad indentation" })] : [],
      };
    }
  }
}

const ACCEPTING = new Set(["artifact_accepted", "message_accepted", "stage_advanced", "veto_recorded", "veto_resolved", "approval_recorded", "promotion_blocked", "promoted", "escalated", "overridden"]);

const stateOk = (id: string, state: Epic): unknown[] => validateKind("state", { version: 1, seq: 1, hash: "x", epics: { [id]: state } });

/** Runs one sequence and checks every invariant after every step. */
function play(p: Pipeline, actions: Action[]): void {
  const h = new Harness(p);
  const maxIter = new Map<string, number>();
  const closed = new Map<string, "cancelled" | "promoted">();
  for (const [step, a] of actions.entries()) {
   for (const input of toInputs(h, a)) {
    const where = `step ${step} ${JSON.stringify(a)} → ${JSON.stringify(input).slice(0, 300)}`;
    // decide() is pure: the same world, input and time give the same decision, and it never throws
    const first = decide(h.world, input, "2026-11-21T12:00:00.000Z");
    expect(decide(h.world, input, "2026-11-21T12:00:00.000Z"), where).toEqual(first);
    const before = h.log.length;
    const epicsBefore = new Map([...h.view.epics].map(([id, e]) => [id, structuredClone(e)]));
    // the approvals each epic holds as this input's entries go by (a stage entered starts with none)
    const approvals = new Map([...epicsBefore].map(([id, e]) => [id, [...e.approvals]]));
    const d = h.apply(input);
    if (d.kind === "commit") expect(d.drafts.length, where).toBeGreaterThan(0);
    if (d.kind === "refuse") {
      expect(input.type === "start" || input.type === "override" || input.type === "cancel", where).toBe(true);
      for (const i of d.issues) expect(i.fix.length, where).toBeGreaterThan(0);
    }
    for (const e of h.log.slice(before) as LogEntry[]) {
      const id = e.epic_id;
      if (id !== undefined && closed.has(id) && ACCEPTING.has(e.decision)) {
        throw new Error(`${where}: ${e.decision} for ${id} after it was ${closed.get(id)}`);
      }
      if (e.decision === "cancelled" && id) closed.set(id, "cancelled");
      if (e.decision === "promoted" && id) closed.set(id, "promoted");
      if (e.decision.endsWith("_rejected")) {
        const errors = (e.details as { errors?: Array<{ fix?: string; code?: string }> }).errors ?? [];
        expect(errors.length, `${where}: a rejection without an error`).toBeGreaterThan(0);
        for (const err of errors) expect(err.fix?.trim().length, `${where}: ${err.code} without a fix`).toBeGreaterThan(0);
        // each of the input's warnings once (the broken inputs carry a FILE_BOM warning next to their error)
        const warnings = ((e.details as { warnings?: unknown[] }).warnings ?? []).map((w) => JSON.stringify(w));
        expect(warnings, `${where}: a warning repeated`).toEqual([...new Set(warnings)]);
      }
      if (id !== undefined && e.decision === "approval_recorded") approvals.set(id, [...(approvals.get(id) ?? []), (e.details as { role: string }).role]);
      // a stage is left forward (not by a veto's rework or an override, which say why) only once its approvals are met
      const completed =
        id !== undefined &&
        ((e.decision === "stage_advanced" && (e.details as { reason?: string }).reason === undefined) || (e.decision === "promoted" && input.type !== "override"));
      if (completed) {
        const from = e.decision === "promoted" ? epicsBefore.get(id)?.stage : (e.details as { from: string }).from;
        const stage = from === undefined ? undefined : p.stage(from);
        expect(stage, `${where}: ${e.decision} from an unknown stage ${from}`).toBeDefined();
        expect(approvalsMet(stage!, approvals.get(id) ?? []), `${where}: left ${from} with approvals ${JSON.stringify(approvals.get(id))} of ${JSON.stringify(stage!.approvers)}`).toBe(true);
      }
      if (id !== undefined && e.decision === "stage_advanced") approvals.set(id, []);
      if (e.decision === "veto_recorded") {
        const v = e.details as { from: string; stage: string };
        expect(p.stage(v.stage)?.vetoes, `${where}: ${v.from} may not veto ${v.stage}`).toContain(v.from);
      }
      if (e.decision === "message_accepted" && input.type === "message") {
        const m = e.details as { from: string; to: string };
        expect(m.to, `${where}: accepted from the wrong inbox`).toBe(input.inbox);
        expect(m.from, `${where}: accepted from a role to itself`).not.toBe(m.to);
        expect(p.isRole(m.from) && p.isRole(m.to), `${where}: accepted from or to an unknown role`).toBe(true);
      }
      if (e.state) {
        expect(e.state.epic_id, where).toBe(id);
        expect(stateOk(e.state.epic_id, e.state), `${where}: state schema`).toEqual([]);
      }
      if (e.iteration !== undefined && id !== undefined) expect(e.iteration, `${where}: ${e.decision} iteration`).toBeGreaterThanOrEqual(maxIter.get(id) ?? 1);
    }
    for (const [id, epic] of h.view.epics) {
      const rule = `${where}: epic ${id} ${JSON.stringify({ status: epic.status, stage: epic.stage, iteration: epic.iteration, base: epic.iteration_base, open_vetoes: epic.open_vetoes })}`;
      if (epic.status === "promoted") expect(epic.open_vetoes.filter((v) => v.blocking), `${rule}: promoted with an open blocking veto`).toEqual([]);
      expect(epic.iteration, `${rule}: iteration went down`).toBeGreaterThanOrEqual(maxIter.get(id) ?? 1);
      maxIter.set(id, epic.iteration);
      if (closed.has(id)) expect(epic.status, `${rule}: left a terminal status`).toBe(closed.get(id));
      if (epic.status === "in_progress") {
        expect(p.stage(epic.stage), `${rule}: unknown stage`).toBeDefined();
        expect(epic.iteration - epic.iteration_base, `${rule}: beyond max_iterations`).toBeLessThanOrEqual(p.maxIterations);
      }
      if (epic.status === "promoted") expect(epic.stage).toBe("promoted");
      for (const v of epic.open_vetoes) expect(v.iteration, `${rule}: a veto from the future`).toBeLessThanOrEqual(epic.iteration);
    }
   }
  }
}

describe("the machine under random sequences of inputs", () => {
  it("the default pipeline: no forbidden state is ever reached", () => {
    fc.assert(
      fc.property(sequenceArb, (actions) => play(defaultPipe, actions)),
      // found by seed 1130196801: a stale copy of a recorded veto was logged with the veto's old iteration
      { numRuns: RUNS, examples: [[[{ t: "start", epic: "EP-2" }, { t: "artifact", epic: "EP-1", name: "plan.json", delta: 0, folder: false, status: "approved", findings: false, stale: false, broken: false, other: "EP-2" }, { t: "artifact", epic: "EP-2", name: "implementation.json", delta: 0, folder: false, status: "approved", findings: false, stale: false, broken: false, other: undefined }, { t: "advance", epic: "EP-2", status: "blocked" }, { t: "artifact", epic: "EP-1", name: "review.json", delta: -1, folder: false, status: "blocked", findings: true, stale: false, broken: false, other: "EP-2" }] as never]] },
    );
  });

  it("a pipeline with approvers and max_iterations 2: no forbidden state is ever reached", () => {
    fc.assert(
      fc.property(sequenceArb, (actions) => play(approverPipe, actions)),
      { numRuns: RUNS },
    );
  });

  /** The decisions a seeded run of the generators reaches on `p`. */
  const reached = (p: Pipeline): string[] => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(sequenceArb, (actions) => {
        const h = new Harness(p);
        for (const a of actions) for (const input of toInputs(h, a)) h.apply(input);
        for (const e of h.log) {
          seen.add(e.decision);
          // a stage with approvers completed (what play()'s approval check is about)
          const from = (e.details as { from?: string; reason?: string }).from;
          if (e.decision === "stage_advanced" && !(e.details as { reason?: string }).reason && from && p.stage(from)?.approvers.length) seen.add(`left ${from} with approvals`);
        }
      }),
      { numRuns: 200, seed: 42 },
    );
    return [...seen];
  };
  const INTERESTING = ["promoted", "escalated", "cancelled", "overridden", "veto_recorded", "veto_resolved", "stage_advanced", "artifact_rejected", "message_rejected"];

  it("the generators reach the interesting places (promoted, escalated, cancelled, overridden, rework)", () => {
    const seen = reached(defaultPipe);
    for (const d of INTERESTING) expect(seen, d).toContain(d);
  });

  it("… on the approver pipeline too, where approvals are recorded (so the approval check above is exercised)", () => {
    const seen = reached(approverPipe);
    // (with approvals the woven happy path stalls at plan, so promotions and overrides are the default pipeline's to reach)
    for (const d of ["approval_recorded", "left plan with approvals", "stage_advanced", "escalated", "cancelled", "veto_recorded", "veto_resolved", "artifact_rejected", "message_rejected"]) expect(seen, d).toContain(d);
  });
});
