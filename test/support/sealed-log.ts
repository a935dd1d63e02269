/**
 * A log of record as the daemon writes it (src/log/chain.ts), for tests: each daemon line's body sealed
 * on the previous daemon hash and the agents' raw lines written since, with a MAC when `mac` is given.
 */
import { GENESIS, sealLine, type LineMac } from "../../src/log/chain.js";

/** A step: a daemon line (its body, given its 1-based seq) or an agent's raw line. */
export type LogStep = { body: (seq: number) => string } | { agent: string };

export function sealedLog(steps: readonly LogStep[], mac?: LineMac): { lines: string[]; head: string } {
  const lines: string[] = [];
  let head = GENESIS;
  let foreign = "";
  let seq = 0;
  for (const s of steps) {
    if ("agent" in s) {
      lines.push(s.agent);
      foreign += `${s.agent}\n`;
      continue;
    }
    const sealed = sealLine(s.body(++seq), head, foreign, mac);
    lines.push(sealed.line);
    head = sealed.hash;
    foreign = "";
  }
  return { lines, head };
}
