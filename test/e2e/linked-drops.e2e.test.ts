/**
 * Links where a drop is expected, against one real daemon (the silences of review rv8): a symbolic
 * link at an artifact's or a message's name that leads nowhere the daemon reads (dangling, to a
 * folder), into the daemon's private area (.consensus/: its key), or an epic's folder that is itself a
 * link (out of the root, into .consensus/, to another epic's folder). Each gets a rejection entry that
 * names the file and, for an epic's folder, its epic; the role whose folder it is gets a notice with
 * what is wrong, where and the fix; nothing is read through the link, and the link is left in place.
 *
 * The test user is the daemon's own (no agent users are configured), so links are judged by where
 * they lead, as a person's would be (an agent's link at a stage's name is refused unread by
 * prepare.ts, set-aside.test.ts covers it).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogEntry } from "../../src/schemas/types.gen.js";
import { Bus, artifact, daemonHolding, vetoYaml } from "../support/bus.js";

let bus: Bus;
let outside: string;

interface Rejection {
  file: string;
  sha256: string;
  author?: string;
  errors: Array<{ code: string; message: string; fix: string; found?: string }>;
}

interface Notice {
  from: string;
  to: string;
  epic_id?: string;
  subject: string;
  content: { file: string; file_abs?: string; errors?: Array<{ code: string; message: string; fix: string }>; reason?: string; in_force?: boolean };
}

const pad = (n: number): string => String(n).padStart(8, "0");

function start(epic: string): void {
  const r = bus.cli("start", epic, "--title", `linked drop ${epic}`);
  expect(r.code, r.stderr).toBe(0);
}

const rejectionOf = (es: LogEntry[], file: string): LogEntry | undefined =>
  es.find((e) => (e.decision === "artifact_rejected" || e.decision === "message_rejected") && (e.details as { file?: unknown }).file === file);

/** Waits for the rejection of `file`, checks it has a code, message and fix, and returns it with its details. */
async function rejected(file: string, code: string): Promise<{ entry: LogEntry; d: Rejection }> {
  const es = await bus.waitFor(`a rejection of ${file}`, (all) => rejectionOf(all, file) !== undefined, 20_000);
  const entry = rejectionOf(es, file)!;
  const d = entry.details as unknown as Rejection;
  expect(d.errors.map((x) => x.code), JSON.stringify(d)).toContain(code);
  for (const x of d.errors) {
    expect(x.message.length, JSON.stringify(x)).toBeGreaterThan(0);
    expect(x.fix.length, JSON.stringify(x)).toBeGreaterThan(0);
  }
  // the link itself stays where it was put (nothing deletes it), the daemon goes on
  expect(lstatSync(join(bus.root, file)).isSymbolicLink()).toBe(true);
  expect(bus.daemon!.exitCode, bus.daemonErr).toBeNull();
  return { entry, d };
}

/** The notice `role` got for `entry` (`subject`: artifact_rejected, message_not_in_force …), once written. */
async function noticeFor(role: string, entry: LogEntry, subject: string): Promise<Notice> {
  const path = join(bus.root, "messages/inbox", role, `notice-${pad(entry.seq!)}-${entry.epic_id ?? "unknown"}-${subject}.yaml`);
  await bus.until(`notice ${path}`, () => existsSync(path));
  return load(readFileSync(path, "utf8")) as Notice;
}

beforeAll(async () => {
  outside = mkdtempSync(join(tmpdir(), "consensus-outside-"));
  bus = Bus.init();
  bus.editConfig((t) => t.replace(/settle_ms: \d+/, "settle_ms: 100"));
  await daemonHolding(bus);
});

afterAll(async () => {
  await bus?.stopDaemon();
  bus?.cleanup();
  if (outside) rmSync(outside, { recursive: true, force: true });
});

describe("a link at a drop's name that leads nowhere readable is answered, not skipped", () => {
  it("a dangling link at an artifact's name: rejected with its target and the fix, the stage owner told", async () => {
    start("L-DANGLE");
    symlinkSync("/nonexistent/plan.json", join(bus.root, "artifacts/L-DANGLE/plan.json"));
    const { entry, d } = await rejected("artifacts/L-DANGLE/plan.json", "NOT_REGULAR_FILE");
    expect(entry.epic_id).toBe("L-DANGLE");
    expect(d.author).toBe("planner");
    expect(d.errors[0]!.message).toContain("/nonexistent/plan.json");
    expect(d.errors[0]!.fix).toContain("rm artifacts/L-DANGLE/plan.json");
    const n = await noticeFor("planner", entry, "artifact_rejected");
    expect(n).toMatchObject({ from: "orchestrator", to: "planner", epic_id: "L-DANGLE", content: { file: "consensus/artifacts/L-DANGLE/plan.json", file_abs: `${realpathSync(bus.root)}/artifacts/L-DANGLE/plan.json` } });
    expect(n.content.errors!.map((x) => x.code)).toContain("NOT_REGULAR_FILE");
  });

  it("a link at an artifact's name to a folder inside the root: rejected, not skipped as a folder", async () => {
    start("L-TODIR");
    symlinkSync(join(bus.root, "epics"), join(bus.root, "artifacts/L-TODIR/plan.json"));
    const { entry, d } = await rejected("artifacts/L-TODIR/plan.json", "NOT_REGULAR_FILE");
    expect(entry.epic_id).toBe("L-TODIR");
    expect(d.author).toBe("planner");
    expect(d.errors[0]!.found).toMatch(/folder/);
    await noticeFor("planner", entry, "artifact_rejected");
  });

  it("a dangling link in an inbox: rejected, and the role whose inbox it is told what is wrong and the fix", async () => {
    start("L-DANGLEM");
    symlinkSync("/nonexistent/veto.yaml", join(bus.root, "messages/inbox/planner/dangling.yaml"));
    const { entry } = await rejected("messages/inbox/planner/dangling.yaml", "NOT_REGULAR_FILE");
    const n = await noticeFor("planner", entry, "message_not_in_force");
    expect(n.content).toMatchObject({ file: "consensus/messages/inbox/planner/dangling.yaml", in_force: false });
    expect(n.content.reason).toContain("/nonexistent/veto.yaml");
    // its sender cannot be known (nothing was read): the inbox's role is the one told the fix
    expect(n.content.errors!.map((x) => x.fix).join(" ")).toContain("rm messages/inbox/planner/dangling.yaml");
  });
});

describe("a link into the daemon's private area is never read", () => {
  it("an artifact and a message linked to the daemon's key are refused unread, the key's bytes in no entry", async () => {
    start("L-KEY");
    const keyFile = join(bus.root, ".consensus/keys/daemon.key");
    const keySha = createHash("sha256").update(readFileSync(keyFile)).digest("hex");
    symlinkSync(keyFile, join(bus.root, "artifacts/L-KEY/plan.json"));
    symlinkSync(keyFile, join(bus.root, "messages/inbox/planner/key.yaml"));
    const art = await rejected("artifacts/L-KEY/plan.json", "SYMLINK_OUTSIDE");
    const msg = await rejected("messages/inbox/planner/key.yaml", "SYMLINK_OUTSIDE");
    for (const r of [art, msg]) {
      // refused for where it leads, not rejected for what the key file holds (read, it would be SCHEMA errors)
      expect(r.d.errors.map((x) => x.code)).toEqual(["SYMLINK_OUTSIDE"]);
      expect(r.d.errors[0]!.message).toContain("private area");
      expect(r.d.sha256).not.toBe(keySha);
    }
    expect(art.entry.epic_id).toBe("L-KEY");
    expect(art.d.author).toBe("planner");
    await noticeFor("planner", art.entry, "artifact_rejected");
  });
});

describe("an epic's folder that is itself a link: the rejection names the epic, its stage owner is told", () => {
  it("a folder link out of the root", async () => {
    start("L-FOLDOUT");
    const dir = join(outside, "L-FOLDOUT");
    mkdirSync(dir);
    writeFileSync(join(dir, "plan.json"), artifact("plan.json", "L-FOLDOUT", 1));
    rmdirSync(join(bus.root, "artifacts/L-FOLDOUT"));
    symlinkSync(dir, join(bus.root, "artifacts/L-FOLDOUT"));
    const { entry, d } = await rejected("artifacts/L-FOLDOUT", "SYMLINK_OUTSIDE");
    expect(entry.epic_id).toBe("L-FOLDOUT");
    expect(entry.iteration).toBe(1);
    expect(d.author).toBe("planner");
    expect(d.errors[0]!.fix).toContain("mkdir artifacts/L-FOLDOUT");
    const n = await noticeFor("planner", entry, "artifact_rejected");
    expect(n).toMatchObject({ to: "planner", epic_id: "L-FOLDOUT", content: { file: "consensus/artifacts/L-FOLDOUT" } });
    expect(bus.entries().filter((e) => e.epic_id === "L-FOLDOUT" && e.decision === "artifact_accepted")).toEqual([]);
  });

  it("a folder link into the daemon's private area, and one to another epic's folder, are refused (they were silent)", async () => {
    start("L-FOLDPRIV");
    start("L-FOLDIN");
    start("L-FOLDTGT");
    rmdirSync(join(bus.root, "artifacts/L-FOLDPRIV"));
    symlinkSync(join(bus.root, ".consensus"), join(bus.root, "artifacts/L-FOLDPRIV"));
    rmdirSync(join(bus.root, "artifacts/L-FOLDIN"));
    symlinkSync(join(bus.root, "artifacts/L-FOLDTGT"), join(bus.root, "artifacts/L-FOLDIN"));
    const priv = await rejected("artifacts/L-FOLDPRIV", "NOT_REGULAR_FILE");
    const inside = await rejected("artifacts/L-FOLDIN", "NOT_REGULAR_FILE");
    for (const [r, epic] of [[priv, "L-FOLDPRIV"], [inside, "L-FOLDIN"]] as const) {
      expect(r.entry.epic_id).toBe(epic);
      expect(r.d.author).toBe("planner");
      expect(r.d.errors[0]!.message).toContain(`artifacts/${epic} is a symbolic link`);
      await noticeFor("planner", r.entry, "artifact_rejected");
    }
    // nothing in the private area was read as a drop through the link
    const es = bus.entries();
    expect(es.filter((e) => String((e.details as { file?: unknown }).file ?? "").startsWith("artifacts/L-FOLDPRIV/"))).toEqual([]);
    expect(readdirSync(join(bus.root, ".consensus")).some((n) => n.startsWith("notice-"))).toBe(false);
  });
});

describe("what else can stand where an epic's folder goes", () => {
  it("a FIFO at artifacts/<EPIC>: rejected unread naming the epic, the fix says to make the folder", async () => {
    start("L-FOLDFIFO");
    rmdirSync(join(bus.root, "artifacts/L-FOLDFIFO"));
    expect(spawnSync("mkfifo", [join(bus.root, "artifacts/L-FOLDFIFO")]).status).toBe(0);
    const es = await bus.waitFor("a rejection of artifacts/L-FOLDFIFO", (all) => rejectionOf(all, "artifacts/L-FOLDFIFO") !== undefined, 20_000);
    const entry = rejectionOf(es, "artifacts/L-FOLDFIFO")!;
    expect(entry).toMatchObject({ epic_id: "L-FOLDFIFO", details: { author: "planner", errors: [expect.objectContaining({ code: "NOT_REGULAR_FILE", fix: expect.stringContaining("mkdir artifacts/L-FOLDFIFO") })] } });
    await noticeFor("planner", entry, "artifact_rejected");
    expect(lstatSync(join(bus.root, "artifacts/L-FOLDFIFO")).isFIFO()).toBe(true);
  });
});

describe("a link swapped in after the drop was seen", () => {
  it("an accepted plan replaced by a link out of the root: the link is refused, what was accepted stays, the target is untouched", async () => {
    start("L-SWAP");
    const plan = artifact("plan.json", "L-SWAP", 1);
    bus.drop("artifacts/L-SWAP/plan.json", plan);
    const [accepted] = (await bus.waitForDecision("artifact_accepted", 1, "L-SWAP")).filter((e) => e.epic_id === "L-SWAP" && e.decision === "artifact_accepted");
    const target = join(outside, "swapped-plan.json");
    const other = artifact("plan.json", "L-SWAP", 1, { title: "through a link" });
    writeFileSync(target, other);
    // linked at a temporary name, then renamed over the drop (the name never holds anything else)
    const tmp = join(bus.root, "artifacts/L-SWAP/.swap.tmp");
    symlinkSync(target, tmp);
    renameSync(tmp, join(bus.root, "artifacts/L-SWAP/plan.json"));
    const { entry } = await rejected("artifacts/L-SWAP/plan.json", "SYMLINK_OUTSIDE");
    expect(entry.epic_id).toBe("L-SWAP");
    await noticeFor("planner", entry, "artifact_rejected");
    expect(readFileSync(target, "utf8")).toBe(other);
    // the epic still counts the plan it accepted, not the bytes behind the link
    expect(JSON.parse(bus.cli("status", "L-SWAP", "--json").stdout)).toMatchObject({ stage: "implementation" });
    expect((accepted!.details as { sha256: string }).sha256).toBe(createHash("sha256").update(plan).digest("hex"));
    expect(bus.entries().filter((e) => e.epic_id === "L-SWAP" && e.decision === "artifact_accepted")).toHaveLength(1);
  });
});

describe("a role's inbox that is itself a link", () => {
  it("into the daemon's private area: rejected naming the folder and the fix; nothing in .consensus/ is read as a message, no notice written there", async () => {
    const inbox = join(bus.root, "messages/inbox/devops");
    // the daemon makes a missing inbox again: the link wins once it is put in the gap (as an agent's would)
    await bus.until("the inbox replaced by the link", () => {
      rmSync(inbox, { recursive: true, force: true });
      try {
        symlinkSync(join(bus.root, ".consensus"), inbox);
      } catch {
        /* made again meanwhile */
      }
      return lstatSync(inbox).isSymbolicLink();
    });
    const { entry, d } = await rejected("messages/inbox/devops", "NOT_REGULAR_FILE");
    expect(d.errors[0]!.message).toContain("messages/inbox/devops is a symbolic link");
    expect(d.errors[0]!.fix).toContain("mkdir messages/inbox/devops");
    expect(entry.decision).toBe("message_rejected");
    // the private area's files were not taken for messages through the link
    expect(bus.entries().filter((e) => String((e.details as { file?: unknown }).file ?? "").startsWith("messages/inbox/devops/"))).toEqual([]);
    expect(readdirSync(join(bus.root, ".consensus")).some((n) => n.startsWith("notice-"))).toBe(false);
  });
});

describe("the daemon goes on", () => {
  it("a veto dropped as a regular file after all that is decided", async () => {
    start("L-AFTER");
    bus.drop("artifacts/L-AFTER/plan.json", artifact("plan.json", "L-AFTER", 1));
    await bus.waitForDecision("artifact_accepted", 1, "L-AFTER");
    bus.drop("messages/inbox/planner/after.yaml", vetoYaml("quality", "planner", "L-AFTER", 1, "after"));
    await bus.waitFor("the veto decided", (es) => es.some((e) => e.epic_id === "L-AFTER" && /^message_/.test(e.decision)));
  });
});
