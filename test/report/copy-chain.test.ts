/** The committed readable copy's daemon lines verified without the log of record (src/log/copy-chain.ts). Pure. */
import { describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { sealLine, type LineCheck } from "../../src/log/chain.js";
import { verifyCopy } from "../../src/log/copy-chain.js";

const KEY = "k1";
const mac = (signed: string): string => `${KEY}.${createHmac("sha256", "secret").update(signed).digest("hex")}`;
const check: LineCheck = (signed, m) => (m.startsWith(`${KEY}.`) ? mac(signed) === m : "old");
const agent = (d: string) => JSON.stringify({ timestamp: "2026-11-30T00:00:00Z", agent: "developer", decision: d });

/** A copy as the daemon leaves it: seq 1, an agent line it then records (seq 2-3, one transaction), seq 4 with a state. */
function copy(): string[] {
  const a = agent("started_work");
  const l1 = sealLine(JSON.stringify({ seq: 1, txn: 1, agent: "orchestrator", decision: "epic_started" }), "0".repeat(64), "", mac);
  const l2 = sealLine(JSON.stringify({ seq: 2, txn: 2, agent: "orchestrator", decision: "log_line_forged" }), l1.hash, `${a}\n`, mac);
  const l3 = sealLine(JSON.stringify({ seq: 3, agent: "orchestrator", decision: "agent_lines_recorded", details: { lines: [[2, 2]], count: 1 } }), l2.hash, "", mac);
  const l4 = sealLine(JSON.stringify({ seq: 4, txn: 1, agent: "orchestrator", decision: "promoted", state: { epic_id: "EP-001", status: "promoted" } }), l3.hash, "", mac);
  return [l1.line, a, l2.line, l3.line, agent("later, never recorded"), l4.line];
}

describe("verifyCopy", () => {
  it("verifies the chain over the daemon's lines, with the agents' lines it recorded, and the MACs given a key", () => {
    const r = verifyCopy(copy(), check, "EP-001");
    expect(r).toMatchObject({ ok: true, daemonLines: 4, agentLines: 2, lastSeq: 4, macChecked: true, epic: { status: "promoted" } });
    expect(verifyCopy(copy())).toMatchObject({ ok: true, lastSeq: 4, macChecked: false });
  });

  it("a recorded agent line edited, a daemon line removed, or one claiming to be the daemon's unsealed: broken", () => {
    const edited = copy();
    edited[1] = agent("started_wurk");
    expect(verifyCopy(edited).broken).toMatchObject({ line: 3, reason: expect.stringMatching(/hash does not match/) });
    const removed = copy();
    removed.splice(3, 1);
    expect(verifyCopy(removed).broken?.reason).toMatch(/sequence number 4 where 3 was due/);
    expect(verifyCopy([...copy(), JSON.stringify({ seq: 5, agent: "orchestrator", decision: "promoted" })]).broken?.line).toBe(7);
  });

  it("a line re-hashed after an edit passes the chain alone, and fails its MAC; a key that seals nothing fails", () => {
    const lines = copy();
    const prev = /"hash":"([0-9a-f]{64})"/.exec(lines[3]!)![1]!;
    lines[5] = sealLine(JSON.stringify({ seq: 4, txn: 1, agent: "orchestrator", decision: "promoted", state: { epic_id: "EP-001", status: "promoted", forged: true } }), prev, "", () => `${KEY}.${"0".repeat(64)}`).line;
    expect(verifyCopy(lines).ok).toBe(true);
    expect(verifyCopy(lines, check).broken?.reason).toMatch(/MAC does not check/);
    expect(verifyCopy(copy(), () => "old").broken?.reason).toMatch(/no daemon line is sealed by a key the given key file holds in force/);
  });
});
