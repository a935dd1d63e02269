import { describe, expect, it } from "vitest";
import { compactWithLast, epicsTexts, prettyWithLast, putAgentView, putEpics, type EpicsMembers } from "../../src/store/fs/epics-json.js";
import { agentViewToJson, emptyAgentView, type AgentView } from "../../src/log/agent-jobs.js";
import type { Epic } from "../../src/schemas/types.gen.js";

const epic = (id: string, extra: Record<string, unknown> = {}): Epic =>
  ({ epic_id: id, title: `Epic "${id}"\n\u2028`, stage: "plan", iteration: 1, status: "active", open_vetoes: [], artifacts: { plan: { sha256: "ab".repeat(32), nested: [1, { x: null }] } }, ...extra }) as unknown as Epic;
const now = () => Promise.resolve();
const text = (parts: Buffer[]): string => Buffer.concat(parts).toString();
const texts = (epics: ReadonlyMap<string, Epic>, pause = now, sliceMs?: number): Promise<EpicsMembers> => epicsTexts([...epics.keys()], [...epics.values()], pause, sliceMs);
const compact = (head: Record<string, unknown>, m: EpicsMembers): string => text(compactWithLast(head, [["epics", (out) => putEpics(out, m, "compact")]]));
const pretty = (head: Record<string, unknown>, m: EpicsMembers): string => text(prettyWithLast(head, "epics", (out) => putEpics(out, m, "pretty")));

describe("epics as JSON, serialised once per change, written as bytes in parts (checkpoint and state.json)", () => {
  const epics = new Map<string, Epic>([
    ["EP-001", epic("EP-001")],
    ["__proto__", epic("__proto__", { empty: {}, list: [] })],
    ["EP-\u00e9", epic("EP-\u00e9")],
  ]);
  const asObject = Object.fromEntries(epics);

  it("is byte for byte what JSON.stringify gives, compact and pretty, also after an epic changes", async () => {
    const head = { version: 1, seq: 7, hash: "f".repeat(64), updated_at: "2026-11-30T00:00:00.000Z" };
    for (let round = 0; round < 2; round++) {
      const t = await texts(epics);
      expect(compact(head, t)).toBe(JSON.stringify({ ...head, epics: asObject }));
      expect(pretty(head, t)).toBe(JSON.stringify({ ...head, epics: asObject }, null, 2));
      // a change is a new object: its text is made again, the others come from the cache
      epics.set("EP-001", epic("EP-001", { stage: "review", iteration: 2 }));
      asObject["EP-001"] = epics.get("EP-001")!;
    }
  });

  it("the same epic object under another id is not taken from the cache", async () => {
    const e = epic("EP-1");
    expect(compact({}, await texts(new Map([["EP-1", e]])))).toBe(JSON.stringify({ epics: { "EP-1": e } }));
    expect(compact({}, await texts(new Map([["EP-2", e]])))).toBe(JSON.stringify({ epics: { "EP-2": e } }));
  });

  it("handles no epics, an empty head, and several members after the head", async () => {
    const t = await texts(new Map());
    expect(compact({}, t)).toBe(JSON.stringify({ epics: {} }));
    expect(text(compactWithLast({}, [["a", (out) => out.push(Buffer.from("[1]"))], ["epics", (out) => putEpics(out, t, "compact")]]))).toBe(JSON.stringify({ a: [1], epics: {} }));
    expect(pretty({}, t)).toBe(JSON.stringify({ epics: {} }, null, 2));
    expect(pretty({ a: 1 }, t)).toBe(JSON.stringify({ a: 1, epics: {} }, null, 2));
  });

  it("gives the loop back between slices, and serialises the snapshot it was given while the epics change meanwhile (issue 17.3)", async () => {
    const live = new Map(Array.from({ length: 50 }, (_, i) => [`EP-${String(i).padStart(3, "0")}`, epic(`EP-${i}`)] as const));
    const snapshot = new Map(live);
    const expected = JSON.stringify(Object.fromEntries(snapshot));
    let pauses = 0;
    // every epic is a slice of its own (sliceMs 0); during each pause the daemon's next batch changes an epic
    const t = await texts(snapshot, async () => {
      pauses++;
      live.set("EP-000", epic("EP-000", { stage: "review", iteration: pauses }));
    }, 0);
    expect(pauses).toBe(50);
    expect(compact({}, t)).toBe(JSON.stringify({ epics: JSON.parse(expected) }));
  });

  it("the agents' view: byte for byte JSON.stringify(agentViewToJson(v)), also after a stage entry changes and with jobs live and finished", () => {
    const v: AgentView = emptyAgentView();
    const agents = (): string => {
      const out: Buffer[] = [];
      putAgentView(out, v);
      return text(out);
    };
    expect(agents()).toBe(JSON.stringify(agentViewToJson(v)));
    v.stageEntries.set("EP-001", { seq: 3, stage: "plan", iteration: 1 });
    v.stageEntries.set("__proto__", { seq: 5, stage: "review", iteration: 2, rework: true });
    v.stageEntries.set("EP-\u00e9", { seq: 9, stage: "plan", iteration: 1 });
    v.jobs.set("00000003-planner", { id: "00000003-planner", agent: "planner", role: "planner", kind: "stage", trigger_seq: 3, epic_id: "EP-001", status: "done", attempt: 1, launches: 1 });
    v.jobs.set("00000001-planner", { id: "00000001-planner", agent: "planner", role: "planner", kind: "stage", trigger_seq: 1, epic_id: "EP-001", status: "done", attempt: 1, launches: 1 });
    v.jobs.set("00000009-planner", { id: "00000009-planner", agent: "planner", role: "planner", kind: "stage", trigger_seq: 9, epic_id: "EP-\u00e9", status: "queued", attempt: 0, launches: 0 });
    const live = [["00000003-planner", "00000009-planner"], ["00000009-planner"]];
    for (let round = 0; round < 2; round++) {
      expect(agents()).toBe(JSON.stringify(agentViewToJson(v)));
      // a finished job stays only while its trigger is its epic's current stage entry
      expect(agentViewToJson(v).jobs.map((j) => j.id)).toEqual(live[round]);
      v.stageEntries.set("EP-001", { seq: 11, stage: "review", iteration: 1 });
    }
  });
});
