/**
 * consensus.yaml while the daemon runs: a change is validated before it is used. A valid one is put
 * in force (Engine.reconfigure: logged, stranded epics escalated); an invalid one is logged with its
 * errors (config_rejected, once per content) and the rules in force stay as they were.
 */
import { watch, type FSWatcher } from "node:fs";
import { CAP, readGuardedText } from "../store/fs/guarded-read.js";
import { basename, dirname } from "node:path";
import { createHash } from "node:crypto";
import { issue, type Issue } from "../errors/issue.js";
import { parseConfig } from "../config/pipeline.js";
import { slim } from "../machine/decide.js";
import type { Engine } from "../engine/engine.js";
import type { Logger } from "./logger.js";

/** Calls onChange when the file is written or replaced (watching its folder survives renames over it). */
export function watchConfig(path: string, onChange: () => void): { close(): void } {
  const name = basename(path);
  let w: FSWatcher | undefined;
  try {
    w = watch(dirname(path), { persistent: false }, (_t, f) => {
      if (f === null || String(f) === name) onChange();
    });
    w.on("error", () => onChange());
  } catch {
    /* the periodic rescan still asks for a reload check */
  }
  return { close: () => w?.close() };
}

export class ConfigReloader {
  private lastRejected: string | undefined;

  /** `read`: where the text comes from when it is not the file at path (the rules in force on a database store). */
  constructor(
    private readonly path: string,
    private readonly engine: Engine,
    private readonly log: Logger,
    // the guarded read: a FIFO or a link to /dev/zero named consensus.yaml neither hangs nor balloons (12.8)
    private readonly read: () => Promise<string> = () => readGuardedText(path, { maxBytes: CAP.config }),
  ) {}

  /** Reads the file; applies it if valid and different, reports it if invalid. Never throws for bad input. */
  async check(): Promise<"unchanged" | "applied" | "rejected"> {
    let text: string;
    try {
      text = await this.read();
    } catch (e) {
      const fix = (e as { fix?: unknown }).fix;
      return this.reject(undefined, [issue("CONFIG_MISSING", { message: `cannot read ${this.path}: ${(e as Error).message}`, fix: typeof fix === "string" ? `${fix} The rules in force are unchanged.` : "Restore consensus.yaml (git checkout consensus/consensus.yaml); the rules in force are unchanged." })]);
    }
    const version = createHash("sha256").update(text).digest("hex");
    if (version === this.engine.pipeline.version) return "unchanged";
    const { pipeline, issues } = parseConfig(text, this.path);
    if (!pipeline) return this.reject(version, issues);
    this.lastRejected = undefined;
    const from = this.engine.pipeline.version;
    const entries = await this.engine.reconfigure(pipeline);
    const stranded = entries.filter((e) => e.decision === "escalated").map((e) => e.epic_id);
    this.log.warn({ from: from.slice(0, 12), to: version.slice(0, 12), escalated: stranded }, `consensus.yaml changed: new rules in force${stranded.length ? `; escalated ${stranded.join(", ")} (their stage is gone)` : ""}`);
    return "applied";
  }

  /** version: the rejected text's hash (undefined: the file could not be read). Each is reported once. */
  private async reject(version: string | undefined, issues: Issue[]): Promise<"rejected"> {
    // unreadable files are told apart by why (a FIFO, then a link): each is reported once
    const key = version ?? `unreadable:${issues.map((i) => i.message).join("|")}`;
    if (this.lastRejected === key) return "rejected";
    this.lastRejected = key;
    const errors = issues.map(slim);
    this.log.error({ file: this.path, errors }, `consensus.yaml was changed but is not valid; keeping the rules in force (${this.engine.pipeline.version.slice(0, 12)}): ${errors.map((e) => `${e.path ? `${e.path} ` : ""}${e.message}`).join("; ")}`);
    await this.engine.commitDrafts([{ decision: "config_rejected", details: {
      file: "consensus.yaml",
      ...(version ? { version } : {}),
      kept: this.engine.pipeline.version,
      errors,
      fix: "Fix consensus.yaml (`consensus validate consensus/consensus.yaml`) or restore the last good one (git checkout consensus/consensus.yaml); the daemon picks it up when saved.",
    } }]);
    return "rejected";
  }
}
