/** `consensus graph [--format mermaid|dot]`: the state machine of the rules in force (consensus.yaml, or a database store's rules). */
import { ConsensusError, issue } from "../../errors/issue.js";
import { buildEpicMachine } from "../../machine/epic-machine.js";
import { toDot, toMermaid } from "../../machine/graph.js";
import { printable } from "../../report/plain-text.js";
import type { GlobalOptions } from "../context.js";
import { pipelineOf } from "../read-store.js";

export async function graph(g: GlobalOptions, o: { format: "mermaid" | "dot"; mode?: string }): Promise<number> {
  const all = await pipelineOf(g);
  const pipeline = all.forMode(o.mode);
  if (!pipeline) {
    const modes = Object.keys(all.modes);
    throw new ConsensusError(issue("BAD_MODE", { message: `mode "${o.mode}" is not configured`, found: String(o.mode), expected: modes.length ? modes.join(", ") : "no modes are configured" }));
  }
  const machine = buildEpicMachine(pipeline);
  process.stdout.write(`${printable(o.format === "dot" ? toDot(machine, pipeline) : toMermaid(machine, pipeline), { newlines: true })}\n`);
  return 0;
}
