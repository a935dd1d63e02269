/** `consensus graph [--format mermaid|dot]`: the configured pipeline's state machine. */
import { ConsensusError, issue } from "../../errors/issue.js";
import { readRules } from "../../store/fs/rules.js";
import { buildEpicMachine } from "../../machine/epic-machine.js";
import { toDot, toMermaid } from "../../machine/graph.js";
import { layoutOf } from "../../store/fs/layout.js";
import { printable } from "../../report/plain-text.js";
import { rootOf, type GlobalOptions } from "../context.js";

export async function graph(g: GlobalOptions, o: { format: "mermaid" | "dot"; mode?: string }): Promise<number> {
  const all = await readRules(layoutOf(rootOf(g)));
  const pipeline = all.forMode(o.mode);
  if (!pipeline) {
    const modes = Object.keys(all.modes);
    throw new ConsensusError(issue("BAD_MODE", { message: `mode "${o.mode}" is not configured`, found: String(o.mode), expected: modes.length ? modes.join(", ") : "no modes are configured" }));
  }
  const machine = buildEpicMachine(pipeline);
  process.stdout.write(`${printable(o.format === "dot" ? toDot(machine, pipeline) : toMermaid(machine, pipeline), { newlines: true })}\n`);
  return 0;
}
