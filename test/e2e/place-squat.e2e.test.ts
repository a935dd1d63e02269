/**
 * What an agent can do with the names a placing transport writes (`consensus submit`, the MCP
 * server's submit tools: src/transports/placement.ts). The file's name and its claim's
 * (`.placed/<name>.<sha256>.json`) are predictable from the content, so an agent can make them first:
 * a folder, a FIFO, a link, a claim of its own. Each squat here is made as it would be by another OS
 * user (chown to uid 65534, nobody) or by an agent sharing the submitter's user; the submitter is the
 * real CLI or the MCP SDK client against `consensus mcp`, the forged claim is read by the real daemon.
 * Every squat ends in a clear refusal to the submitter (NAME_TAKEN: what is at the name, whose, the
 * command that clears it) or is not believed; nothing is written through the agent's entry.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, watch, writeFileSync, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { artifact, Bus, cliPath, daemonHolding, repo } from "../support/bus.js";
import { tokenFor } from "../support/launch-token.js";
import { Agent } from "../support/mcp.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";
import { claimPathOf } from "../../src/transports/placement.js";

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn(`place-squat e2e: the squats of another OS user are skipped: chown needs root (running as uid ${process.getuid?.()})`);

let bus: Bus | undefined;
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  await bus?.stopDaemon();
  bus?.cleanup();
  bus = undefined;
});


/** A bus with EP-001 started and its artifacts folder made. */
function started(): Bus {
  const b = (bus = Bus.init());
  expect(b.cli("start", "EP-001", "--title", "Squat").code).toBe(0);
  mkdirSync(join(b.root, "artifacts", "EP-001"), { recursive: true });
  return b;
}

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");
const plan = artifact("plan.json", "EP-001", 1);

/** `consensus submit` of plan.json as the planner (its launch token), from a file outside the bus. */
async function submitPlan(b: Bus): Promise<{ code: number; stdout: string; stderr: string }> {
  const src = join(b.dir, "plan.json");
  writeFileSync(src, plan);
  return b.cliWith({ CONSENSUS_TOKEN: await tokenFor(b, "planner") }, "submit", src, "--timeout", "30000");
}

/** What nobody (uid 65534) makes at `abs`: a folder, a FIFO, or a link to `to`. */
function nobodyMakes(abs: string, kind: "folder" | "fifo" | "link", to = "."): void {
  if (kind === "folder") mkdirSync(abs, { mode: 0o777 });
  else if (kind === "fifo") execFileSync("mkfifo", [abs]);
  else symlinkSync(to, abs);
  if (kind === "link") lchownSync(abs, NOBODY, NOBODY);
  else chownSync(abs, NOBODY, NOBODY);
}

const d = (e: LogEntry): Record<string, unknown> => e.details as Record<string, unknown>;

describe("placing under a squatted name: a clear refusal, never a crash, never a write through the entry", () => {
  it.skipIf(!isRoot)("consensus submit: another user's folder at the file's name is refused with what, whose and the fix; no claim is left", async () => {
    const b = started();
    const at = join(b.root, "artifacts", "EP-001", "plan.json");
    nobodyMakes(at, "folder");
    const r = await submitPlan(b);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain("NAME_TAKEN");
    expect(r.stderr).toContain(`artifacts/EP-001/plan.json, where the file goes, is taken by a folder of uid ${NOBODY} (nobody)`);
    expect(r.stderr).toContain(`rm -r ${at}`);
    expect(r.stderr).not.toMatch(/internal error|This is a bug/);
    // the claim written before the refused file is withdrawn
    expect(readdirSync(join(b.root, "artifacts", "EP-001", ".placed"))).toEqual([]);
    expect(lstatSync(at).isDirectory()).toBe(true);
  });

  it("consensus submit: a folder at the claim's name (an agent sharing the user) is refused with what and the fix", async () => {
    const b = started();
    const claimRel = claimPathOf("artifacts/EP-001/plan.json", sha256(plan));
    const claim = join(b.root, claimRel);
    mkdirSync(claim, { recursive: true });
    const r = await submitPlan(b);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${claimRel}, where the claim goes, is taken by a folder of uid ${process.getuid?.()}`);
    expect(r.stderr).toContain(`rm -r ${claim}`);
    expect(r.stderr).not.toMatch(/internal error|This is a bug/);
    expect(existsSync(join(b.root, "artifacts", "EP-001", "plan.json"))).toBe(false);
  });

  it.skipIf(!isRoot)("consensus submit: a .placed of another user (a folder it could empty, a link, a FIFO) is refused; nothing is placed in or through it", async () => {
    const b = started();
    const placed = join(b.root, "artifacts", "EP-001", ".placed");
    const decoy = join(b.root, "artifacts", "EP-001", "decoy");
    mkdirSync(decoy, { mode: 0o777 });
    chownSync(decoy, NOBODY, NOBODY);
    for (const [kind, found] of [["folder", "a folder"], ["link", "a symbolic link"], ["fifo", "a FIFO (named pipe)"]] as const) {
      nobodyMakes(placed, kind, "decoy");
      const r = await submitPlan(b);
      expect(r.code, `${kind}: ${r.stderr}`).toBe(1);
      expect(r.stderr, kind).toContain(`artifacts/EP-001/.placed, where the claim's folder goes, is taken by ${found} of uid ${NOBODY} (nobody)`);
      expect(r.stderr, kind).toContain(`${kind === "folder" ? "rm -r" : "rm"} ${placed}`);
      expect(r.stderr, kind).not.toMatch(/internal error|This is a bug/);
      expect(existsSync(join(b.root, "artifacts", "EP-001", "plan.json")), kind).toBe(false);
      expect(readdirSync(decoy), kind).toEqual([]);
      execFileSync("rm", ["-r", placed]);
    }
  });

  it.skipIf(!isRoot)("MCP submit_artifact: another user's folder at the file's name, or a FIFO at .placed, is an isError answer saying what, whose and the fix", async () => {
    const b = started();
    const a = await Agent.stdio(b, "planner");
    agents.push(a);
    const at = join(b.root, "artifacts", "EP-001", "plan.json");
    nobodyMakes(at, "folder");
    const r = await a.call("submit_artifact", { epic_id: "EP-001", file: "plan.json", content: plan });
    expect(r.isError, r.text).toBe(true);
    expect(r.text).toContain(`is taken by a folder of uid ${NOBODY} (nobody)`);
    expect(r.text).toContain(`rm -r ${at}`);
    expect(r.data.issues).toEqual([expect.objectContaining({ code: "NAME_TAKEN", file: "artifacts/EP-001/plan.json" })]);
    execFileSync("rm", ["-r", at]);
    const placed = join(b.root, "artifacts", "EP-001", ".placed");
    execFileSync("rm", ["-r", placed]);
    nobodyMakes(placed, "fifo");
    const f = await a.call("submit_artifact", { epic_id: "EP-001", file: "plan.json", content: plan });
    expect(f.isError, f.text).toBe(true);
    expect(f.data.issues).toEqual([expect.objectContaining({ code: "NAME_TAKEN", file: "artifacts/EP-001/.placed" })]);
    expect(f.text).toContain(`a FIFO (named pipe) of uid ${NOBODY} (nobody)`);
    expect(existsSync(at)).toBe(false);
  });
});

describe("placing over what an agent left at the file's name, where the placer may replace it", () => {
  it("consensus submit: a FIFO, or a link to a file outside the root, at the file's name is replaced, never opened (no hang) nor written through", async () => {
    const b = started();
    const at = join(b.root, "artifacts", "EP-001", "plan.json");
    const outside = join(b.dir, "outside.txt");
    writeFileSync(outside, "keep\n");
    for (const kind of ["fifo", "link"] as const) {
      if (kind === "fifo") execFileSync("mkfifo", [at]);
      else symlinkSync(outside, at);
      const r = await submitPlan(b);
      // placed (and decided here: accepted the first time, the same content already processed after)
      expect(r.stderr, kind).not.toMatch(/internal error|NAME_TAKEN/);
      expect(lstatSync(at).isFile(), kind).toBe(true);
      expect(readFileSync(at, "utf8"), kind).toBe(plan);
      expect(readFileSync(outside, "utf8"), kind).toBe("keep\n");
      execFileSync("rm", [at]);
    }
  });

  it.skipIf(!isRoot)("consensus submit of a message: another user's FIFO at its name is named as what it is and whose, not as another message", async () => {
    const b = started();
    const inbox = join(b.root, "messages", "inbox", "developer");
    mkdirSync(inbox, { recursive: true });
    const at = join(inbox, "info-planner-EP-001.yaml");
    nobodyMakes(at, "fifo");
    const src = join(b.dir, "info-planner-EP-001.yaml");
    writeFileSync(src, "from: planner\nto: developer\ntimestamp: \"2026-11-21T10:00:00Z\"\nepic_id: EP-001\niteration: 1\ntype: info\nsubject: hello\n");
    const r = b.cliWith({ CONSENSUS_TOKEN: await tokenFor(b, "planner") }, "submit", src, "--timeout", "30000");
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`messages/inbox/developer/info-planner-EP-001.yaml is taken by a FIFO (named pipe) of uid ${NOBODY} (nobody)`);
    expect(r.stderr).toContain(`rm ${at}`);
  });

  it.skipIf(!isRoot)("a placer that is not root, in a drop zone with the sticky bit: another user's FIFO at the file's name refuses the rename (EPERM), told as NAME_TAKEN", async () => {
    const b = started();
    chmodSync(b.dir, 0o755);
    const zone = join(b.root, "artifacts", "EP-001");
    chmodSync(zone, 0o1777);
    mkdirSync(join(zone, ".placed"), { mode: 0o1777 });
    chmodSync(join(zone, ".placed"), 0o1777);
    const at = join(zone, "plan.json");
    execFileSync("mkfifo", [at]);
    chownSync(at, 1, 1); // uid 1 (daemon): another agent's user
    const script = `import(${JSON.stringify(join(repo, "dist", "transports", "placement.js"))}).then((m) => m.place(process.argv[1], "artifacts/EP-001/plan.json", new TextEncoder().encode("{}\\n"), { transport: "cli", role: "planner" })).then(() => console.log("placed"), (e) => console.log(JSON.stringify(e.issues ?? String(e))))`;
    const r = spawnSync("runuser", ["-u", "nobody", "--", process.execPath, "-e", script, b.root], { encoding: "utf8", timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const issues = JSON.parse(r.stdout) as Array<{ code: string; message: string; fix: string }>;
    expect(issues[0]).toMatchObject({ code: "NAME_TAKEN", file: "artifacts/EP-001/plan.json" });
    expect(issues[0]!.message).toContain(`is taken by a FIFO (named pipe) of uid 1 (${execFileSync("id", ["-nu", "1"], { encoding: "utf8" }).trim()}) (the write was refused: EPERM)`);
    expect(issues[0]!.fix).toContain(`rm ${at}`);
    // the claim nobody wrote before the refused file is withdrawn; the FIFO is left as it was
    expect(readdirSync(join(zone, ".placed"))).toEqual([]);
    expect(lstatSync(at).isFIFO()).toBe(true);
  });
});

describe("a placer that may not write in the file's folder", () => {
  it.skipIf(!isRoot)("an epic folder another user made first (mode 0750): NAME_TAKEN names the folder, its owner and mode, not a bare EACCES", async () => {
    const b = started();
    chmodSync(b.dir, 0o755);
    const zone = join(b.root, "artifacts", "EP-002");
    mkdirSync(zone, { mode: 0o750 });
    chmodSync(zone, 0o750);
    chownSync(zone, 1, 1);
    const script = `import(${JSON.stringify(join(repo, "dist", "transports", "placement.js"))}).then((m) => m.place(process.argv[1], "artifacts/EP-002/plan.json", new TextEncoder().encode("{}\\n"), { transport: "cli", role: "planner" })).then(() => console.log("placed"), (e) => console.log(JSON.stringify(e.issues ?? String(e))))`;
    const r = spawnSync("runuser", ["-u", "nobody", "--", process.execPath, "-e", script, b.root], { encoding: "utf8", timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const issues = JSON.parse(r.stdout) as Array<{ code: string; message: string; fix: string }>;
    expect(issues[0]).toMatchObject({ code: "NAME_TAKEN" });
    expect(issues[0]!.message).toContain(`its folder ${zone} is a folder of uid 1 (${execFileSync("id", ["-nu", "1"], { encoding: "utf8" }).trim()}), mode 0750, that uid ${NOBODY} (nobody) may not write in`);
    expect(issues[0]!.fix).toContain(`ls -ld ${zone}`);
  });
});

describe("a claim another user put at a file's claim name is not believed", () => {
  it.skipIf(!isRoot)("the daemon: nobody's claims (unsigned, saying mcp; signed with the developer's token) beside files another user dropped change neither the transport nor the proof", async () => {
    const b = started();
    const { signPlacement } = (await import(join(repo, "dist", "trust", "token.js"))) as { signPlacement(t: string, f: string, s: string, n: string): unknown };
    const placed = join(b.root, "artifacts", "EP-001", ".placed");
    nobodyMakes(placed, "folder");
    const rel = "artifacts/EP-001/plan.json";
    // the agent knows what the planner will drop: it puts a claim signed with its own (developer) token there first
    const devToken = await tokenFor(b, "developer");
    const forged = { version: 1, file: rel, sha256: sha256(plan), transport: "cli", role: "developer", placed_at: new Date().toISOString(), signature: signPlacement(devToken, rel, sha256(plan), "forgedforgedforged00") };
    const claimAt = join(b.root, claimPathOf(rel, sha256(plan)));
    writeFileSync(claimAt, `${JSON.stringify(forged)}\n`);
    chownSync(claimAt, NOBODY, NOBODY);
    b.startDaemon();
    b.drop(rel, plan);
    const es = await b.waitFor("the plan decided", (x) => x.some((e) => (e.decision === "artifact_accepted" || e.decision === "artifact_rejected") && d(e).file === rel));
    const decided = es.find((e) => d(e).file === rel && e.decision.startsWith("artifact_"))!;
    // a plain drop of the planner's plan: accepted, unverified, by the file transport
    expect(decided.decision, JSON.stringify(decided.details)).toBe("artifact_accepted");
    expect(d(decided).transport).toBe("files");
    expect(d(decided).proof).toBe("unverified");

    // an unsigned claim saying the daemon's MCP server placed the developer's drop: not believed either
    const impl = artifact("implementation.json", "EP-001", 1);
    const implRel = "artifacts/EP-001/implementation.json";
    const claim2 = join(b.root, claimPathOf(implRel, sha256(impl)));
    writeFileSync(claim2, `${JSON.stringify({ version: 1, file: implRel, sha256: sha256(impl), transport: "mcp", role: "developer", placed_at: new Date().toISOString() })}\n`);
    chownSync(claim2, NOBODY, NOBODY);
    b.drop(implRel, impl);
    const es2 = await b.waitFor("the implementation decided", (x) => x.some((e) => e.decision.startsWith("artifact_") && d(e).file === implRel));
    expect(d(es2.find((e) => e.decision.startsWith("artifact_") && d(e).file === implRel)!).transport).toBe("files");
  });
});

describe("a message's name is unknown to an agent until the message lands", () => {
  /** Every name that appears in the inboxes and their .placed folders, in order (inotify: none is missed). */
  function observe(b: Bus): { names: string[]; close(): void } {
    const names: string[] = [];
    const ws: FSWatcher[] = [];
    for (const role of ["planner", "developer", "quality", "devops"]) {
      const inbox = join(b.root, "messages", "inbox", role);
      mkdirSync(join(inbox, ".placed"), { recursive: true });
      for (const dir of [inbox, join(inbox, ".placed")]) ws.push(watch(dir, (_e, f) => f && names.push(`${dir.slice(b.root.length + 1)}/${String(f)}`)));
    }
    return { names, close: () => ws.forEach((w) => w.close()) };
  }

  it("MCP send_message and `consensus approve`: neither the temporary nor the claim names the message (an agent watching could make the name first)", async () => {
    const b = started();
    const seen = observe(b);
    try {
      const a = await Agent.stdio(b, "planner");
      agents.push(a);
      const info = await a.call("send_message", { epic_id: "EP-001", type: "info", content: { note: "starting the plan" } });
      expect(info.isError, info.text).toBe(false);
      // decided either way (a quality approval at the plan stage is refused): placed first, like any other
      const approve = b.cli("approve", "EP-001", "--role", "quality", "--subject", "fine", "--to", "developer");
      expect(approve.stderr).not.toMatch(/internal error/);
      const messages = b.entries().filter((e) => e.decision === "message_accepted" || e.decision === "message_rejected").map((e) => String(d(e).file));
      expect(messages).toHaveLength(2);
      for (const rel of messages) {
        const name = rel.split("/").pop()!;
        const id = name.replace(/\.yaml$/, "");
        // the only name with the message's id in it that anyone could see is the message's own, once it is there
        expect(seen.names.filter((n) => n.includes(id) && n !== rel), rel).toEqual([]);
      }
    } finally {
      seen.close();
    }
  });
});

describe("a placed file replaced before it is decided", () => {
  it.skipIf(!isRoot)("consensus submit: with no verdict in time, the submitter is told the name now holds another user's file, not only that it waited", async () => {
    const b = started();
    chmodSync(b.dir, 0o755);
    chmodSync(join(b.root, "artifacts", "EP-001"), 0o777); // a zone without the sticky bit: any agent may replace a file in it
    await daemonHolding(b);
    // the daemon holds the root but decides nothing meanwhile (stopped, not dead: the submitter waits for it)
    b.daemon!.kill("SIGSTOP");
    try {
      const src = join(b.dir, "plan.json");
      writeFileSync(src, plan);
      const child = spawn(process.execPath, [cliPath, "submit", src, "--timeout", "4000"], { env: { ...process.env, CONSENSUS_ROOT: b.root, CONSENSUS_TOKEN: await tokenFor(b, "developer") } });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const code = new Promise<number | null>((r) => child.on("exit", r));
      const at = join(b.root, "artifacts", "EP-001", "plan.json");
      await b.until("the plan placed", () => lstatSync(at, { throwIfNoEntry: false })?.isFile() || undefined);
      // nobody's own plan renamed over the submitter's
      const theirs = join(b.root, "artifacts", "EP-001", ".theirs.tmp");
      writeFileSync(theirs, artifact("plan.json", "EP-001", 1, { note: "theirs" }));
      chownSync(theirs, NOBODY, NOBODY);
      execFileSync("runuser", ["-u", "nobody", "--", "mv", theirs, at]);
      expect(await code, stderr).toBe(75);
      expect(stderr).toContain("no verdict within 4s");
      expect(stderr).toContain(`artifacts/EP-001/plan.json now holds a regular file of uid ${NOBODY} (nobody), not what was placed`);
    } finally {
      b.daemon!.kill("SIGCONT");
    }
  });
});
