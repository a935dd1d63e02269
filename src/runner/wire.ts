/** The daemon's side of the runner: read the agent definitions (for triggers), then start the runner. */
import type { Pipeline } from "../config/pipeline.js";
import type { Logger } from "../daemon/logger.js";
import { readAgentDefinitions } from "../agents/read-definitions.js";
import { triggersOf } from "../agents/definitions.js";
import type { AgentTrigger, LaunchWant } from "../machine/effects.js";
import type { Layout } from "../store/layout.js";
import { Runner, type RunnerOptions } from "./runner.js";

export type { Runner };

export interface PreparedAgents {
  triggers: AgentTrigger[];
}

export const startRunner = {
  /** undefined when no agent is configured: the runner stays out of the way. */
  async prepare(layout: Layout, pipeline: Pipeline, log: Logger): Promise<PreparedAgents | undefined> {
    if (pipeline.agents.size === 0) return undefined;
    const defs = await readAgentDefinitions(layout.root);
    for (const d of defs) for (const i of d.issues) log.warn({ file: d.file, path: i.path, fix: i.fix }, `agent definition ignored: ${i.message}`);
    const triggers = triggersOf(defs, (k) => pipeline.agents.has(k));
    log.info({ agents: [...pipeline.agents.keys()], triggers: triggers.length }, "runner armed");
    return { triggers };
  },
  async start(_p: PreparedAgents, o: RunnerOptions, early: LaunchWant[]): Promise<Runner> {
    const r = new Runner(o);
    await r.start();
    for (const w of early) r.want(w);
    return r;
  },
};
