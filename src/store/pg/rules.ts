/**
 * The rules in force on a PostgreSQL store: one row (consensus.yaml's text and its SHA-256) that
 * every daemon decides by, whichever host it runs on. A store without rules takes the first
 * consensus.yaml offered (the first daemon's, or `consensus migrate`'s); after that a host's own file
 * is not read: several daemons never flip between two versions.
 */
import { createHash } from "node:crypto";
import { readConfigText } from "../fs/config-file.js";
import { parseConfig, type Pipeline } from "../../config/pipeline.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import type { PgStore } from "./pg-store.js";

export async function rulesInForce(store: PgStore, seedFile: string, by: string): Promise<{ pipeline: Pipeline; text: string }> {
  let rules = await store.rules();
  if (!rules) {
    let text: string;
    try {
      text = await readConfigText(seedFile);
    } catch (e) {
      if (e instanceof ConsensusError && e.issues[0]?.code !== "CONFIG_MISSING") throw e;
      throw new ConsensusError(issue("CONFIG_MISSING", { message: `${store.description} has no rules in force yet, and there is no ${seedFile} to take them from`, file: seedFile, fix: "Run `consensus init` (writes consensus.yaml) and start again, or move a root in with `consensus migrate --from-folder DIR`." }));
    }
    const { pipeline, issues } = parseConfig(text, seedFile);
    if (!pipeline) throw new ConsensusError(issues);
    rules = await store.seedRules(createHash("sha256").update(text).digest("hex"), text, by);
  }
  const { pipeline, issues } = parseConfig(rules.text, "consensus.yaml (rules in force)");
  if (!pipeline) throw new ConsensusError(issues);
  return { pipeline, text: rules.text };
}
