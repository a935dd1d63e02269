/**
 * The names an effect builds a path from, checked again where the path is built (issue 12.2), live and
 * on replay: a log line is not trusted to hold what decide() checked when it was written (a forged or
 * edited line, or a bug). Throws ConsensusError(UNSAFE_PATH) naming the field and the value.
 */
import { ConsensusError, issue } from "../../errors/issue.js";

const ID = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** One plain file name: no folder, no dot file, no "..", no control or odd characters. */
const FILE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;
const SHA256 = /^[0-9a-f]{64}$/;

function refuse(field: string, value: unknown, expected: string): never {
  const shown = JSON.stringify(value)?.slice(0, 200) ?? String(value);
  throw new ConsensusError(issue("UNSAFE_PATH", { message: `effect refused: ${field} ${shown} is not ${expected}`, path: field, found: shown, expected, fix: "Run `consensus log verify`: the entry that asks for this effect was forged or edited. Nothing was written." }));
}

export function checkEpicId(v: unknown, field = "epic_id"): string {
  if (typeof v !== "string" || !ID.test(v)) refuse(field, v, "an id matching ^[A-Za-z][A-Za-z0-9_-]{0,63}$");
  return v;
}

export function checkRole(v: unknown): string {
  return checkEpicId(v, "role");
}

export function checkIteration(v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) refuse("iteration", v, "a whole number from 1");
  return v;
}

export function checkFileName(v: unknown, field = "file"): string {
  if (typeof v !== "string" || !FILE.test(v) || v.includes("..")) refuse(field, v, "one plain file name (letters, digits, . _ -; no folder, no leading dot, no ..)");
  return v;
}

export function checkSha256(v: unknown): string {
  if (typeof v !== "string" || !SHA256.test(v)) refuse("sha256", v, "64 lowercase hex digits");
  return v;
}
