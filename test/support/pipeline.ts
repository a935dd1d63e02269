import { DEFAULT_CONFIG_YAML } from "../../src/config/default-config.js";
import { defaultPipeline } from "../../src/config/pipeline.js";
import { decide, type Decision, type Input } from "../../src/machine/decide.js";
import { BatchWorld } from "../../src/machine/world.js";
import { applyEntry, emptyView, type View } from "../../src/log/replay.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";

export const pipeline = defaultPipeline(DEFAULT_CONFIG_YAML);

/** A config text (the default one unless given) with one exact edit; fails if `from` is not in it, so an edit can never silently not apply. */
export function variant(from: string, to: string, text = DEFAULT_CONFIG_YAML): string {
  if (!text.includes(from)) throw new Error(`variant: ${JSON.stringify(from)} is not in the config text`);
  return text.replace(from, to);
}

/** A pure harness: decide() over an in-memory view, committing drafts as the store would. */
export class Harness {
  view: View = emptyView();
  world: BatchWorld;
  log: LogEntry[] = [];
  private clock = Date.parse("2026-11-21T10:00:00Z");
  constructor(readonly p = pipeline) {
    this.world = new BatchWorld(p, this.view);
  }
  now(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString();
  }
  /** Decides `input` at `now` (the harness's clock by default) and commits the drafts as the store would. */
  apply(input: Input, key?: string, now = this.now()): Decision {
    const d = decide(this.world, input, now);
    if (d.kind === "commit") {
      d.drafts.forEach((draft, i) => {
        const last = i === d.drafts.length - 1;
        const entry: LogEntry = { seq: this.view.seq + 1, timestamp: now, agent: "orchestrator", decision: draft.decision, details: draft.details };
        if (draft.epic_id) entry.epic_id = draft.epic_id;
        if (draft.iteration) entry.iteration = draft.iteration;
        if (last && d.epic) entry.state = d.epic;
        if (last && key) entry.input = key;
        this.log.push(entry);
        applyEntry(this.view, entry);
      });
      this.world.reset(this.view);
    }
    return d;
  }
  epic(id = "EP-001") {
    return this.view.epics.get(id)!;
  }
  decisions(): string[] {
    return this.log.map((e) => e.decision);
  }
  artifact(name: string, opts: { epic?: string; iteration?: number; doc?: Record<string, unknown>; sha?: string } = {}) {
    const epic = opts.epic ?? "EP-001";
    const doc = { epic_id: epic, iteration: opts.iteration ?? this.epic(epic).iteration, timestamp: "2026-11-21T10:00:00Z", ...(opts.doc ?? {}) };
    return this.apply({ type: "artifact", file: `artifacts/${epic}/${name}`, name, folder: epic, sha256: opts.sha ?? sha(name + JSON.stringify(doc)), doc: name.endsWith(".json") ? doc : undefined, issues: [], mtime: "2099-01-01T00:00:00Z" });
  }
  message(from: string, to: string, type: "veto" | "approve" | "info", extra: Record<string, unknown> = {}, epic = "EP-001") {
    const doc = { from, to, type, epic_id: epic, iteration: this.view.epics.get(epic)?.iteration ?? 1, timestamp: "2026-11-21T10:00:00Z", ...extra };
    return this.apply({ type: "message", file: `messages/inbox/${to}/m.yaml`, inbox: to, sha256: sha(JSON.stringify(doc) + Math.random()), doc: doc as never, issues: [] });
  }
  veto(from: string, to: string, subject: string, blocking = true, epic = "EP-001") {
    return this.message(from, to, "veto", { subject, content: { violation: "v", specifics: "s", blocking } }, epic);
  }
  deploymentTrio(epic = "EP-001") {
    this.artifact("deployment.json", { epic });
    this.artifact("cicd.yaml", { epic });
    return this.artifact("runbook.md", { epic });
  }
}

export function sha(s: string): string {
  let h = 0n;
  for (const c of s) h = (h * 131n + BigInt(c.codePointAt(0)!)) % (1n << 255n);
  return h.toString(16).padStart(64, "0").slice(-64);
}
