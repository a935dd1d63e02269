/** Reading current/state.json back: what, if anything, is wrong with its text. Pure (shared by recovery and doctor). */
import type { StateFile } from "../../schemas/types.gen.js";

/** The parsed state file, or the problem with its text (not JSON, or not the state file's shape). */
export function stateFileProblem(text: string): { state: StateFile; problem?: undefined } | { state?: undefined; problem: string } {
  let st: StateFile;
  try {
    st = JSON.parse(text) as StateFile;
  } catch (e) {
    return { problem: `not valid JSON (${(e as Error).message.replace(/\s+/g, " ")}): truncated or edited` };
  }
  if (!st || typeof st !== "object" || typeof st.seq !== "number" || !st.epics || typeof st.epics !== "object") return { problem: "does not have the state file's shape (edited?)" };
  return { state: st };
}
