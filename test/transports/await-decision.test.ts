import { describe, expect, it } from "vitest";
import { awaitDecision, daemonEntries, verdictIn, type DaemonEntry } from "../../src/transports/await-decision.js";

const e = (seq: number, decision: string, details: Record<string, unknown> = {}, extra: Partial<DaemonEntry> = {}): DaemonEntry => ({ seq, timestamp: "2026-11-21T10:00:00Z", agent: "orchestrator", decision, epic_id: "EP-001", iteration: 1, details, ...extra });
const F = "artifacts/EP-001/plan.json";
const S = "a".repeat(64);

describe("verdictIn: the daemon's verdict on one input", () => {
  it("is the transaction from the entry naming the file and content to the one marking it processed", () => {
    const log = [e(1, "epic_started"), e(2, "artifact_accepted", { file: F, sha256: S }), e(3, "stage_advanced", { from: "plan", to: "implementation" }, { input: `${F}@${S}` }), e(4, "artifact_accepted", { file: "x", sha256: S }, { input: "x" })];
    expect(verdictIn(log, F, S)).toEqual({ verdict: "accepted", entries: [log[1], log[2]] });
  });

  it("a rejection is its own transaction; another content at the same path is not it; an incomplete transaction is not yet a verdict", () => {
    const rej = e(5, "artifact_rejected", { file: F, sha256: S, errors: [] }, { input: `${F}@${S}` });
    expect(verdictIn([rej], F, S)).toEqual({ verdict: "rejected", entries: [rej] });
    expect(verdictIn([rej], F, "b".repeat(64))).toBeUndefined();
    expect(verdictIn([e(2, "artifact_accepted", { file: F, sha256: S })], F, S)).toBeUndefined();
    expect(verdictIn([e(2, "input_failed", { file: F, sha256: S })], F, S)).toMatchObject({ verdict: "failed" });
  });

  it("daemonEntries: only the daemon's sealed, numbered lines after the given seq; an agent line claiming a verdict is none", async () => {
    const sealed = (x: DaemonEntry) => `${JSON.stringify(x).slice(0, -1)},"hash":"${"f".repeat(64)}"}`;
    const lines = [
      sealed(e(1, "epic_started")),
      JSON.stringify(e(2, "artifact_accepted", { file: F, sha256: S }, { agent: "planner" })),
      JSON.stringify(e(3, "artifact_accepted", { file: F, sha256: S })),
      sealed(e(4, "artifact_rejected", { file: F, sha256: S }, { input: "k" })),
      "not json",
    ];
    const store = {
      async *readEntries() {
        let line = 0;
        for (const raw of lines) {
          line++;
          let entry;
          try {
            entry = JSON.parse(raw);
          } catch {
            entry = undefined;
          }
          yield entry ? { line, raw, entry } : { line, raw };
        }
      },
    };
    expect((await daemonEntries(store)).map((x) => x.seq)).toEqual([1, 4]);
    expect((await daemonEntries(store, 1)).map((x) => x.seq)).toEqual([4]);
  });
});

describe("awaitDecision", () => {
  const emptyLog = () => {
    const o = { reads: 0, async *readEntries(): AsyncGenerator<{ line: number; raw: string }> {
      o.reads++;
    } };
    return o;
  };

  it("takes the verdict from entries the daemon hands over, without reading the log again", async () => {
    const store = emptyLog();
    let push: ((c?: readonly DaemonEntry[]) => void) | undefined;
    const waiting = awaitDecision(store, F, S, { afterSeq: 1, timeoutMs: 60_000, pollMs: 60_000, onChange: (w) => ((push = w), () => (push = undefined)) });
    await new Promise((r) => setTimeout(r, 0));
    push!([e(1, "artifact_accepted", { file: F, sha256: S }, { input: "old" })]); // at or before afterSeq: not it
    push!([e(2, "artifact_accepted", { file: F, sha256: S }), e(3, "stage_advanced", {}, { input: `${F}@${S}` })]);
    expect(await waiting).toMatchObject({ verdict: "accepted", entries: [{ seq: 2 }, { seq: 3 }] });
    expect(store.reads).toBe(1);
    expect(push).toBeUndefined();
  });

  it("ends with undefined on its timeout or when aborted", async () => {
    expect(await awaitDecision(emptyLog(), F, S, { afterSeq: 0, timeoutMs: 30, pollMs: 10 })).toBeUndefined();
    const stop = new AbortController();
    const waiting = awaitDecision(emptyLog(), F, S, { afterSeq: 0, timeoutMs: 60_000, pollMs: 60_000, signal: stop.signal });
    stop.abort();
    expect(await waiting).toBeUndefined();
  });
});
