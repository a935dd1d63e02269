import { appendFileSync, mkdtempSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Mirror } from "../../src/store/fs/mirror.js";
import { sealLine } from "../../src/log/chain.js";

// A daemon line as the store seals it (the MAC here is a stand-in: the check is the store's, given to Mirror).
const daemonLine = (seq: number): string => sealLine(`{"seq":${seq},"timestamp":"2026-11-30T00:00:00.000Z","agent":"orchestrator","decision":"epic_created","epic_id":"EP-${seq}"}`, "0".repeat(64), "", () => `k1.${"ab".repeat(32)}`).line;

describe("the readable log's copies of the daemon's own lines", () => {
  let dir: string;
  let path: string;
  let checked: string[];
  let mirror: Mirror;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "consensus-mirror-own-"));
    path = join(dir, "decision_log.jsonl");
    checked = [];
    // the store's check of a line that claims to be the daemon's: here, "genuine" only if sealed as above
    mirror = new Mirror(path, (t) => (checked.push(t), /"mac":"k1\.(ab){32}"\}$/.test(t)), 0);
  });
  afterEach(async () => {
    await mirror.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("are recognised without the full check; an agent's line between them is read, and an altered copy is still reported forged", async () => {
    await mirror.copy([1, 2].map((seq) => ({ seq, text: daemonLine(seq) })));
    appendFileSync(path, `{"agent":"planner","decision":"plan_created","epic_id":"EP-1"}\n`);
    await mirror.copy([{ seq: 3, text: daemonLine(3) }]);
    const altered = daemonLine(2).replace('"EP-2"', '"EP-9"').replace(/"mac":"[^"]+"/, '"mac":"k1.forged"');
    appendFileSync(path, `${altered}\n`);
    const r = await mirror.read();
    expect(r?.entries.map((e) => e.line)).toEqual([3]);
    expect(r?.forged.map((f) => f.line)).toEqual([5]);
    // only the altered line went through the full check; the daemon's three copies did not
    expect(checked).toEqual([altered]);
    // the same bytes read again (a commit of what was read failed): the full check, which accepts them
    mirror.readAt = { offset: 0, line: 0 };
    const again = await mirror.read();
    expect(again?.forged.map((f) => f.line)).toEqual([5]);
    expect(checked).toHaveLength(5);
  });

  // against an agent (review4): the shortcut must never skip the check of a line an agent wrote
  it("an agent's copy of a daemon line, read first, uses up the shortcut: the daemon's own copy then gets the full check (both genuine)", async () => {
    appendFileSync(path, `${daemonLine(1)}\n`); // the agent copies the line before the daemon does
    await mirror.copy([{ seq: 1, text: daemonLine(1) }]);
    const r = await mirror.read();
    expect(r?.forged ?? []).toEqual([]);
    expect(r?.entries ?? []).toEqual([]);
    expect(checked).toEqual([daemonLine(1)]);
  });

  it("a forged line put where the daemon's copy was (the file cut and rewritten) is checked in full and reported", async () => {
    await mirror.copy([1, 2].map((seq) => ({ seq, text: daemonLine(seq) })));
    const forged = daemonLine(2).replace('"EP-2"', '"EP-9"').replace(/"mac":"[^"]+"/, `"mac":"k1.${"cd".repeat(32)}"`);
    // the agent cuts the copy of seq 2 and writes its forgery in its place, same length
    truncateSync(path, statSync(path).size - daemonLine(2).length - 1);
    appendFileSync(path, `${forged}\n`);
    const r = await mirror.read();
    expect(r?.forged.map((f) => f.text)).toEqual([forged]);
    expect(checked).toEqual([forged]);
  });

  it("an agent's pretty-printed entry with a daemon line landing inside it is still read whole", async () => {
    appendFileSync(path, `{\n  "agent": "planner",\n`);
    await mirror.copy([{ seq: 1, text: daemonLine(1) }]);
    appendFileSync(path, `  "decision": "plan_created"\n}\n`);
    const r = await mirror.read();
    expect(r?.entries.map((e) => e.text)).toEqual([`{\n  "agent": "planner",\n  "decision": "plan_created"\n}`]);
    expect(r?.forged ?? []).toEqual([]);
  });
});
