/**
 * The epic's statechart, built from the pipeline config: one state per stage, then the terminal
 * `promoted` and `cancelled`, and `escalated` where a person decides. xstate v5, used purely: the
 * daemon computes `transition(machine, snapshot, event)` and gets the next snapshot plus the `note`
 * actions (the decisions) without running anything. Context updates live in epic-context.ts.
 */
import { assign, createActor, setup, type MachineSnapshot } from "xstate";
import type { Pipeline, StageDef } from "../config/pipeline.js";
import type { Epic } from "../schemas/types.gen.js";
import {
  withEscalation,
  deadlineDue,
  deadlineFrom,
  overBudget,
  alternating,
  circularWith,
  vetoRoles,
  enteredStage,
  nonOverridableOpen,
  mayAdvance,
  resolvableBy,
  stageComplete,
  vetoKey,
  withApproval,
  withArtifact,
  withVeto,
  withSeenVeto,
} from "./epic-context.js";
import type { MachineEvent, Note } from "./events.js";

export interface MachineInput {
  epic: Epic;
}

type Ctx = Epic;
type Ev = MachineEvent;
type Of<T extends Ev["type"]> = Extract<Ev, { type: T }>;

export function buildEpicMachine(pipeline: Pipeline) {
  const stageOf = (ctx: Ctx): StageDef => pipeline.stage(ctx.stage)!;
  const nextOf = (s: StageDef): string => pipeline.stages[s.index + 1]?.id ?? "promoted";
  const afterArtifact = (ctx: Ctx, e: Of<"ARTIFACT">): Ctx => withArtifact(ctx, e.file, e.sha256, e.role, e.now, e.spend);
  const afterApproval = (ctx: Ctx, e: Of<"APPROVE">): Ctx => withApproval(ctx, e.role, e.now);
  const overIterations = (ctx: Ctx): boolean => ctx.iteration + 1 - ctx.iteration_base > pipeline.maxIterations;

  const m = setup({
    types: {
      context: {} as Ctx,
      events: {} as Ev,
      input: {} as MachineInput,
    },
    actions: {
      /** A decision for the log. Never executed: the daemon reads these from transition()'s result. */
      note: (_: unknown, _params: Note) => {},
    },
    guards: {
      artifactOverBudget: ({ context, event }) => event.type === "ARTIFACT" && overBudget(afterArtifact(context, event).spend, pipeline.budget).length > 0,
      deadlineSecond: ({ context, event }) => event.type === "DEADLINE" && deadlineDue(context, event.now) && context.deadline!.reminded,
      deadlineFirst: ({ context, event }) => event.type === "DEADLINE" && deadlineDue(context, event.now) && !context.deadline!.reminded,
      artifactAdvances: ({ context, event }) =>
        event.type === "ARTIFACT" && !event.verdict && mayAdvance(afterArtifact(context, event), stageOf(context), pipeline),
      approvalAdvances: ({ context, event }) =>
        event.type === "APPROVE" && mayAdvance(afterApproval(context, event), stageOf(context), pipeline),
      vetoNonBlocking: ({ event }) => event.type === "VETO" && !event.blocking,
      vetoRepeats: ({ context, event }) => event.type === "VETO" && context.veto_history.includes(vetoKey(event.role, event.subject, event.same)),
      vetoCircular: ({ context, event }) => event.type === "VETO" && circularWith(context, event.role) !== undefined,
      vetoLate: ({ event }) => event.type === "VETO" && event.late !== undefined,
      lateVetoTo: ({ context, event }, p: { stage: string }) =>
        event.type === "VETO" && event.late !== undefined && pipeline.vetoRoute(event.role, event.late.stage) === p.stage && pipeline.stage(p.stage)!.index < stageOf(context).index,
      vetoExceedsMax: ({ context }) => overIterations(context),
      vetoFrom: ({ event }, p: { role: string }) => event.type === "VETO" && event.role === p.role,
      overrideTo: ({ event }, p: { stage: string }) => event.type === "OVERRIDE" && event.to === p.stage,
    },
  });

  const acceptArtifact = [
    {
      type: "note" as const,
      params: ({ context, event }: { context: Ctx; event: Ev }): Note => {
        const e = event as Of<"ARTIFACT">;
        return { decision: "artifact_accepted", details: { file: e.file, sha256: e.sha256, stage: context.stage, ...(e.spend ? { spend: e.spend } : {}) } };
      },
    },
    ...resolveNotes("ARTIFACT"),
    assign(({ context, event }: { context: Ctx; event: Ev }) => afterArtifact(context, event as Of<"ARTIFACT">)),
    ...blockedNote(),
  ];
  const acceptApproval = [
    {
      type: "note" as const,
      params: ({ context, event }: { context: Ctx; event: Ev }): Note => {
        const e = event as Of<"APPROVE">;
        return { decision: "approval_recorded", details: { role: e.role, stage: context.stage, ...(e.subject ? { subject: e.subject } : {}) } };
      },
    },
    ...resolveNotes("APPROVE"),
    assign(({ context, event }: { context: Ctx; event: Ev }) => afterApproval(context, event as Of<"APPROVE">)),
    ...blockedNote(),
  ];
  function resolveNotes(_t: "ARTIFACT" | "APPROVE") {
    return [
      {
        type: "note" as const,
        params: ({ context, event }: { context: Ctx; event: Ev }): Note => {
          const role = (event as Of<"APPROVE">).role;
          const vetoes = resolvableBy(context, role);
          return { decision: vetoes.length ? "veto_resolved" : "", details: { by: role, vetoes: vetoes.map((v) => ({ from: v.from, subject: v.subject, iteration: v.iteration })) } };
        },
      },
    ];
  }
  /** The last stage is done but a blocking veto is open: say so, and wait for the vetoing role. */
  function blockedNote() {
    return [
      {
        type: "note" as const,
        params: ({ context }: { context: Ctx }): Note => {
          const s = stageOf(context);
          const blocked = s.index === pipeline.stages.length - 1 && stageComplete(context, s) && context.open_vetoes.some((v) => v.blocking);
          return {
            decision: blocked ? "promotion_blocked" : "",
            details: { open_vetoes: context.open_vetoes.filter((v) => v.blocking).map((v) => ({ from: v.from, subject: v.subject, iteration: v.iteration })) },
          };
        },
      },
    ];
  }
  const openVeto = [
    {
      type: "note" as const,
      params: ({ context, event }: { context: Ctx; event: Ev }): Note => {
        const e = event as Of<"VETO">;
        return {
          decision: "veto_recorded",
          details: { from: e.role, subject: e.subject, blocking: e.blocking, stage: e.late?.stage ?? context.stage, ...(e.late ? { of_iteration: e.late.iteration } : {}), ...(e.violation ? { violation: e.violation } : {}), ...(e.detail ?? {}) },
        };
      },
    },
  ];
  /** A non-blocking veto is only logged, and remembered by what it says (a copy of it is then recognised). */
  const noteVeto = [...openVeto, assign(({ context, event }: { context: Ctx; event: Ev }) => withSeenVeto(context, (event as Of<"VETO">).seen))];
  /** A role that approved this iteration and now vetoes: the veto wins and the approval is withdrawn. */
  const withdrawnApproval = {
    type: "note" as const,
    params: ({ context, event }: { context: Ctx; event: Ev }): Note => {
      const e = event as Of<"VETO">;
      const clash = !e.late && context.approvals.includes(e.role);
      return { decision: clash ? "conflict_resolved" : "", details: { conflict: "veto_after_approval", role: e.role, rule: "a role's veto withdraws its own approval of the same iteration; the veto stands" } };
    },
  };
  const recordVeto = [
    ...openVeto,
    withdrawnApproval,
    assign(({ context, event }: { context: Ctx; event: Ev }) => {
      const e = event as Of<"VETO">;
      const iteration = e.late?.iteration ?? context.iteration;
      const stage = e.late?.stage ?? context.stage;
      const veto = { from: e.role, subject: e.subject, iteration, stage, blocking: true, ...(e.violation ? { violation: e.violation } : {}), ...(e.detail ?? {}) };
      return withVeto({ ...context, approvals: context.approvals.filter((r) => r !== e.role) }, veto, e.now, e.same, e.seen);
    }),
  ];
  /** Two blocking vetoes of one iteration with different routes: the earliest stage wins, one rework. */
  const lateVetoNote = (moved: boolean) => ({
    type: "note" as const,
    params: ({ context, event }: { context: Ctx; event: Ev }): Note => {
      const e = event as Of<"VETO">;
      const earlier = context.open_vetoes.filter((v) => v.blocking && v.iteration === e.late!.iteration && !(v.from === e.role && v.subject === e.subject)).map((v) => ({ from: v.from, subject: v.subject, to: pipeline.vetoRoute(v.from, v.stage) }));
      const to = pipeline.vetoRoute(e.role, e.late!.stage);
      return {
        decision: "conflict_resolved",
        details: {
          conflict: "vetoes_with_different_routes",
          rule: "the earliest stage wins; every veto stays open; one rework (no second iteration)",
          vetoes: [...earlier, { from: e.role, subject: e.subject, to }],
          chosen: moved ? to : context.stage,
        },
      };
    },
  });
  type Fn<T> = (c: Ctx, e: Ev) => T;
  const escalate = (reason: string | Fn<string>, detail: Fn<string>, data?: Fn<Record<string, unknown>>) => {
    const why: Fn<string> = typeof reason === "string" ? () => reason : reason;
    return [
      {
        type: "note" as const,
        params: ({ context, event }: { context: Ctx; event: Ev }): Note => ({ decision: "escalated", details: { reason: why(context, event), stage: context.stage, detail: detail(context, event), ...(data ? data(context, event) : {}) } }),
      },
      assign(({ context, event }: { context: Ctx; event: Ev }) => withEscalation(context, why(context, event), detail(context, event), event.now)),
    ];
  };
  /** ESCALATE from outside the rules (a removed stage, the runner): reason and detail come on the event. */
  const escalateEvent = escalate(
    (_c, e) => (e as Of<"ESCALATE">).reason,
    (_c, e) => (e as Of<"ESCALATE">).detail,
    (_c, e) => (e as Of<"ESCALATE">).data ?? {},
  );
  const remind = [
    {
      type: "note" as const,
      params: ({ context, event }: { context: Ctx; event: Ev }): Note => {
        const s = stageOf(context);
        return { decision: "deadline_reminder", details: { stage: s.id, owner: s.owner, deadline_at: context.deadline!.at, next_deadline_at: deadlineFrom(event.now, s.deadlineMs ?? 0).at, entered_at: context.stage_entered_at } };
      },
    },
    assign(({ context, event }: { context: Ctx; event: Ev }) => ({ ...context, deadline: { at: deadlineFrom(event.now, stageOf(context).deadlineMs ?? 0).at, reminded: true }, updated_at: event.now })),
  ];
  const cancel = [
    {
      type: "note" as const,
      params: ({ context, event }: { context: Ctx; event: Ev }): Note => {
        const e = event as Of<"CANCEL">;
        return { decision: "cancelled", details: { by: e.by, reason: e.reason, stage: context.stage } };
      },
    },
    assign(({ context, event }: { context: Ctx; event: Ev }) => ({ ...context, status: "cancelled" as const, updated_at: event.now })),
  ];
  const enter = (stage: string) => [
    {
      type: "note" as const,
      params: ({ context, event }: { context: Ctx; event: Ev }): Note => ({
        decision: "stage_advanced",
        iteration: context.iteration,
        details: {
          from: context.stage,
          to: stage,
          ...(event.type === "VETO" ? { reason: `veto by ${event.role}: ${event.subject}`, veto: { from: event.role, subject: event.subject } } : {}),
          ...(event.type === "OVERRIDE" ? { reason: `override by ${event.by}: ${event.reason}`, override: { by: event.by, reason: event.reason } } : {}),
        },
      }),
    },
    assign(({ context, event }: { context: Ctx; event: Ev }) => enteredStage(context, stage, event.now, pipeline.stage(stage)?.deadlineMs)),
  ];
  const nextIteration = assign(({ context }: { context: Ctx }) => ({ ...context, iteration: context.iteration + 1 }));

  const states: Record<string, object> = {};
  for (const s of pipeline.stages) {
    const next = nextOf(s);
    states[s.id] = {
      on: {
        ARTIFACT: [
          {
            guard: "artifactOverBudget",
            target: "escalated",
            actions: [
              ...acceptArtifact,
              ...escalate(
                "budget_exceeded",
                (c) => `spent $${c.spend?.cost_usd ?? 0} and ${c.spend?.tokens ?? 0} tokens; budget ${[pipeline.budget.cost_usd !== undefined ? `$${pipeline.budget.cost_usd}` : "", pipeline.budget.tokens !== undefined ? `${pipeline.budget.tokens} tokens` : ""].filter(Boolean).join(" and ")}`,
                (c) => ({ spend: c.spend, budget: { ...pipeline.budget }, over: overBudget(c.spend, pipeline.budget) }),
              ),
            ],
          },
          { guard: "artifactAdvances", target: next, actions: [...acceptArtifact, ...(next === "promoted" ? [] : enter(next))] },
          { actions: acceptArtifact },
        ],
        APPROVE: [
          { guard: "approvalAdvances", target: next, actions: [...acceptApproval, ...(next === "promoted" ? [] : enter(next))] },
          { actions: acceptApproval },
        ],
        VETO: [
          ...pipeline.stages
            .filter((t) => t.index < s.index)
            .map((t) => ({ guard: { type: "lateVetoTo", params: { stage: t.id } }, target: t.id, reenter: true, actions: [...recordVeto, lateVetoNote(true), ...enter(t.id)] })),
          { guard: "vetoLate", actions: [...recordVeto, lateVetoNote(false)] },
          ...(s.vetoes.length === 0 ? [] : vetoTransitions(s)),
        ],
        ESCALATE: { target: "escalated", actions: escalateEvent },
        DEADLINE: [
          { guard: "deadlineSecond", target: "escalated", actions: escalate("deadline_missed", (c) => `stage ${c.stage} deadline passed again after a reminder (entered ${c.stage_entered_at}, due ${c.deadline!.at})`, (c) => ({ entered_at: c.stage_entered_at, deadline_at: c.deadline!.at })) },
          { guard: "deadlineFirst", actions: remind },
        ],
        CANCEL: { target: "cancelled", actions: cancel },
      },
    };
  }
  function vetoTransitions(s: StageDef) {
    return [
          { guard: "vetoNonBlocking", actions: noteVeto },
          {
            guard: "vetoRepeats",
            target: "escalated",
            actions: [...recordVeto, ...escalate("repeated_veto", (_c, e) => ((x: Of<"VETO">) => (x.same ? `${x.role} raised the same findings again (${x.subject}${x.detail?.specifics ? `: ${x.detail.specifics}` : ""})` : `${x.role} raised "${x.subject}" again`))(e as Of<"VETO">))],
          },
          {
            guard: "vetoCircular",
            target: "escalated",
            actions: [
              ...recordVeto,
              // (after recordVeto: the history already ends with this veto)
              ...escalate("circular_veto", (c) => `${(alternating(vetoRoles(c)) ?? []).join(" → ")} keep sending the epic back to each other`, (c) => ({ roles: alternating(vetoRoles(c)) ?? [] })),
            ],
          },
          { guard: "vetoExceedsMax", target: "escalated", actions: [...recordVeto, ...escalate("max_iterations", (c) => `rework would start iteration ${c.iteration + 1}, above max_iterations ${pipeline.maxIterations}`)] },
          ...s.vetoes.map((role) => {
            const to = pipeline.vetoRoute(role, s.id);
            return { guard: { type: "vetoFrom", params: { role } }, target: to, reenter: true, actions: [...recordVeto, nextIteration, ...enter(to)] };
          }),
    ];
  }
  const overrideAccept = [
    {
      type: "note" as const,
      params: ({ context, event }: { context: Ctx; event: Ev }): Note => {
        const e = event as Of<"OVERRIDE">;
        const kept = new Set(nonOverridableOpen(context, pipeline));
        const slimV = (v: Ctx["open_vetoes"][number]) => ({ from: v.from, subject: v.subject, iteration: v.iteration });
        return {
          decision: "overridden",
          details: {
            by: e.by,
            reason: e.reason,
            to: e.to,
            from: context.stage,
            closed_vetoes: context.open_vetoes.filter((v) => !kept.has(v)).map(slimV),
            ...(kept.size ? { kept_open: [...kept].map(slimV), rule: "non-overridable vetoes stay open until the vetoing role approves in a later iteration" } : {}),
          },
        };
      },
    },
    assign(({ context, event }: { context: Ctx; event: Ev }) => {
      // (assign merges: escalation is removed by setting it undefined; see run() in decide.ts)
      const rest = { ...context, escalation: undefined as never };
      const kept = nonOverridableOpen(context, pipeline);
      // With a veto kept open, the override is a rework: a new iteration, in which the vetoing role
      // can answer (a veto is resolved by its role in a later iteration).
      const iteration = kept.length && (event as Of<"OVERRIDE">).to !== "promoted" ? context.iteration + 1 : context.iteration;
      return { ...rest, iteration, open_vetoes: kept, iteration_base: iteration - 1 };
    }),
  ];
  states.escalated = {
    on: {
      OVERRIDE: [
        ...pipeline.stages.map((s) => ({
          guard: { type: "overrideTo", params: { stage: s.id } },
          target: s.id,
          actions: [...overrideAccept, ...enter(s.id)],
        })),
        { guard: { type: "overrideTo", params: { stage: "promoted" } }, target: "promoted", actions: overrideAccept },
      ],
      CANCEL: { target: "cancelled", actions: cancel },
    },
  };
  states.promoted = {
    type: "final",
    entry: [
      { type: "note", params: ({ context }: { context: Ctx }): Note => ({ decision: "promoted", details: { iteration: context.iteration } }) },
      assign(({ context, event }: { context: Ctx; event: Ev }) => ({ ...context, stage: "promoted", status: "promoted" as const, updated_at: event.now })),
    ],
  };
  states.cancelled = { type: "final" };

  return m.createMachine({
    id: "epic",
    context: ({ input }) => input.epic,
    initial: pipeline.stages[0]!.id,
    // The generated states are checked by the tests and the graph; xstate's config types cannot follow
    // a record built in a loop.
    states: states as never,
  });
}

export type EpicMachine = ReturnType<typeof buildEpicMachine>;
export type EpicSnapshot = MachineSnapshot<Epic, MachineEvent, Record<string, never>, string, string, unknown, never, never>;

type Scope = Parameters<EpicMachine["transition"]>[2];
type Action = Parameters<Scope["actionExecutor"]>[0];
type Snap = ReturnType<EpicMachine["resolveState"]>;

/** One inert actor scope per machine (nothing in it runs: no children, no delays, actions only collected). */
const scopes = new WeakMap<EpicMachine, Scope>();

function scopeOf(machine: EpicMachine): Scope {
  let s = scopes.get(machine);
  if (!s) {
    // what xstate's transition() builds on every call: an actor that is never started, for its self
    // and system. Built once per machine: per call it was half of decide()'s CPU (issue 17.2).
    const self = createActor(machine, { input: { epic: undefined as never } });
    s = { self, defer: () => {}, id: "", logger: () => {}, sessionId: "", stopChild: () => {}, system: self.system, emit: () => {}, actionExecutor: () => {} } as unknown as Scope;
    scopes.set(machine, s);
  }
  return s;
}

/**
 * xstate's `transition(machine, snapshot, event)` without its per-call actor: the next snapshot and
 * the actions, none executed. The scope is shared, its action collector is this call's own.
 */
export function stepEpic(machine: EpicMachine, snapshot: Snap, event: MachineEvent): [Snap, Action[]] {
  const actions: Action[] = [];
  const next = machine.transition(snapshot, event, { ...scopeOf(machine), actionExecutor: (a: Action) => void actions.push(a) });
  return [next, actions];
}

/** The machine state value for an epic's stored state. */
export function stateValueOf(epic: Epic): string {
  if (epic.status === "in_progress") return epic.stage;
  return epic.status;
}
