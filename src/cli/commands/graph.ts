/** `consensus graph [--format mermaid|dot]`: the configured pipeline's state machine. */
import { readConfig } from "../../config/read-config.js";
import { buildEpicMachine } from "../../machine/epic-machine.js";
import { toDot, toMermaid } from "../../machine/graph.js";
import { layoutOf } from "../../store/layout.js";
import { rootOf, type GlobalOptions } from "../context.js";

export async function graph(g: GlobalOptions, o: { format: "mermaid" | "dot" }): Promise<number> {
  const pipeline = await readConfig(layoutOf(rootOf(g)).config);
  const machine = buildEpicMachine(pipeline);
  process.stdout.write(`${o.format === "dot" ? toDot(machine, pipeline) : toMermaid(machine, pipeline)}\n`);
  return 0;
}
