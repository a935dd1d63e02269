import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emptyView } from "../../src/log/replay.js";
import { ConsensusMetrics } from "../../src/ops/metrics.js";
import { Monitor, timeAppends } from "../../src/ops/monitor.js";
import { STUCK_MS } from "../../src/ops/readiness.js";
import type { Outcome } from "../../src/engine/engine.js";
import type { Store } from "../../src/store/port.js";
import { parseExposition, valueOf } from "../support/prom-text.js";

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function setup() {
  dir = mkdtempSync(join(tmpdir(), "consensus-monitor-"));
  let now = 1_000;
  const metrics = new ConsensusMetrics({ version: "1", defaultMetrics: false });
  const monitor = new Monitor(metrics, { logFile: join(dir, "decision_log.jsonl"), now: () => now });
  let depth = 0;
  let config = "abc";
  const open = () => monitor.opened({ view: emptyView, queueDepth: () => depth, configVersion: () => config });
  return { metrics, monitor, open, tick: (ms: number) => (now += ms), setDepth: (n: number) => (depth = n), setConfig: (v: string) => (config = v) };
}

const failing = async (m: Monitor) => (await m.readiness()).checks.filter((c) => !c.ok).map((c) => c.name);

describe("Monitor readiness", () => {
  it("is ready only once recovered, armed and scanned; says which check fails", async () => {
    const { monitor, open } = setup();
    expect(await failing(monitor)).toEqual(["lock", "watcher", "caught_up"]);
    open();
    expect(await failing(monitor)).toEqual(["watcher", "caught_up"]);
    monitor.watcherArmed();
    const r = await monitor.readiness();
    expect(r.checks.find((c) => c.name === "caught_up")).toMatchObject({ ok: false, reason: "the start-up reconcile scan is not done" });
    monitor.scanned();
    expect(await monitor.readiness()).toMatchObject({ ready: true });
    monitor.stop();
    expect(await failing(monitor)).toEqual(["running"]);
  });

  it("a queue that does not move for a while is stuck, one that drains is fine", async () => {
    const { monitor, open, tick, setDepth } = setup();
    open();
    monitor.watcherArmed();
    monitor.scanned();
    setDepth(5);
    tick(STUCK_MS - 1);
    expect((await monitor.readiness()).ready).toBe(true);
    tick(2);
    const r = await monitor.readiness();
    expect(r.checks.find((c) => c.name === "caught_up")).toMatchObject({ ok: false, reason: expect.stringMatching(/^5 input\(s\) pending and none decided for 30 s$/) });
    monitor.decided([]);
    expect((await monitor.readiness()).ready).toBe(true);
  });

  it("a log that cannot be written, or an append that failed, fails the log check", async () => {
    const { monitor, open } = setup();
    open();
    monitor.watcherArmed();
    monitor.scanned();
    rmSync(dir, { recursive: true });
    const r = await monitor.readiness();
    expect(r.checks.find((c) => c.name === "log")).toMatchObject({ ok: false, reason: expect.stringContaining("is not writable") });
    const boom = { append: async () => Promise.reject(new Error("ENOSPC: no space left on device")) } as unknown as Store;
    await expect(monitor.wrapStore(boom).append([], "t", 0)).rejects.toThrow(/ENOSPC/);
    expect((await monitor.readiness()).checks.find((c) => c.name === "log")).toMatchObject({ reason: "the last append to the log failed: ENOSPC: no space left on device" });
  });
});

describe("Monitor metrics", () => {
  it("times drop to decision from the first sight of a path to the durable append", async () => {
    const { metrics, monitor, open, tick } = setup();
    open();
    monitor.seen("artifacts/EP-001/plan.json");
    tick(40);
    monitor.seen("artifacts/EP-001/plan.json"); // a second event for the same drop: still timed from the first
    tick(10);
    monitor.taken(["artifacts/EP-001/plan.json"]);
    monitor.committed([]);
    monitor.seen("artifacts/EP-001/plan.json"); // dropped again while the first is decided: a new clock
    tick(500); // effects run after the append: not part of the latency
    const committed: Outcome = { status: "committed", entries: [] };
    monitor.decided([{ rel: "artifacts/EP-001/plan.json", kind: "artifact", outcome: committed }]);
    // refused commands are counted; skipped paths and deferred inputs are not timed
    monitor.seen("ignored.txt");
    monitor.taken(["ignored.txt"]);
    monitor.settled("ignored.txt");
    monitor.seen("artifacts/EP-001/review.json");
    monitor.taken(["artifacts/EP-001/review.json"]);
    monitor.decided([{ rel: "artifacts/EP-001/review.json", kind: "artifact", outcome: { status: "deferred", reason: "later stage", seq: 1 } }]);
    monitor.taken(["artifacts/EP-001/review.json"]); // its stage came: decided now, but not timed
    monitor.decided([{ rel: "artifacts/EP-001/review.json", kind: "artifact", outcome: committed }]);
    monitor.decided([{ rel: ".consensus/requests/r1.json", kind: "override", outcome: { status: "refused", decision: { kind: "refuse", issues: [{ code: "NOT_ESCALATED", severity: "error", message: "m", fix: "f" }] } } }]);
    const f = parseExposition((await metrics.scrape()).body);
    expect(valueOf(f, "consensus_drop_to_decision_seconds", {}, "consensus_drop_to_decision_seconds_count")).toBe(1);
    expect(valueOf(f, "consensus_drop_to_decision_seconds", {}, "consensus_drop_to_decision_seconds_sum")).toBeCloseTo(0.05, 6);
    expect(valueOf(f, "consensus_inputs_total", { kind: "command", outcome: "rejected", reason: "NOT_ESCALATED" })).toBe(1);
    // the second drop of plan.json is timed from its own first sight, not from the first drop's
    tick(100);
    monitor.taken(["artifacts/EP-001/plan.json"]);
    monitor.committed([]);
    monitor.decided([{ rel: "artifacts/EP-001/plan.json", kind: "artifact", outcome: committed }]);
    const g = parseExposition((await metrics.scrape()).body);
    expect(valueOf(g, "consensus_drop_to_decision_seconds", {}, "consensus_drop_to_decision_seconds_count")).toBe(2);
    expect(valueOf(g, "consensus_drop_to_decision_seconds", {}, "consensus_drop_to_decision_seconds_sum")).toBeCloseTo(0.05 + 0.6, 6);
    expect(valueOf(f, "consensus_info", { version: "1", config_version: "abc" })).toBe(1);
    expect(valueOf(f, "consensus_seconds_since_last_event")).toBe(0);
  });

  it("times every append and passes everything else through to the store", async () => {
    const seen: number[] = [];
    const store = { append: async () => ({ entries: [], foreign: [] }), takenOver: undefined, close: async function (this: unknown) { return this === store ? undefined : Promise.reject(new Error("unbound")); } } as unknown as Store;
    const timed = timeAppends(store, (s) => seen.push(s));
    await timed.append([], "t", 0);
    await timed.close();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeGreaterThanOrEqual(0);
  });
});

describe("Monitor and a config put in force while running", () => {
  it("consensus_info reads the config in force at each scrape", async () => {
    const { metrics, open, setConfig } = setup();
    const info = async () => parseExposition((await metrics.scrape()).body).get("consensus_info")!.samples.map((x) => x.labels.config_version);
    expect(await info()).toEqual([""]);
    open();
    expect(await info()).toEqual(["abc"]);
    setConfig("def012345678");
    expect(await info()).toEqual(["def012345678"]);
  });
});

describe("the exposition parser used by these tests", () => {
  it("refuses what Prometheus would refuse", () => {
    expect(() => parseExposition("# TYPE a gauge\na 1\n")).not.toThrow();
    expect(() => parseExposition("a 1\n")).toThrow(/outside its family/);
    expect(() => parseExposition("# TYPE a gauge\na{x=1} 1\n")).toThrow(/bad labels/);
    expect(() => parseExposition("# TYPE a gauge\na one\n")).toThrow(/bad value/);
    expect(() => parseExposition("# a comment\n")).toThrow(/bad comment/);
    expect(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n')).toThrow(/not cumulative/);
    expect(() => parseExposition('# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n')).toThrow(/_sum or _count missing/);
  });
});
