/**
 * overlapEffects (the daemon's, issue 17.2): a batch's effects run while the next batch is decided,
 * yet in commit order, at most one batch behind, and never passed by a checkpoint — the checkpoint
 * claims every effect of the entries in its view, so it waits for them. A real engine over a real
 * file store whose notices wait on a gate the test opens.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { silentLogger } from "../../src/daemon/logger.js";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf } from "../../src/store/fs/layout.js";
import type { AppendResult, EffectOptions, Notice, Txn } from "../../src/store/port.js";
import type { View } from "../../src/log/replay.js";
import { pipeline } from "../support/pipeline.js";
import { turns, until } from "../support/until.js";

const dir = mkdtempSync(join(tmpdir(), "consensus-overlap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file store whose notices wait until the gate opens (the notices written, in order, are kept). */
class GatedStore extends FsStore {
  gate: Promise<void> = Promise.resolve();
  readonly delivered: string[] = [];
  /** For each checkpoint the store was asked to write: how many notices were written by then. */
  readonly claims: number[] = [];
  override async checkpoint(view: View): Promise<void> {
    this.claims.push(this.delivered.length);
    return super.checkpoint(view);
  }
  /** Called once the log holds an append's entries, before append() returns (the real store then copies them to the readable log). */
  afterAppend?: () => Promise<void>;
  override async append(txns: Txn[], timestamp: string, basis: number): Promise<AppendResult> {
    const r = await super.append(txns, timestamp, basis);
    await this.afterAppend?.();
    return r;
  }
  override async deliver(n: Notice, o?: EffectOptions): Promise<void> {
    await this.gate;
    await super.deliver(n, o);
    this.delivered.push(n.name);
  }
}

function gated(): { open: () => void; gate: Promise<void> } {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return { open, gate };
}

const start = (epic: string, n: number) => ({ input: { type: "start" as const, epic_id: epic, title: epic, by: "tester" }, key: `request:${n}` });

async function open(name: string, overlapEffects: boolean) {
  const layout = layoutOf(join(dir, name, "consensus"));
  mkdirSync(layout.dot, { recursive: true });
  const store = new GatedStore(layout);
  const engine = await Engine.open(pipeline, store, silentLogger(), { overlapEffects });
  return { layout, store, engine };
}

describe("a batch's effects overlapping the next batch", () => {
  it("the decision returns before its notices; the next batch waits for them; a checkpoint claims none unwritten", async () => {
    const { layout, store, engine } = await open("on", true);
    const g = gated();
    store.gate = g.gate;
    const [one] = await engine.process([start("EP-001", 1)]);
    expect(one!.status).toBe("committed");
    // decided and durable; its notice waits on the gate
    expect(store.delivered).toEqual([]);
    // the next batch is decided and committed, but waits for the previous batch's effects (at most one behind)
    let second = false;
    const two = engine.process([start("EP-002", 2)]).then((o) => ((second = true), o));
    const cp = engine.checkpoint();
    // EP-002 committed (its append and fsync done) while EP-001's notice still waits
    await until("EP-002 committed", () => engine.state.epics.has("EP-002"));
    await turns();
    expect(second).toBe(false);
    // the checkpoint has not asked the store to claim anything: EP-001's notice is not written
    expect(store.claims).toEqual([]);
    expect(store.delivered).toEqual([]);
    g.open();
    expect((await two)[0]!.status).toBe("committed");
    await cp;
    // when it did, the notices of the entries in its view were written
    expect(store.claims).toHaveLength(1);
    expect(store.claims[0]).toBeGreaterThan(0);
    await engine.effectsSettled();
    // in commit order: EP-001's notices before EP-002's
    const firstOf = (e: string) => store.delivered.findIndex((n) => n.includes(e));
    expect(firstOf("EP-001")).toBeGreaterThanOrEqual(0);
    expect(firstOf("EP-001")).toBeLessThan(firstOf("EP-002"));
    const inboxes = readdirSync(layout.inbox);
    for (const n of store.delivered) expect(inboxes.some((role) => existsSync(join(layout.inbox, role, n))), n).toBe(true);
    await engine.checkpoint();
    await store.close();
    // what the checkpoint claims is written: a restart has nothing to re-run
    const again = new FsStore(layout);
    const rec = await again.recover();
    expect(rec.unapplied).toEqual([]);
    await again.close();
  });

  it("a checkpoint whose wait for effects ends while the next batch's append is in flight claims nothing half-made (the daemon is not stopped)", async () => {
    const { layout, store, engine } = await open("inflight", true);
    const g = gated();
    store.gate = g.gate;
    await engine.process([start("EP-001", 1)]);
    // the checkpoint waits for EP-001's notices
    let failed: unknown;
    const cp = engine.checkpoint().catch((e: unknown) => (failed = e));
    // the next batch: its entries are in the log, append() not returned yet (the readable copy is
    // being written) when EP-001's notices are written
    store.afterAppend = async () => {
      store.afterAppend = undefined;
      g.open();
      await until("a notice written", () => store.delivered.length > 0);
      await turns();
    };
    await engine.process([start("EP-002", 2)]);
    await cp;
    expect(failed).toBeUndefined();
    await engine.effectsSettled();
    await engine.checkpoint();
    await store.close();
    const again = new FsStore(layout);
    const rec = await again.recover();
    expect(rec.unapplied).toEqual([]);
    expect(rec.view.epics.has("EP-002")).toBe(true);
    await again.close();
  });

  it("without it (a command, the PostgreSQL daemon), a batch returns only once its effects are written", async () => {
    const { store, engine } = await open("off", false);
    const g = gated();
    store.gate = g.gate;
    let done = false;
    const one = engine.process([start("EP-001", 1)]).then(() => (done = true));
    await turns();
    expect(done).toBe(false);
    g.open();
    await one;
    expect(store.delivered.length).toBeGreaterThan(0);
    await store.close();
  });
});
