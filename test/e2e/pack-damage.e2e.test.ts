/**
 * The pack damaged, and effects planted around, as a new-user and attacker pass found them (issue 17):
 * each test states what a person or an agent does and what should follow, and failed before its fix
 * (4601baa). Real daemon, real files, no timing.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { artifact, Bus, rootWithAcceptedPlan } from "../support/bus.js";

let bus: Bus | undefined;
let outside: string | undefined;
afterEach(async () => {
  await bus?.stopDaemon("SIGKILL");
  bus?.cleanup();
  if (outside) rmSync(outside, { recursive: true, force: true });
  bus = undefined;
  outside = undefined;
});

const pack = (b: Bus): string => join(b.root, ".consensus", "pack");
const seqs = (b: Bus, decision: string): number[] =>
  b
    .entries()
    .filter((e) => e.decision === decision)
    .map((e) => e.seq as number);

/** A root where EP-001's plan was accepted (seq 2) and the epic moved to implementation (seq 3), by a daemon that exited cleanly. */
function acceptedPlan(): Bus {
  const b = rootWithAcceptedPlan("EP-001", "Pack").bus;
  expect(seqs(b, "artifact_accepted")).toEqual([2]);
  expect(existsSync(join(b.root, "archive/EP-001/1/plan.json"))).toBe(true);
  return b;
}

describe("the pack damaged by a person (removed, cut) after its commit's effects ran", () => {
  it("recovery does not cut a commit whose effects ran (archive copy made, readable copy written): it reports pack_record_damaged", () => {
    bus = acceptedPlan();
    // the checkpoint is derived (rebuilt from the log); the pack is cut to nothing, as a bad restore or `> pack` would
    unlinkSync(join(bus.root, ".consensus", "checkpoint.json"));
    truncateSync(pack(bus), 0);
    const once = bus.cli("watch", "--once");
    expect(once.code, once.stderr).toBe(0);
    // the plan's acceptance was committed and acted on (archive copy, notice, readable copy): it must stay in the log of record
    expect(seqs(bus, "log_torn_transaction")).toEqual([]);
    expect(seqs(bus, "pack_record_damaged").length).toBe(1);
    const accepted = bus.entries().filter((e) => e.decision === "artifact_accepted");
    expect(accepted.map((e) => e.seq)).toEqual([2]);
    // and the readable copy's lines are not turned into "forged" ones by the daemon's own cut
    const verify = bus.cli("log", "verify");
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it("with the checkpoint in place, a removed pack is reported (doctor, log), not silently refilled with zeros", () => {
    bus = acceptedPlan();
    rmSync(pack(bus));
    // consensus log shows every committed entry, or says why it does not
    const log = bus.cli("log", "--json");
    expect(log.code).toBe(0);
    const shown = log.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(shown, `consensus log shows seq ${shown.join(",")} and says: ${log.stderr}`).toContain(2);
    // doctor looks at the pack the log names
    const doctor = bus.cli("doctor");
    expect(doctor.stdout + doctor.stderr).toMatch(/pack/);
    expect(doctor.code).toBe(4);
    expect(doctor.stdout).toMatch(/fail\s+pack\s+.*is missing/);
    // the daemon's next start says the accepted bytes are gone
    expect(bus.cli("start", "EP-002", "--title", "After").code).toBe(0);
    bus.drop("artifacts/EP-002/plan.json", artifact("plan.json", "EP-002", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(seqs(bus, "pack_record_damaged").length).toBeGreaterThan(0);
  });

  it("a pack replaced by a link is refused with a named error and its fix, not 'internal error … This is a bug'", () => {
    bus = acceptedPlan();
    outside = mkdtempSync(join(tmpdir(), "consensus-outside-"));
    renameSync(pack(bus), join(outside, "pack"));
    symlinkSync(join(outside, "pack"), pack(bus));
    expect(bus.cli("start", "EP-002", "--title", "Through a link").code).toBe(0);
    bus.drop("artifacts/EP-002/plan.json", artifact("plan.json", "EP-002", 1));
    const once = bus.cli("watch", "--once");
    expect(once.stderr).not.toMatch(/This is a bug/);
    expect(once.stderr).toMatch(/\.consensus\/pack/);
    expect(once.stderr).toMatch(/fix/i);
    expect(once.code).not.toBe(0);
    expect(once.stderr).toMatch(/UNSAFE_PATH/);
    expect(once.stderr).toMatch(/fix: .*\.consensus\/pack/);
    expect(lstatSync(pack(bus)).isSymbolicLink()).toBe(true);
  });
});

describe("an archive copy the daemon could not make (a planted link)", () => {
  it("is made at the next start once the link is gone, as the daemon's error promises ('it will be retried on restart')", () => {
    bus = Bus.init();
    outside = mkdtempSync(join(tmpdir(), "consensus-outside-"));
    expect(bus.cli("start", "EP-001", "--title", "Link").code).toBe(0);
    // an agent plants archive/EP-001 as a link before the daemon writes the copy
    mkdirSync(join(bus.root, "archive"), { recursive: true });
    symlinkSync(outside, join(bus.root, "archive", "EP-001"));
    const plan = artifact("plan.json", "EP-001", 1);
    bus.drop("artifacts/EP-001/plan.json", plan);
    const first = bus.cli("watch", "--once");
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/retried before the next checkpoint and on restart/);
    expect(seqs(bus, "artifact_accepted")).toEqual([2]);
    // nothing went through the link
    expect(existsSync(join(outside, "1"))).toBe(false);
    // a person removes the link and restarts the daemon, as told
    unlinkSync(join(bus.root, "archive", "EP-001"));
    expect(bus.cli("watch", "--once").code).toBe(0);
    const copy = join(bus.root, "archive/EP-001/1/plan.json");
    expect(existsSync(copy), "archive/EP-001/1/plan.json was never made").toBe(true);
    expect(readFileSync(copy, "utf8")).toBe(plan);
  });
});

describe("the same bytes accepted again", () => {
  it("after a restart (or a checkpoint) are not written to the pack again: the entry names the record already there", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Same bytes").code).toBe(0);
    for (const name of ["plan.json", "implementation.json", "review.json"]) {
      bus.drop(`artifacts/EP-001/${name}`, artifact(name, "EP-001", 1));
      expect(bus.cli("watch", "--once").code).toBe(0);
    }
    // at deployment, devops drops runbook.md, then another, then the first again (each a watch --once: a checkpoint between)
    const a = artifact("runbook.md", "EP-001", 1);
    const b = `${a}\n<!-- second version -->\n`;
    for (const text of [a, b, a]) {
      bus.drop("artifacts/EP-001/runbook.md", text);
      expect(bus.cli("watch", "--once").code).toBe(0);
    }
    const runbooks = bus
      .entries()
      .filter((e) => e.decision === "artifact_accepted" && String((e.details as { file: string }).file).endsWith("runbook.md"))
      .map((e) => e.details as { sha256: string; pack: { offset: number } });
    expect(runbooks.length).toBe(3);
    expect(runbooks[2]!.sha256).toBe(runbooks[0]!.sha256);
    // pack.ts / putBlob: "Bytes already in a record this process knows are not written again" — a
    // content-addressed store (the blobs/ of before) kept one copy; the pack writes a new record each time
    expect(runbooks[2]!.pack.offset).toBe(runbooks[0]!.pack.offset);
  });
});

describe("a notice whose predictable name an agent took with a folder the daemon cannot move", () => {
  it("is written at once at its keyed name, said with the fix, and not written again at the next start", () => {
    const b = (bus = Bus.init());
    expect(b.cli("start", "EP-001", "--title", "Notice").code).toBe(0);
    // seq 2 accepts the plan, seq 3 enters implementation: the developer's notice is named after seq 3.
    // messages/inbox/developer/ is a drop zone: any agent may write there. Root's folder (the tests run
    // as root) is not renamed aside: the write at that name fails, and the keyed name is used
    // (trust/notice-name.ts); before it, the notice waited for a person to remove the folder
    const planted = join(b.root, "messages/inbox/developer/notice-00000003-EP-001-stage_entered.yaml");
    mkdirSync(join(planted, "x"), { recursive: true });
    b.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    const first = b.cli("watch", "--once");
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/the notice is written at its keyed name/);
    expect(first.stderr).toContain(`rm -r ${planted}`);
    const inbox = join(b.root, "messages/inbox/developer");
    const told = () => b.inbox("developer").filter((n) => n.includes("EP-001") && n.includes("stage_entered") && lstatSync(join(inbox, n)).isFile());
    expect(told(), "the developer was never told EP-001 is theirs").toEqual([expect.stringMatching(/^notice-00000003-EP-001-stage_entered\.[0-9a-f]{16}\.yaml$/)]);
    rmSync(planted, { recursive: true });
    expect(b.cli("watch", "--once").code).toBe(0);
    expect(told(), "the next start wrote the notice a second time").toHaveLength(1);
  });
});
