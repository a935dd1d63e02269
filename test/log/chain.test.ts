import { describe, expect, it } from "vitest";
import { ChainVerifier, GENESIS, chainHash, sealLine, unsealLine } from "../../src/log/chain.js";
import { Keyring } from "../../src/trust/keyring.js";
import { sealedLog } from "../support/sealed-log.js";

type Step = { daemon: string } | { agent: string };

const daemonBody = (seq: number, decision: string): string =>
  JSON.stringify({ seq, timestamp: `2026-11-21T10:00:0${seq}Z`, agent: "orchestrator", decision, epic_id: "EP-001", iteration: 1 });
const agentLine = (agent: string, decision: string): string =>
  JSON.stringify({ timestamp: "2026-11-21T10:00:00Z", agent, decision, epic_id: "EP-001", iteration: 1, details: { note: "ok" } });

/** Writes a log as the daemon does: each daemon line sealed with the previous hash and the agent lines since. */
const build = (steps: Step[]): { lines: string[]; head: string } => sealedLog(steps.map((s) => ("agent" in s ? s : { body: (seq: number) => daemonBody(seq, s.daemon) })));

function verify(lines: readonly string[]) {
  const v = new ChainVerifier();
  for (const l of lines) v.push(l);
  return v.result();
}

/**
 * The log every test tampers with (1-based line numbers):
 *   1 daemon seq 1    2 agent devops    3 daemon seq 2    4 agent quality    5 agent devops
 *   6 daemon seq 3    7 daemon seq 4    8 agent planner (after the last daemon line)
 */
function sample(): { lines: string[]; head: string } {
  return build([
    { daemon: "epic_started" },
    { agent: agentLine("devops", "approve") },
    { daemon: "artifact_accepted" },
    { agent: agentLine("quality", "approve") },
    { agent: agentLine("devops", "veto") },
    { daemon: "stage_advanced" },
    { daemon: "veto_recorded" },
    { agent: agentLine("planner", "info") },
  ]);
}

/** Replaces the first occurrence of `from` in line n (1-based); the edit must change the line. */
function edit(lines: string[], n: number, from: string, to: string): string[] {
  const out = [...lines];
  const before = out[n - 1]!;
  out[n - 1] = before.replace(from, to);
  expect(out[n - 1]).not.toBe(before);
  return out;
}

describe("sealLine / unsealLine", () => {
  it("appends the hash as the last field and unseals back to the body", () => {
    const body = daemonBody(1, "epic_started");
    const { line, hash } = sealLine(body, GENESIS, "");
    expect(line).toBe(`${body.slice(0, -1)},"hash":"${hash}"}`);
    expect(JSON.parse(line)).toMatchObject({ seq: 1, hash });
    expect(unsealLine(line)).toMatchObject({ body, hash });
    expect(hash).toBe(chainHash(GENESIS, "", body));
  });

  it("finds the seal at the end when the body itself holds a \"hash\" key, with and without a MAC", () => {
    const inner = "a".repeat(64);
    const body = `{"seq":1,"agent":"orchestrator","decision":"x","details":{"hash":"${inner}","n":1}}`;
    const { line, hash } = sealLine(body, GENESIS, "", () => "k1.abc");
    expect(unsealLine(line)).toEqual({ body, hash, mac: "k1.abc", signed: `${body.slice(0, -1)},"hash":"${hash}"` });
    const bare = sealLine(body, GENESIS, "");
    expect(unsealLine(bare.line)).toMatchObject({ body, hash: bare.hash });
    // a seal not at the very end is none: text after it
    expect(unsealLine(`${line.slice(0, -1)},"x":1}`)).toBeUndefined();
    expect(unsealLine(`${body.slice(0, -1)},"hash":"${inner}"} `)).toBeUndefined();
  });

  it("does not unseal an agent line", () => {
    expect(unsealLine(agentLine("devops", "approve"))).toBeUndefined();
  });
});

describe("ChainVerifier on an intact log", () => {
  it("reports ok for daemon lines interleaved with agent lines", () => {
    const { lines, head } = sample();
    expect(verify(lines)).toEqual({ ok: true, lines: 8, daemonLines: 4, agentLines: 4, lastSeq: 4, head });
  });

  it("reports ok for an empty log, at the genesis hash", () => {
    expect(verify([])).toMatchObject({ ok: true, lines: 0, lastSeq: 0, head: GENESIS });
  });

  it("reports ok for a log of agent lines only", () => {
    expect(verify([agentLine("devops", "approve"), agentLine("quality", "veto")])).toMatchObject({ ok: true, daemonLines: 0, agentLines: 2 });
  });

  it("chains a daemon line to the agent lines before the first daemon line", () => {
    const { lines } = build([{ agent: agentLine("devops", "approve") }, { daemon: "epic_started" }]);
    expect(verify(lines)).toMatchObject({ ok: true, daemonLines: 1, agentLines: 1 });
  });
});

describe("ChainVerifier on a tampered log: broken.line is the first line that does not chain", () => {
  it("one character edited in a daemon line's body → that line (3): its hash no longer matches", () => {
    const r = verify(edit(sample().lines, 3, "EP-001", "EP-002"));
    expect(r.ok).toBe(false);
    expect(r.broken?.line).toBe(3);
  });

  it("one character edited in a daemon line's hash → that line (3)", () => {
    const lines = sample().lines;
    const h = unsealLine(lines[2]!)!.hash;
    const r = verify(edit(lines, 3, `"hash":"${h}"`, `"hash":"${h.slice(0, -1)}${h.endsWith("0") ? "1" : "0"}"`));
    expect(r.broken?.line).toBe(3);
  });

  it("one character edited in a daemon line's seq → that line (3): seq 3 where 2 was due", () => {
    const r = verify(edit(sample().lines, 3, '"seq":2', '"seq":3'));
    expect(r.broken?.line).toBe(3);
  });

  it("a daemon line torn off its hash field (3) → the next daemon line (6): the unsealed line is chained as foreign bytes, so seq 3 arrives where 2 was due", () => {
    const r = verify(edit(sample().lines, 3, ',"hash":"', ',"hash":"x'));
    expect(r.broken?.line).toBe(6);
    expect(r.broken?.reason).toMatch(/sequence/);
  });

  it("one character edited in an agent line (4) → the next daemon line (6), whose hash covers line 4", () => {
    const r = verify(edit(sample().lines, 4, '"approve"', '"approvE"'));
    expect(r.ok).toBe(false);
    expect(r.broken?.line).toBe(6);
  });

  it("an agent line after the last daemon line is covered once the next daemon line is sealed over the original", () => {
    const { lines, head } = sample();
    const next = sealLine(daemonBody(5, "promoted"), head, `${lines[7]!}\n`).line;
    const tampered = edit([...lines, next], 8, '"info"', '"infO"');
    // line 8 itself is an agent line and cannot be checked; line 9 is the first whose hash covers it
    expect(verify(tampered).broken?.line).toBe(9);
  });

  it("a daemon line deleted (3) → the next daemon line, now line 5: seq 3 where 2 was due", () => {
    const lines = sample().lines;
    lines.splice(2, 1);
    const r = verify(lines);
    expect(r.broken?.line).toBe(5);
    expect(r.broken?.reason).toMatch(/sequence/);
  });

  it("the last daemon line deleted → still ok up to seq 3 (a truncated tail is a shorter log, lastSeq says how long)", () => {
    const lines = sample().lines;
    lines.splice(6, 1);
    expect(verify(lines)).toMatchObject({ ok: true, lastSeq: 3 });
  });

  it("an agent line deleted (2) → the next daemon line, now line 2: its hash covered the deleted line", () => {
    const lines = sample().lines;
    lines.splice(1, 1);
    const r = verify(lines);
    expect(r.broken?.line).toBe(2);
    expect(r.broken?.reason).toMatch(/hash/);
  });

  it("two daemon lines swapped (6 and 7) → line 6: seq 4 where 3 was due", () => {
    const lines = sample().lines;
    [lines[5], lines[6]] = [lines[6]!, lines[5]!];
    expect(verify(lines).broken?.line).toBe(6);
  });

  it("two agent lines swapped (4 and 5) → the next daemon line (6): the agent lines it covers are in another order", () => {
    const lines = sample().lines;
    [lines[3], lines[4]] = [lines[4]!, lines[3]!];
    expect(verify(lines).broken?.line).toBe(6);
  });

  it("an agent line and the daemon line after it swapped (2 and 3) → line 2: the daemon line now has no agent line before it", () => {
    const lines = sample().lines;
    [lines[1], lines[2]] = [lines[2]!, lines[1]!];
    expect(verify(lines).broken?.line).toBe(2);
  });

  it("a forged orchestrator line without a hash inserted after line 3 → the next daemon line, now 7: its hash never covered the forged bytes", () => {
    // An unsealed line is not a daemon line (it may be a torn write); its bytes are chained like an
    // agent's, so the genuine seq-3 line after it (line 6 before the insert) no longer matches.
    const lines = sample().lines;
    lines.splice(3, 0, JSON.stringify({ seq: 3, timestamp: "2026-11-21T10:00:09Z", agent: "orchestrator", decision: "promoted", epic_id: "EP-001" }));
    const r = verify(lines);
    expect(r.broken?.line).toBe(7);
    expect(r.broken?.reason).toMatch(/hash/);
  });

  it("a forged orchestrator line with a made-up hash inserted after line 3 → the forged line (4)", () => {
    const lines = sample().lines;
    lines.splice(3, 0, `${daemonBody(3, "promoted").slice(0, -1)},"hash":"${"a".repeat(64)}"}`);
    expect(verify(lines).broken?.line).toBe(4);
  });

  it("a forged orchestrator line reusing a seq (2) inserted after line 3 → the forged line (4): seq 2 where 3 was due", () => {
    const lines = sample().lines;
    const forged = sealLine(daemonBody(2, "promoted"), unsealLine(lines[2]!)!.hash, "").line;
    lines.splice(3, 0, forged);
    expect(verify(lines).broken?.line).toBe(4);
  });

  it("a forged orchestrator line correctly sealed after line 3 → the next genuine daemon line (7), which no longer chains", () => {
    // The forger can compute the hash (the chain has no secret), so the forged line itself chains;
    // the genuine seq-3 line after it (line 6 before the insert, now 7) is then out of sequence.
    const lines = sample().lines;
    const forged = sealLine(daemonBody(3, "promoted"), unsealLine(lines[2]!)!.hash, "").line;
    lines.splice(3, 0, forged);
    expect(verify(lines).broken?.line).toBe(7);
  });

  it("stops at the first break and still counts every line pushed", () => {
    const r = verify(edit(sample().lines, 1, "epic_started", "epic_startet"));
    expect(r).toMatchObject({ ok: false, lines: 8, lastSeq: 0, broken: { line: 1 } });
  });
});

describe("sealed with the daemon key's MAC", () => {
  const ring = new Keyring([{ id: "k1", secret: Buffer.alloc(32, 7), created_at: "2026-11-21T10:00:00Z" }]);
  const other = new Keyring([{ id: "k1", secret: Buffer.alloc(32, 9), created_at: "2026-11-21T10:00:00Z" }]);
  const mac = (s: string) => ring.mac("log", s);
  const check = (s: string, m: string) => ring.check("log", s, m).ok;
  const sealedLog = (): string[] => {
    const a = sealLine(daemonBody(1, "epic_started"), GENESIS, "", mac);
    const b = sealLine(daemonBody(2, "stage_advanced"), a.hash, "", mac);
    return [a.line, b.line];
  };

  it("the MAC follows the hash; the chain alone still verifies without the key", () => {
    const lines = sealedLog();
    expect(lines[0]).toMatch(/,"hash":"[0-9a-f]{64}","mac":"k1\.[0-9a-f]{64}"\}$/);
    expect(unsealLine(lines[0]!)).toMatchObject({ mac: expect.stringMatching(/^k1\./) });
    const v = new ChainVerifier();
    for (const l of lines) v.push(l);
    expect(v.result().ok).toBe(true);
    const w = new ChainVerifier(check);
    for (const l of lines) w.push(l);
    expect(w.result()).toMatchObject({ ok: true, daemonLines: 2 });
  });

  it("a promoted line re-chained correctly but without the key is forged: the chain passes, the MAC check does not", () => {
    const lines = sealedLog();
    const forged = sealLine(daemonBody(3, "promoted"), unsealLine(lines[1]!)!.hash, "", (s) => other.mac("log", s)).line;
    const noMac = sealLine(daemonBody(3, "promoted"), unsealLine(lines[1]!)!.hash, "").line;
    for (const f of [forged, noMac]) {
      const chainOnly = new ChainVerifier();
      for (const l of [...lines, f]) chainOnly.push(l);
      expect(chainOnly.result().ok).toBe(true);
      const keyed = new ChainVerifier(check);
      for (const l of [...lines, f]) keyed.push(l);
      expect(keyed.result()).toMatchObject({ ok: false, broken: { line: 3, reason: expect.stringMatching(/forged/) } });
    }
  });
});
