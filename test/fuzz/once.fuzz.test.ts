/**
 * Issue 11 item 4, as a property: for any interleaving of drops in either layout (flat and per-epic,
 * files that name their epic and files that do not), rewrites of the same bytes, vetoes that send an
 * epic back, daemon restarts (with or without a checkpoint) and re-scans, through the real engine,
 * store, reader and files:
 *
 * - a file that names its epic, and every message, is decided at most once per (path, content);
 * - a file that names no epic (cicd.yaml, runbook.md) at most once per (path, content, write): the
 *   same bytes written again after a rework count for the new iteration (PROTOCOL §3, §4);
 * - no rejection or notice follows accepted work: once a (path, content, write) is accepted, nothing
 *   more is ever decided about it.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_YAML } from "../../src/config/default-config.js";
import { defaultPipeline } from "../../src/config/pipeline.js";
import { silentLogger } from "../../src/daemon/logger.js";
import { Engine } from "../../src/engine/engine.js";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf } from "../../src/store/fs/layout.js";
import type { Lease } from "../../src/store/port.js";
import { prepare } from "../../src/transports/files/prepare.js";
import { artifact } from "../support/bus.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const EPICS = ["EP-1", "EP-2"];
const NAMES = ["plan.json", "implementation.json", "review.json", "deployment.json", "cicd.yaml", "runbook.md"];
const EPICLESS = new Set(["cicd.yaml", "runbook.md"]);
const pipeline = defaultPipeline(DEFAULT_CONFIG_YAML);

type Op =
  | { t: "write"; epic: string; flat: boolean; name: string; variant: number; stale: boolean }
  /** What the epic's current stage needs, for its current iteration (so runs reach promotion). */
  | { t: "advance"; epic: string; flat: boolean; variant: number }
  | { t: "touch"; slot: number }
  | { t: "veto"; epic: string; from: "devops" | "quality" }
  | { t: "rescan" }
  | { t: "restart"; checkpoint: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant("write" as const), epic: fc.constantFrom(...EPICS), flat: fc.boolean(), name: fc.constantFrom(...NAMES), variant: fc.nat(2), stale: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("advance" as const), epic: fc.constantFrom(...EPICS), flat: fc.boolean(), variant: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("touch" as const), slot: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("veto" as const), epic: fc.constantFrom(...EPICS), from: fc.constantFrom("devops" as const, "quality" as const) }) },
  { weight: 4, arbitrary: fc.constant({ t: "rescan" as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("restart" as const), checkpoint: fc.boolean() }) },
);

/** A root, the real engine over the real store, and a clock the test moves (file times follow it). */
class Rig {
  readonly root: string;
  clock = Date.parse("2026-11-21T10:00:00Z");
  engine!: Engine;
  private store!: FsStore;
  private lease!: Lease;
  /** path → what was last written there and how many times it was written (a touch is a write). */
  readonly files = new Map<string, { sha: string; writes: number; epicless: boolean }>();
  /** Every decision about a file: which, what content, which write of it, and what was decided. */
  readonly decisions: Array<{ file: string; sha: string; write: number; epicless: boolean; decision: string; seq: number }> = [];
  private vetoes = 0;
  private rescanAsked = false;

  constructor() {
    this.root = join(mkdtempSync(join(tmpdir(), "consensus-once-")), "consensus");
    mkdirSync(this.root, { recursive: true });
    writeFileSync(join(this.root, "consensus.yaml"), DEFAULT_CONFIG_YAML);
  }

  tick(): number {
    this.clock += 1000;
    return this.clock;
  }

  async open(): Promise<void> {
    this.store = new FsStore(layoutOf(this.root));
    this.lease = await this.store.lease("command", "once.fuzz");
    this.engine = await Engine.open(pipeline, this.store, silentLogger(), { clock: () => new Date(this.clock), hooks: { onRescan: () => void (this.rescanAsked = true) } });
  }

  async close(checkpoint: boolean): Promise<void> {
    if (checkpoint && this.engine.dirty) await this.engine.checkpoint();
    await this.store.close();
    await this.lease.release();
  }

  async start(epic: string): Promise<void> {
    this.tick();
    const [o] = await this.engine.process([{ input: { type: "start", epic_id: epic, title: epic, by: "fuzz" }, key: `request:start-${epic}` }]);
    expect(o!.status).toBe("committed");
  }

  /** Writes whole (temp + rename), then dates the file to the test's clock. */
  place(rel: string, text: string, epicless: boolean): void {
    const abs = join(this.root, rel);
    mkdirSync(join(abs, ".."), { recursive: true });
    writeFileSync(`${abs}.tmp`, text);
    renameSync(`${abs}.tmp`, abs);
    const t = this.tick() / 1000;
    utimesSync(abs, t, t);
    const prev = this.files.get(rel);
    this.files.set(rel, { sha: sha256(text), writes: (prev?.writes ?? 0) + 1, epicless });
  }

  touch(slot: number): void {
    const paths = [...this.files.keys()];
    if (!paths.length) return;
    const rel = paths[slot % paths.length]!;
    const t = this.tick() / 1000;
    utimesSync(join(this.root, rel), t, t);
    const f = this.files.get(rel)!;
    f.writes++;
  }

  write(op: Extract<Op, { t: "write" }>): void {
    const epic = this.engine.state.epics.get(op.epic);
    const current = epic?.iteration ?? 1;
    const iteration = op.stale && current > 1 ? current - 1 : current;
    const rel = op.flat ? `artifacts/${op.name}` : `artifacts/${op.epic}/${op.name}`;
    const patch = op.name === "review.json" ? { review_status: "approved", findings: [], variant: op.variant } : { variant: op.variant };
    const text = EPICLESS.has(op.name) ? `${artifact(op.name, op.epic, iteration)}${op.name === "runbook.md" ? `\n<!-- v${op.variant} -->\n` : `# v${op.variant}\n`}` : artifact(op.name, op.epic, iteration, patch);
    this.place(rel, text, EPICLESS.has(op.name));
  }

  advance(op: Extract<Op, { t: "advance" }>): void {
    const epic = this.engine.state.epics.get(op.epic);
    const stage = epic && epic.status === "in_progress" ? pipeline.stage(epic.stage) : undefined;
    for (const name of stage?.artifacts ?? []) this.write({ t: "write", epic: op.epic, flat: op.flat, name, variant: op.variant, stale: false });
  }

  veto(op: Extract<Op, { t: "veto" }>): void {
    const epic = this.engine.state.epics.get(op.epic);
    const text = `from: ${op.from}\nto: developer\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: ${op.epic}\niteration: ${epic?.iteration ?? 1}\ntype: veto\nsubject: concern_${++this.vetoes}\ncontent:\n  violation: "v"\n  specifics: "s"\n  blocking: true\n`;
    this.place(`messages/inbox/developer/veto-${this.vetoes}.yaml`, text, false);
  }

  /** What the daemon's scan does: every file under artifacts/ and the inboxes, prepared against the view, decided in one batch; again while a stage entry asks for it. */
  async rescan(): Promise<void> {
    for (let round = 0; round < 5; round++) {
      this.rescanAsked = false;
      const rels = [...walk(this.root, "artifacts"), ...walk(this.root, "messages/inbox")];
      const realRoot = realpathSync(this.root);
      const items = [];
      const relOf: string[] = [];
      for (const rel of rels) {
        const p = await prepare(rel, { root: this.root, realRoot, pipeline, world: this.engine.world, now: this.clock });
        if (p.kind === "ready") (items.push(p.item), relOf.push(rel));
      }
      this.tick();
      const outcomes = await this.engine.process(items);
      outcomes.forEach((o, i) => {
        if (o.status !== "committed") return;
        const f = this.files.get(relOf[i]!);
        for (const e of o.entries) {
          const file = (e.details as { file?: unknown } | undefined)?.file;
          if (typeof file !== "string" || !f || !/_(accepted|rejected)$|^file_ignored$/.test(e.decision)) continue;
          this.decisions.push({ file, sha: f.sha, write: f.writes, epicless: f.epicless, decision: e.decision, seq: e.seq });
        }
      });
      if (!this.rescanAsked) return;
    }
  }

  cleanup(): void {
    rmSync(join(this.root, ".."), { recursive: true, force: true });
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function walk(root: string, dir: string): string[] {
  const out: string[] = [];
  const abs = join(root, dir);
  let entries;
  try {
    entries = readdirSync(abs, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...walk(root, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}

describe("once per content, in every layout, across restarts (property)", () => {
  it("no (path, content) is decided twice — per write for files that name no epic — and nothing follows an acceptance", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 30 }), async (ops) => {
        const rig = new Rig();
        try {
          await rig.open();
          for (const e of EPICS) await rig.start(e);
          for (const op of [...ops, { t: "restart", checkpoint: false } as const]) {
            if (op.t === "write") rig.write(op);
            else if (op.t === "advance") rig.advance(op);
            else if (op.t === "touch") rig.touch(op.slot);
            else if (op.t === "veto") rig.veto(op);
            else if (op.t === "rescan") await rig.rescan();
            else {
              await rig.close(op.checkpoint);
              await rig.open();
              await rig.rescan(); // the start-up scan
            }
          }
          const seen = new Map<string, (typeof rig.decisions)[number]>();
          for (const d of rig.decisions) {
            const id = d.epicless ? `${d.file}@${d.sha}#${d.write}` : `${d.file}@${d.sha}`;
            const before = seen.get(id);
            expect(before, `${id} decided twice: #${before?.seq} ${before?.decision}, then #${d.seq} ${d.decision}`).toBeUndefined();
            seen.set(id, d);
          }
          // nothing follows an acceptance of the same (path, content, write)
          for (const d of rig.decisions) {
            const accepted = rig.decisions.find((x) => x.file === d.file && x.sha === d.sha && x.write === d.write && x.decision.endsWith("_accepted") && x.seq < d.seq);
            expect(accepted, `${d.file} (write ${d.write}) #${d.seq} ${d.decision} after #${accepted?.seq} accepted it`).toBeUndefined();
          }
        } finally {
          await rig.close(false).catch(() => {});
          rig.cleanup();
        }
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
