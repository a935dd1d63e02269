/** Durations in consensus.yaml (schemas/common.schema.json#/$defs/duration): milliseconds, or "90m", "2h", "1.5d". Pure. */
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A config duration (ms, or "90m", "2h", "1.5d") in milliseconds. */
export function durationMs(d: number | string): number {
  if (typeof d === "number") return d;
  const unit = d.slice(-1) as keyof typeof UNIT_MS;
  return Math.round(Number(d.slice(0, -1)) * UNIT_MS[unit]);
}
