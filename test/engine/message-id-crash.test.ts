/**
 * One message id, two files (a note and its replay under another name, as the crash e2e drops them):
 * whatever interleaving of decisions, checkpoints, crashes and torn writes, exactly one of the two is
 * accepted and the other rejected as REPLAYED_MESSAGE (PROTOCOL §5). Real files, the real prepare(),
 * engine and file store; a crash is the store abandoned without a checkpoint (and, for a torn write, the
 * log of record cut inside the last line), then recovered by a new store and engine.
 */
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/daemon/logger.js";
import { Engine } from "../../src/engine/engine.js";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf, type Layout } from "../../src/store/fs/layout.js";
import type { Lease } from "../../src/store/port.js";
import { prepare } from "../../src/transports/files/prepare.js";
import type { Prepared } from "../../src/engine/engine.js";
import { pipeline } from "../support/pipeline.js";

const NOTE = "messages/inbox/quality/note-EP-001.yaml";
const REPLAY = "messages/inbox/quality/replay-EP-001.yaml";
const MSG = `id: note-EP-001\nfrom: developer\nto: quality\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: EP-001\niteration: 1\ntype: info\nsubject: fyi\n`;

type Op = "note" | "replay" | "both" | "both-reversed" | "checkpoint" | "note-beside-checkpoint" | "replay-beside-checkpoint" | "crash" | "torn-crash";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

class Rig {
  readonly root: string;
  readonly layout: Layout;
  store!: FsStore;
  lease!: Lease;
  engine!: Engine;
  /** Whether the last thing done was a commit no checkpoint has claimed (a torn write can only hit that). */
  lastUncheckpointed = false;

  constructor() {
    const dir = mkdtempSync(join(tmpdir(), "consensus-msgid-crash-"));
    dirs.push(dir);
    this.root = join(dir, "consensus");
    this.layout = layoutOf(this.root);
    mkdirSync(this.layout.dot, { recursive: true });
  }

  async open(): Promise<void> {
    this.store = new FsStore(this.layout);
    this.lease = await this.store.lease("command", "msgid-crash");
    this.engine = await Engine.open(pipeline, this.store, silentLogger());
  }

  /** The process dies: nothing more is written (no checkpoint); the files stay as they are. */
  async crash(): Promise<void> {
    await this.engine.effectsSettled();
    await this.store.close();
    await this.lease.release();
    await this.open();
    this.lastUncheckpointed = false;
  }

  /** The process dies inside the write of its last commit: the log of record ends in half a line. */
  async tornCrash(): Promise<void> {
    if (!this.lastUncheckpointed) return this.crash();
    await this.engine.effectsSettled();
    await this.store.close();
    await this.lease.release();
    const text = readFileSync(this.layout.record, "utf8");
    const lines = text.split("\n").slice(0, -1);
    const last = lines[lines.length - 1]!;
    truncateSync(this.layout.record, Buffer.byteLength(text) - Math.ceil(Buffer.byteLength(last) / 2) - 1);
    // the readable copy is written after the commit: it never got those lines
    const mirror = readFileSync(this.layout.log, "utf8");
    const seq = (JSON.parse(last) as { seq: number }).seq;
    const at = mirror.indexOf(`{"seq":${seq},`);
    if (at >= 0) truncateSync(this.layout.log, Buffer.byteLength(mirror.slice(0, at)));
    await this.open();
    this.lastUncheckpointed = false;
  }

  async checkpoint(): Promise<void> {
    await this.engine.effectsSettled();
    if (this.engine.dirty) await this.engine.checkpoint();
    this.lastUncheckpointed = false;
  }

  place(rel: string): void {
    const abs = join(this.root, rel);
    mkdirSync(join(abs, ".."), { recursive: true });
    writeFileSync(`${abs}.tmp`, MSG);
    renameSync(`${abs}.tmp`, abs);
    const old = (Date.now() - 3_600_000) / 1000; // settled long ago
    utimesSync(abs, old, old);
  }

  /** The daemon's batch: each file prepared against the view, decided together, in this order. */
  async decide(rels: string[]): Promise<void> {
    const items: Prepared[] = [];
    for (const rel of rels) {
      const p = await prepare(rel, { root: this.root, realRoot: realpathSync(this.root), pipeline, world: this.engine.world, now: Date.now() });
      if (p.kind === "ready") items.push(p.item);
      else if (p.kind !== "skip") throw new Error(`${rel}: ${p.kind}`);
    }
    const outcomes = await this.engine.process(items);
    if (outcomes.some((o) => o.status === "committed")) this.lastUncheckpointed = true;
  }

  async run(op: Op): Promise<void> {
    if (op === "note") return this.decide([NOTE]);
    if (op === "replay") return this.decide([REPLAY]);
    if (op === "both") return this.decide([NOTE, REPLAY]);
    if (op === "both-reversed") return this.decide([REPLAY, NOTE]);
    if (op === "checkpoint") return this.checkpoint();
    if (op === "note-beside-checkpoint" || op === "replay-beside-checkpoint") {
      // the daemon's checkpoint runs beside its loop: a batch may commit while it is written
      const cp = this.engine.checkpoint();
      await this.decide([op === "note-beside-checkpoint" ? NOTE : REPLAY]);
      await cp;
      return;
    }
    if (op === "crash") return this.crash();
    return this.tornCrash();
  }

  /** The log of record's decisions about the pair, in order. */
  pair(): Array<{ seq: number; decision: string; file: string; code?: string }> {
    return readFileSync(this.layout.record, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { seq: number; decision: string; details?: { file?: string; errors?: Array<{ code: string }> } })
      .filter((e) => e.details?.file === NOTE || e.details?.file === REPLAY)
      .map((e) => ({ seq: e.seq, decision: e.decision, file: e.details!.file!, ...(e.details?.errors?.[0] ? { code: e.details.errors[0].code } : {}) }));
  }
}

/** Runs `ops` (after starting the epic and placing both files), then a final restart and scan; returns the pair's decisions. */
async function play(ops: Op[]): Promise<ReturnType<Rig["pair"]>> {
  const rig = new Rig();
  await rig.open();
  try {
    await rig.engine.process([{ input: { type: "start", epic_id: "EP-001", title: "t", by: "tester" }, key: "request:start" }]);
    rig.place(NOTE);
    rig.place(REPLAY);
    for (const op of ops) await rig.run(op);
    await rig.crash();
    await rig.decide([NOTE, REPLAY]); // the start-up scan decides whatever is left
    await rig.crash();
    await rig.decide([REPLAY, NOTE]);
    return rig.pair();
  } finally {
    await rig.store.close().catch(() => {});
    await rig.lease.release().catch(() => {});
  }
}

function expectOnce(said: ReturnType<Rig["pair"]>, ops: Op[]): void {
  const text = `${ops.join(" ")} → ${said.map((x) => `${x.seq} ${x.decision} ${x.file}${x.code ? ` ${x.code}` : ""}`).join("; ")}`;
  expect(said.filter((x) => x.decision === "message_accepted"), text).toHaveLength(1);
  const rejected = said.filter((x) => x.decision === "message_rejected");
  expect(rejected, text).toHaveLength(1);
  expect(rejected[0]!.code, text).toBe("REPLAYED_MESSAGE");
  expect(said, text).toHaveLength(2);
}

describe("a replayed message id is rejected across batches, crashes and recoveries", () => {
  const cases: Op[][] = [
    ["both"],
    ["both-reversed"],
    ["note", "replay"],
    ["replay", "note"],
    ["note", "crash", "replay"],
    ["note", "torn-crash", "replay"],
    ["replay", "torn-crash", "note"],
    ["checkpoint", "note", "crash", "replay"],
    ["note", "checkpoint", "crash", "replay"],
    ["note", "crash", "checkpoint", "crash", "replay"],
    ["note", "checkpoint", "crash", "checkpoint", "crash", "replay"],
    ["checkpoint", "note", "crash", "crash", "checkpoint", "crash", "replay"],
    ["both", "torn-crash"],
    ["note-beside-checkpoint", "crash", "replay"],
    ["note", "replay-beside-checkpoint", "crash", "checkpoint", "crash"],
    ["checkpoint", "both", "torn-crash", "crash"],
  ];
  for (const ops of cases) {
    it(ops.join(", "), async () => {
      expectOnce(await play(ops), ops);
    });
  }

  it("any sequence of decisions, checkpoints, crashes and torn writes (property)", async () => {
    const op = fc.constantFrom<Op>("note", "replay", "both", "both-reversed", "checkpoint", "note-beside-checkpoint", "replay-beside-checkpoint", "crash", "torn-crash");
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops) => {
        expectOnce(await play(ops), ops);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 30) },
    );
  }, 300_000);
});
