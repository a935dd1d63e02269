/**
 * The rules while the daemon runs.
 *
 * On a folder store (FolderRules) the rules in force are the sealed copy in the private area
 * (.consensus/rules.json, store/fs/rules.ts): a person puts new ones in force with `consensus config
 * apply`, which the daemon sees, verifies and applies (config_applied: who, from, to; then
 * Engine.reconfigure: config_changed, stranded epics escalated). An edit of the root's consensus.yaml —
 * which agents can write — changes nothing: it is reported once per content (config_pending, or
 * config_rejected when it is not even valid) with the fix, `consensus config apply`.
 *
 * On a database store (ConfigReloader) the rules in force are the store's row; a change there is
 * validated before use and applied, an invalid one logged (config_rejected) and the rules kept.
 */
import { watch, type FSWatcher } from "node:fs";
import { CAP, GuardedReadError, readGuardedText } from "../store/fs/guarded-read.js";
import { basename, dirname } from "node:path";
import { createHash } from "node:crypto";
import { issue, type Issue } from "../errors/issue.js";
import { parseConfig } from "../config/pipeline.js";
import { slim } from "../machine/decide.js";
import type { Engine } from "../engine/engine.js";
import type { Layout } from "../store/fs/layout.js";
import { appliedDraft, readRulesRecord, versionOf, type RulesRecord } from "../store/fs/rules.js";
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
    /** Who put the text in force, where the source records it (a database store's rules row): logged as config_applied. */
    private readonly appliedBy?: () => { by: string; at?: string } | undefined,
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
    const who = this.appliedBy?.();
    if (who) await this.engine.commitDrafts([{ decision: "config_applied", details: { by: who.by, ...(who.at ? { applied_at: who.at } : {}), from, to: version, file: "consensus.yaml" } }]);
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

/** What `consensus config apply` tells a person after an edit that is not in force. */
export const APPLY_FIX = "Review the change and run `consensus config apply` (it validates consensus.yaml, shows the diff against the rules in force and records who applied it); until then the rules in force stay.";

/**
 * Puts sealed rules in force on a running engine: the person who applied them is logged
 * (config_applied), then the change itself (Engine.reconfigure: config_changed, stranded epics
 * escalated). `extra`: more details for the config_applied entry.
 */
export async function putInForce(engine: Engine, rec: RulesRecord, pipeline: Parameters<Engine["reconfigure"]>[0], extra: { from?: string; via?: string } = {}): Promise<void> {
  const from = engine.pipeline.version;
  await engine.commitDrafts([appliedDraft(rec, { from, ...extra })]);
  if (pipeline.version !== from) await engine.reconfigure(pipeline);
}

/** The rules of a folder store while the daemon runs (see the top of this file). */
export class FolderRules {
  /** Digests already reported (a pending edit, a rules file that does not verify): each once. */
  private reported = new Set<string>();
  /** Digest of the rules file last seen in force (undefined until the first check). */
  private known: string | undefined;

  constructor(
    private readonly L: Layout,
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {}

  /** Looks at the rules in force and at the root's consensus.yaml; never throws for bad input. */
  async check(): Promise<void> {
    await this.checkRules();
    await this.checkRootFile();
  }

  /** .consensus/rules.json: new sealed rules are put in force; a file that does not verify is reported and not used. */
  private async checkRules(): Promise<void> {
    const r = await readRulesRecord(this.L);
    if (r.kind === "none") {
      if (this.once("rules:none")) this.log.error({ file: this.L.rules }, `the rules in force (${this.L.rules}) were removed; keeping them in this process. Run \`consensus config apply\` to restore them, or the next start refuses to run`);
      return;
    }
    if (r.kind === "refused") {
      if (!this.once(`rules:${r.sha256}`)) return;
      this.log.error({ file: this.L.rules, reason: r.reason }, `${this.L.rules} does not verify (${r.reason}); it is not used, the rules in force stay (${this.engine.pipeline.version.slice(0, 12)})`);
      await this.engine.commitDrafts([{ decision: "config_rejected", details: { file: ".consensus/rules.json", sha256: r.sha256, kept: this.engine.pipeline.version, errors: [slim(issue("RULES_FORGED", { message: `.consensus/rules.json: ${r.reason}` }))], fix: "Run `consensus config apply` to put the rules you mean in force; if an agent wrote this file, confine its writes to the drop zones (docs/security.md)." } }]);
      return;
    }
    this.reported.delete("rules:none");
    const first = this.known === undefined;
    if (r.sha256 === this.known) return;
    this.known = r.sha256;
    if (r.record.version === this.engine.pipeline.version) {
      // the same rules applied again (restoring a removed or replaced file): logged, nothing changes
      if (!first) await this.engine.commitDrafts([appliedDraft(r.record, { from: r.record.version })]);
      return;
    }
    const from = this.engine.pipeline.version;
    await putInForce(this.engine, r.record, r.pipeline);
    this.log.warn({ from: from.slice(0, 12), to: r.record.version.slice(0, 12), by: r.record.applied_by, os_user: r.record.os_user }, `new rules in force, applied by ${r.record.applied_by}`);
  }

  /** The root's consensus.yaml: an edit that is not the rules in force is reported, once per content. */
  private async checkRootFile(): Promise<void> {
    let text: string;
    try {
      text = await readGuardedText(this.L.config, { maxBytes: CAP.config });
    } catch (e) {
      // the rules in force do not need the file (`consensus config apply` reports it missing); one that
      // is a FIFO, a link or huge is said once, with the fix, and never waited on or read (12.8)
      if (e instanceof GuardedReadError && this.once(`root:refused:${e.kind}:${e.found}`)) this.log.error({ file: this.L.config, found: e.found, fix: e.fix }, `${e.message}; the rules in force stay`);
      return;
    }
    const version = versionOf(text);
    if (version === this.engine.pipeline.version) {
      for (const k of this.reported) if (k.startsWith("root:")) this.reported.delete(k);
      return;
    }
    if (!this.once(`root:${version}`)) return;
    const { pipeline, issues } = parseConfig(text, this.L.config);
    const errors = issues.filter((i) => i.severity === "error").map(slim);
    const inForce = this.engine.pipeline.version;
    if (!pipeline) {
      this.log.error({ file: this.L.config, errors }, `consensus.yaml was changed but is not valid; it is not in force (the rules in force stay: ${inForce.slice(0, 12)}): ${errors.map((e) => `${e.path ? `${e.path} ` : ""}${e.message}`).join("; ")}`);
      await this.engine.commitDrafts([{ decision: "config_rejected", details: { file: "consensus.yaml", version, kept: inForce, errors, fix: `Fix consensus.yaml (\`consensus validate consensus/consensus.yaml\`), then ${APPLY_FIX[0]!.toLowerCase()}${APPLY_FIX.slice(1)}` } }]);
      return;
    }
    this.log.warn({ file: this.L.config, version: version.slice(0, 12), in_force: inForce.slice(0, 12) }, "consensus.yaml differs from the rules in force and has no effect until a person runs `consensus config apply`");
    await this.engine.commitDrafts([{ decision: "config_pending", details: { file: "consensus.yaml", version, in_force: inForce, fix: APPLY_FIX } }]);
  }

  private once(key: string): boolean {
    if (this.reported.has(key)) return false;
    this.reported.add(key);
    return true;
  }
}
