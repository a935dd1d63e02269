/**
 * The World decide() asks questions of, over a replayed View plus the decisions of the batch in hand
 * (not yet durable). Pure; the engine and the tests share it.
 */
import type { Pipeline } from "../config/pipeline.js";
import type { View } from "../log/replay.js";
import type { Epic } from "../schemas/types.gen.js";
import type { World } from "./decide.js";
import { pipelineOf } from "./epic-context.js";
import { buildEpicMachine, type EpicMachine } from "./epic-machine.js";

export class BatchWorld implements World {
  private readonly machines = new Map<string, EpicMachine>();
  private staged = new Map<string, Epic>();
  private stagedIds = new Set<string>();
  private stagedInputs = new Set<string>();

  constructor(
    readonly pipeline: Pipeline,
    private view: View,
    machine?: EpicMachine,
  ) {
    if (machine) this.machines.set("", machine);
  }

  /** One machine per mode, built on first use. */
  machineFor(epic: Epic): EpicMachine {
    const key = epic.mode ?? "";
    let m = this.machines.get(key);
    if (!m) {
      m = buildEpicMachine(pipelineOf(this.pipeline, epic));
      this.machines.set(key, m);
    }
    return m;
  }

  epic(id: string): Epic | undefined {
    return this.staged.get(id) ?? this.view.epics.get(id);
  }

  epicsAwaiting(file: string): Epic[] {
    const stage = this.pipeline.stageOfArtifact(file);
    if (!stage) return [];
    const out: Epic[] = [];
    const ids = new Set([...this.view.epics.keys(), ...this.staged.keys()]);
    for (const id of ids) {
      const e = this.epic(id)!;
      if (e.status === "in_progress" && e.stage === stage.id) out.push(e);
    }
    return out;
  }

  messageIdUsed(id: string): boolean {
    return this.stagedIds.has(id) || this.view.messageIds.has(id);
  }

  processed(key: string): boolean {
    return this.stagedInputs.has(key) || this.view.processed.has(key);
  }

  /** Records a decision of the batch in hand so later inputs in the same batch see it. */
  stage(epic: Epic | undefined, messageId: string | undefined, input: string | undefined): void {
    if (epic) this.staged.set(epic.epic_id, epic);
    if (messageId) this.stagedIds.add(messageId);
    if (input) this.stagedInputs.add(input);
  }

  /** After the batch is durable (or abandoned): forget the staged decisions. */
  reset(view: View): void {
    this.view = view;
    this.staged.clear();
    this.stagedIds.clear();
    this.stagedInputs.clear();
  }
}
