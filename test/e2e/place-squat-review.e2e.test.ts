/**
 * Review of the placement guards (place-names.ts, placement.ts readClaim) as an attacking agent of
 * another OS user (uid 65534, nobody: chown, or a child run as it), against the real CLI, the MCP SDK
 * client over `consensus mcp` and the real daemon:
 *
 * - a non-folder (a FIFO, a file) another user put on the way to a placed file (where an epic's folder
 *   or an inbox goes) is named in the NAME_TAKEN answer, with its owner and the `rm` that clears it;
 *   not told as "an entry made there and removed again" with a fix that lists a FIFO;
 * - a symbolic link another user put at a claim's name is no claim, wherever it leads: the daemon
 *   believed the file it led to when that file was the drop's owner's (the readable log agents append
 *   to is the daemon's user's), so an agent could have a hand drop of that user refused (a signature
 *   that does not verify) or recorded as its own role's (its own token's signature).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative, dirname } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { artifact, Bus, daemonHolding, repo } from "../support/bus.js";
import { tokenFor } from "../support/launch-token.js";
import { Agent } from "../support/mcp.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";
import { claimPathOf } from "../../src/transports/placement.js";

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn(`place-squat-review e2e: skipped: chown and runuser need root (running as uid ${process.getuid?.()})`);

let bus: Bus | undefined;
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  await bus?.stopDaemon();
  bus?.cleanup();
  bus = undefined;
});


const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");
const plan = artifact("plan.json", "EP-001", 1);
const d = (e: LogEntry): Record<string, unknown> => e.details as Record<string, unknown>;

function started(): Bus {
  const b = (bus = Bus.init());
  expect(b.cli("start", "EP-001", "--title", "Squat review").code).toBe(0);
  return b;
}

/** What nobody makes at `abs`: a FIFO, a regular file, or a link that leads nowhere. */
function nobodyMakes(abs: string, kind: "fifo" | "file" | "dangling"): void {
  if (kind === "dangling") return void (symlinkSync("nowhere", abs), lchownSync(abs, NOBODY, NOBODY));
  if (kind === "fifo") execFileSync("mkfifo", [abs]);
  else writeFileSync(abs, "not a folder\n");
  chownSync(abs, NOBODY, NOBODY);
}

describe("a non-folder another user put where a placed file's folder goes", () => {
  it.skipIf(!isRoot)("consensus submit and MCP submit_artifact: a FIFO, a file or a link to nothing at the epic's folder name is NAME_TAKEN naming it, whose it is and the rm", async () => {
    const b = started();
    const zone = join(b.root, "artifacts", "EP-001");
    rmSync(zone, { recursive: true, force: true });
    const src = join(b.dir, "plan.json");
    writeFileSync(src, plan);
    const a = await Agent.stdio(b, "planner");
    agents.push(a);
    for (const [kind, found] of [["fifo", "a FIFO (named pipe)"], ["file", "a regular file"], ["dangling", "a symbolic link"]] as const) {
      nobodyMakes(zone, kind);
      const r = b.cliWith({ CONSENSUS_TOKEN: await tokenFor(b, "planner") }, "submit", src, "--timeout", "30000");
      expect(r.code, `${kind}: ${r.stderr}`).toBe(1);
      expect(r.stderr, kind).toContain("NAME_TAKEN");
      expect(r.stderr, kind).toContain(`artifacts/EP-001 is ${found} of uid ${NOBODY} (nobody), not a folder`);
      expect(r.stderr, kind).toContain(`rm ${zone}`);
      expect(r.stderr, kind).not.toMatch(/removed again|internal error|This is a bug/);
      const m = await a.call("submit_artifact", { epic_id: "EP-001", file: "plan.json", content: plan });
      expect(m.isError, m.text).toBe(true);
      expect(m.text, kind).toContain(`artifacts/EP-001 is ${found} of uid ${NOBODY} (nobody), not a folder`);
      expect(m.data.issues, kind).toEqual([expect.objectContaining({ code: "NAME_TAKEN", file: "artifacts/EP-001" })]);
      rmSync(zone);
    }
  });

  it.skipIf(!isRoot)("consensus submit of a message: a FIFO at the inbox's name is NAME_TAKEN naming it, not a bare ENOTDIR", async () => {
    const b = started();
    const inbox = join(b.root, "messages", "inbox", "developer");
    rmSync(inbox, { recursive: true, force: true });
    nobodyMakes(inbox, "fifo");
    const src = join(b.dir, "info-planner-EP-001.yaml");
    writeFileSync(src, "from: planner\nto: developer\ntimestamp: \"2026-11-21T10:00:00Z\"\nepic_id: EP-001\niteration: 1\ntype: info\nsubject: hello\n");
    const r = b.cliWith({ CONSENSUS_TOKEN: await tokenFor(b, "planner") }, "submit", src, "--timeout", "30000");
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain(`messages/inbox/developer is a FIFO (named pipe) of uid ${NOBODY} (nobody), not a folder`);
    expect(r.stderr).toContain(`rm ${inbox}`);
    expect(r.stderr).not.toMatch(/removed again|internal error|This is a bug/);
  });
});

describe("a link another user put at a claim's name is no claim", () => {
  it.skipIf(!isRoot)("the daemon: nobody's link at the claim name of a person's hand drop, to a file of that person's it may write, changes neither the verdict nor the proof", async () => {
    const b = started();
    chmodSync(b.dir, 0o755);
    mkdirSync(join(b.root, "artifacts", "EP-001", ".placed"), { recursive: true });
    const rel = "artifacts/EP-001/plan.json";
    const claimAt = join(b.root, claimPathOf(rel, sha256(plan)));
    // a file of the person's (the daemon's user here) its group may write: made with umask 002, the
    // default of a user with a group of its own, in a setgid folder of the agents' group
    const theirs = join(b.root, "notes.txt");
    writeFileSync(theirs, "to do\n");
    chownSync(theirs, 0, NOBODY);
    chmodSync(theirs, 0o664);
    await daemonHolding(b);
    // the agent knows what the person will drop (a plan it read): a claim with a signature that does not verify
    const forged = { version: 1, file: rel, sha256: sha256(plan), transport: "mcp", role: "developer", placed_at: new Date().toISOString(), signature: { v: 1, key: "k0", nonce: "forgedforgedforged00", mac: "AAAA" } };
    const w = spawnSync("runuser", ["-u", "nobody", "--", "sh", "-c", `printf '%s\\n' "$1" > "$2"`, "sh", JSON.stringify(forged), theirs], { encoding: "utf8" });
    expect(w.status, w.stderr).toBe(0);
    symlinkSync(relative(dirname(claimAt), theirs), claimAt);
    lchownSync(claimAt, NOBODY, NOBODY);
    expect(JSON.parse(readFileSync(claimAt, "utf8"))).toEqual(forged);
    // the person drops the plan by hand (no claim of their own)
    b.drop(rel, plan);
    const es = await b.waitFor("the plan decided", (x) => x.some((e) => e.decision.startsWith("artifact_") && d(e).file === rel));
    const decided = es.find((e) => e.decision.startsWith("artifact_") && d(e).file === rel)!;
    expect(decided.decision, JSON.stringify(decided.details)).toBe("artifact_accepted");
    expect(d(decided).transport).toBe("files");
    expect(d(decided).proof).toBe("unverified");
  });
});

// An agent of its own OS user may not read the private area (.consensus/, 0700): not the rules in force
// (once RULES_FORGED "the file could not be opened (EACCES)", a wrong diagnosis and fix), not the log of
// record the verdict is read from (once an internal error, exit 70). It places the file with every
// guard and returns at once (75: placed, no verdict), saying where the verdict will show.
describe("a new user: consensus submit of an agent that runs as its own OS user, in the agents' group", () => {
  /** A bus whose planner runs as nobody (its agent blocks, as one at work), the daemon holding it, EP-001 at the planning stage. */
  async function ownUserBus(): Promise<{ b: Bus; zone: string }> {
    const b = Bus.init();
    bus = b;
    chmodSync(b.dir, 0o755);
    writeFileSync(join(b.root, "consensus.yaml"), `${readFileSync(join(b.root, "consensus.yaml"), "utf8")}\nagents:\n  planner: ${JSON.stringify({ command: ["tail", "-f", "/dev/null"], user: "nobody", retries: 0 })}\nsecurity: { agents_group: nogroup }\n`);
    b.applyConfig();
    expect(b.cli("init").code).toBe(0);
    expect(b.cli("start", "EP-001", "--title", "Own user").code).toBe(0);
    await daemonHolding(b);
    const zone = join(b.root, "artifacts", "EP-001");
    await b.until("the epic's folder and its .placed to be the daemon's drop zone", () => [zone, join(zone, ".placed")].every((p) => existsSync(p) && (statSync(p).mode & 0o7777) === 0o3775));
    return { b, zone };
  }

  /** `consensus submit` of `text` as plan.json, run as nobody with the planner's launch token. */
  async function submitAsNobody(b: Bus, text: string, ...extra: string[]): Promise<ReturnType<typeof spawnSync>> {
    const src = join(b.dir, "plan.json");
    writeFileSync(src, text);
    chmodSync(src, 0o644);
    const token = await tokenFor(b, "planner");
    return spawnSync("runuser", ["-u", "nobody", "--", "env", `CONSENSUS_ROOT=${b.root}`, `CONSENSUS_TOKEN=${token}`, process.execPath, join(repo, "bin", "consensus.js"), "submit", src, "--timeout", "30000", ...extra], { encoding: "utf8", timeout: 60_000 });
  }

  const asNobody = (...argv: string[]) => spawnSync("runuser", ["-u", "nobody", "--", ...argv], { encoding: "utf8", timeout: 60_000 });

  it.skipIf(!isRoot)("the planner's agent (uid nobody, group nogroup: the agents' group) submits its plan: placed in the daemon's .placed, accepted, its claim believed, proven by its OS user, published where it can read it", async () => {
    const { b, zone } = await ownUserBus();
    const r = await submitAsNobody(b, plan);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(75);
    const rel = "artifacts/EP-001/plan.json";
    // what it did, why it does not wait, and where the verdict shows: never forged rules, never a bug
    expect(r.stderr).toContain(`${rel} is placed (routed by consensus.yaml: the rules in force are in the private area), signed for planner (epic EP-001, iteration 1`);
    expect(r.stderr).toContain(`its verdict is not awaited: uid ${NOBODY} (nobody) may not read the log of record (${join(b.root, ".consensus", "log.jsonl")}), in the daemon's private area: .consensus/ is uid 0's (root), mode 0700.`);
    expect(r.stderr).toContain("messages/inbox/planner/notice-<seq>-EP-001-artifact_rejected.yaml");
    expect(r.stderr).toContain("archive/EP-001/1/plan.json");
    expect(r.stderr).toContain("consensus watch --mcp-port N");
    expect(r.stderr).not.toMatch(/RULES_FORGED|internal error|This is a bug|\\x0a/);
    expect(String(r.stderr).trimEnd().split("\n")).toHaveLength(3);
    const es = await b.waitFor("the plan decided", (x) => x.some((e) => e.decision.startsWith("artifact_") && d(e).file === rel));
    const decided = es.find((e) => e.decision.startsWith("artifact_") && d(e).file === rel)!;
    expect(decided.decision, JSON.stringify(decided.details)).toBe("artifact_accepted");
    expect(d(decided).transport).toBe("cli");
    expect(d(decided).proof).toMatchObject({ by: "os_user", role: "planner", uid: NOBODY });
    expect(lstatSync(join(b.root, rel)).uid).toBe(NOBODY);
    // the claim is released once decided
    await b.until("the claim released", () => readdirSync(join(zone, ".placed")).length === 0 || undefined);
    // where the verdict shows for it: the archive copy, which it may read (and only the daemon writes)
    const copy = join(b.root, "archive", "EP-001", "1", "plan.json");
    await b.until("the plan published", () => existsSync(copy) || undefined);
    expect(asNobody("cat", copy).stdout).toBe(plan);
    expect(asNobody("sh", "-c", `: >> "$1"`, "sh", copy).status).not.toBe(0);
  });

  it.skipIf(!isRoot)("--no-wait: exit 0 with the same words on stdout (where the verdict shows), not `consensus log`, which this user may not read", async () => {
    const { b } = await ownUserBus();
    const r = await submitAsNobody(b, plan, "--no-wait");
    expect(r.status, String(r.stderr)).toBe(0);
    expect(r.stdout).toContain("artifacts/EP-001/plan.json is placed (routed by consensus.yaml");
    expect(r.stdout).toContain("archive/EP-001/1/plan.json");
    expect(r.stdout).not.toContain("consensus log");
    await b.waitFor("the plan accepted", (x) => x.some((e) => e.decision === "artifact_accepted"));
  });

  it.skipIf(!isRoot)("a plan that does not validate: rejected, and the planner's inbox gets the notice the submit named, which nobody reads and which verifies with the planner's notice keys", async () => {
    const { b } = await ownUserBus();
    const r = await submitAsNobody(b, "{}\n");
    expect(r.status, `${String(r.stdout)}\n${String(r.stderr)}`).toBe(75);
    expect(r.stderr).toContain("messages/inbox/planner/notice-<seq>-EP-001-artifact_rejected.yaml");
    const rel = "artifacts/EP-001/plan.json";
    const es = await b.waitFor("the plan rejected", (x) => x.some((e) => e.decision === "artifact_rejected" && d(e).file === rel));
    const seq = es.find((e) => e.decision === "artifact_rejected" && d(e).file === rel)!.seq!;
    const notice = join(b.root, "messages", "inbox", "planner", `notice-${String(seq).padStart(8, "0")}-EP-001-artifact_rejected.yaml`);
    await b.until("the rejection notice", () => existsSync(notice) || undefined);
    const text = asNobody("cat", notice).stdout;
    expect(text, text).toContain(`file: consensus/${rel}`);
    expect(text).toContain("subject: artifact_rejected");
    const { readKeyring } = (await import(join(repo, "dist", "trust", "key-file.js"))) as { readKeyring(dot: string): Promise<{ keysForFile(): unknown[] }> };
    const { noticeKeysEnv, parseNoticeKeys, checkNotice } = (await import(join(repo, "dist", "trust", "notice-mac.js"))) as { noticeKeysEnv(k: unknown[], role: string, now: number): string; parseNoticeKeys(env: string): Map<string, string>; checkNotice(k: Map<string, string>, text: string): { ok: boolean } };
    const keys = (await readKeyring(join(b.root, ".consensus"))).keysForFile();
    // the runner's CONSENSUS_NOTICE_KEY for the planner verifies it; another role's does not
    expect(checkNotice(parseNoticeKeys(noticeKeysEnv(keys, "planner", Date.now())), text).ok).toBe(true);
    expect(checkNotice(parseNoticeKeys(noticeKeysEnv(keys, "developer", Date.now())), text).ok).toBe(false);
  });

  it.skipIf(!isRoot)("consensus.yaml being edited (not yet applied, does not parse): the agent's plan is still placed and decided by the rules in force, not refused for a file the daemon does not decide by", async () => {
    const { b } = await ownUserBus();
    writeFileSync(join(b.root, "consensus.yaml"), `${readFileSync(join(b.root, "consensus.yaml"), "utf8")}\nstages: [\n`);
    const r = await submitAsNobody(b, plan);
    expect(r.status, `${String(r.stdout)}\n${String(r.stderr)}`).toBe(75);
    expect(r.stderr).toContain("artifacts/EP-001/plan.json is placed");
    await b.waitFor("the plan accepted by the rules in force", (x) => x.some((e) => e.decision === "artifact_accepted" && d(e).file === "artifacts/EP-001/plan.json"));
    // a message goes by its own "to"
    const msg = join(b.dir, "info-planner-EP-001.yaml");
    writeFileSync(msg, "type: info\nfrom: planner\nto: developer\nepic_id: EP-001\nsubject: hello\n");
    chmodSync(msg, 0o644);
    const m = spawnSync("runuser", ["-u", "nobody", "--", "env", `CONSENSUS_ROOT=${b.root}`, `CONSENSUS_TOKEN=${await tokenFor(b, "planner")}`, process.execPath, join(repo, "bin", "consensus.js"), "submit", msg], { encoding: "utf8", timeout: 60_000 });
    expect(m.status, m.stderr).toBe(75);
    expect(m.stderr).toContain('messages/inbox/developer/info-planner-EP-001.yaml is placed (routed by its own "to", as an artifact without one: consensus.yaml does not load (YAML_SYNTAX)');
  });
});

describe("an upgrade: claims an earlier version placed under their old name", () => {
  it("the daemon, started on a root with an input placed but not yet decided (its claim at .placed/<file>.<sha256>.json), still reads its claim: transport and token proof kept", async () => {
    const b = started();
    mkdirSync(join(b.root, "artifacts", "EP-001", ".placed"), { recursive: true });
    const { signPlacement } = (await import(join(repo, "dist", "trust", "token.js"))) as { signPlacement(t: string, f: string, s: string, n: string): unknown };
    const rel = "artifacts/EP-001/plan.json";
    const sha = sha256(plan);
    // what `consensus submit` of the earlier version left: the claim under its old name, then the file
    const claim = { version: 1, file: rel, sha256: sha, transport: "cli", role: "planner", placed_at: new Date().toISOString(), signature: signPlacement(await tokenFor(b, "planner"), rel, sha, "upgradeupgradeupgrade0") };
    writeFileSync(join(b.root, "artifacts", "EP-001", ".placed", `plan.json.${sha}.json`), `${JSON.stringify(claim)}\n`);
    writeFileSync(join(b.root, rel), plan);
    b.startDaemon();
    const es = await b.waitFor("the plan decided", (x) => x.some((e) => e.decision.startsWith("artifact_") && d(e).file === rel));
    const decided = es.find((e) => e.decision.startsWith("artifact_") && d(e).file === rel)!;
    expect(decided.decision, JSON.stringify(decided.details)).toBe("artifact_accepted");
    expect(d(decided).transport).toBe("cli");
    expect(d(decided).proof).toMatchObject({ by: "token", role: "planner" });
    // and released once decided, like any claim
    await b.until("the claim released", () => readdirSync(join(b.root, "artifacts", "EP-001", ".placed")).length === 0 || undefined);
    // done once per root: the pass read every zone (180–300 ms at 10,000 epics), later starts skip it
    const mark = join(b.root, ".consensus", "claims-renamed");
    expect(statSync(mark).mode & 0o777).toBe(0o600);
  });

  it("is a pass made once: with its mark in the private area, a start reads no zone's .placed for old-form claims", async () => {
    const b = started();
    const once = b.cli("watch", "--once", "--log-level", "warn");
    expect(once.code, once.stderr).toBe(0);
    const mark = join(b.root, ".consensus", "claims-renamed");
    expect(existsSync(mark)).toBe(true);
    // an old-form name planted after the pass is not looked for again (two versions placing side by side: docs)
    const zone = join(b.root, "artifacts", "EP-001", ".placed");
    mkdirSync(zone, { recursive: true });
    const old = join(zone, `plan.json.${sha256(plan)}.json`);
    writeFileSync(old, "{}\n");
    const again = b.cli("watch", "--once", "--log-level", "warn");
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(old)).toBe(true);
    // without the mark (a root the pass has not finished on) it runs again
    rmSync(mark);
    const third = b.cli("watch", "--once", "--log-level", "warn");
    expect(third.code, third.stderr).toBe(0);
    expect(existsSync(old)).toBe(false);
  });
});
