import type { SeenVeto, Veto } from "../schemas/types.gen.js";

/** What a veto says beyond its subject and violation, kept on the open veto for the rework notice. */
export type VetoDetail = Pick<Veto, "specifics" | "impact" | "requirement" | "suggestion" | "action_needed" | "file" | "message_id">;

/** What the machine reacts to. Time comes in on the event (`now`), never from a clock. */
export type MachineEvent =
  | { type: "ARTIFACT"; file: string; sha256: string; role: string; now: string; verdict?: { subject: string; violation: string }; spend?: { cost_usd: number; tokens: number } }
  /** The clock passed a stage deadline (the daemon's sweep): remind the owner, then escalate. */
  | { type: "DEADLINE"; now: string }
  | { type: "APPROVE"; role: string; now: string; subject?: string }
  /**
   * late: a blocking veto for the iteration another role's veto just closed (two routes at once).
   * same: what makes it "the same veto" beyond role and subject (a review's findings: veto-identity.ts).
   * seen: the record by which a copy of it is recognised.
   */
  | { type: "VETO"; role: string; subject: string; blocking: boolean; violation?: string; now: string; late?: { iteration: number; stage: string }; same?: string; detail?: VetoDetail; seen?: SeenVeto }
  /** Something outside the rules' flow needs a person: a removed stage, an agent that keeps failing, a budget. */
  | { type: "ESCALATE"; reason: string; detail: string; now: string; data?: Record<string, unknown> }
  | { type: "OVERRIDE"; by: string; reason: string; to: string; now: string }
  | { type: "CANCEL"; by: string; reason: string; now: string };

/** A decision the machine made, before it becomes a numbered, hashed log entry. */
export interface Note {
  decision: string;
  details: Record<string, unknown>;
  /** Set where the decision starts a new iteration (a rework); later notes belong to it too. */
  iteration?: number;
}
