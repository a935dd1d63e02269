/** What the machine reacts to. Time comes in on the event (`now`), never from a clock. */
export type MachineEvent =
  | { type: "ARTIFACT"; file: string; sha256: string; role: string; now: string; verdict?: { subject: string; violation: string } }
  | { type: "APPROVE"; role: string; now: string; subject?: string }
  | { type: "VETO"; role: string; subject: string; blocking: boolean; violation?: string; now: string }
  | { type: "OVERRIDE"; by: string; reason: string; to: string; now: string }
  | { type: "CANCEL"; by: string; reason: string; now: string }
  /** Something outside the rules needs a person (the runner: an agent failed or dropped nothing). */
  | { type: "ESCALATE"; reason: string; detail: string; figures?: Record<string, unknown>; now: string };

/** A decision the machine made, before it becomes a numbered, hashed log entry. */
export interface Note {
  decision: string;
  details: Record<string, unknown>;
  /** Set where the decision starts a new iteration (a rework); later notes belong to it too. */
  iteration?: number;
}
