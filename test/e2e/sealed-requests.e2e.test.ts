/**
 * Person commands cannot be forged or faked (issue 12, item 5). Agents run as the daemon's user here
 * (the case the OS cannot help with): a request planted in .consensus/requests/ — unsealed, sealed then
 * edited, copied under another id, or a FIFO — is never acted on and is reported (`request_refused`);
 * a sealed request with bad fields (an array epic_id, a 2 MB title) is refused with the schema's
 * errors and breaks nothing; a fake answer to a person's real command is not taken as the verdict.
 * All against the real daemon as a child process.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { userInfo } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { ensureKeyring } from "../../src/trust/key-file.js";
import { sealRecord } from "../../src/trust/sealed.js";
import { Bus, cliPath, daemonHolding } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

const refusedFor = (b: Bus, file: string) => b.waitFor(`request_refused for ${file}`, (es) => es.some((e) => e.decision === "request_refused" && (e.details as { file?: string }).file === file));
const statusOf = (b: Bus, epic: string): string => (JSON.parse(b.cli("status", epic, "--json").stdout) as { status: string }).status;

type Answer = { ok: boolean; issues: Array<{ code: string; message: string; path: string; expected: string }> };
const REQUESTS = ".consensus/requests";

/** A new bus with `epic` started and the daemon holding it; sealed requests dropped as the key's holder, and their answers read. */
async function sealedRequests(epic: string, title: string) {
  bus = Bus.init();
  expect(bus.cli("start", epic, "--title", title).code).toBe(0);
  await daemonHolding(bus);
  const { keyring } = await ensureKeyring(join(bus.root, ".consensus"));
  const b = bus;
  return {
    keyring,
    send: (id: string, body: Record<string, unknown>) => b.drop(`${REQUESTS}/${id}.json`, sealRecord(keyring, "request", id, body)),
    answer: async (id: string): Promise<Answer> => {
      await b.until(`the answer to ${id}`, () => existsSync(join(b.root, REQUESTS, `${id}.result.json`)));
      return JSON.parse(JSON.parse(readFileSync(join(b.root, REQUESTS, `${id}.result.json`), "utf8")).body as string) as Answer;
    },
  };
}

describe("requests and results in the private area are sealed and validated", () => {
  it("a planted, edited or re-named request is refused and reported; the epics are untouched", async () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Target").code).toBe(0);
    await daemonHolding(bus);
    const dir = ".consensus/requests";
    // what an agent writes today: the old, unsealed format, under a made-up name
    bus.drop(`${dir}/1-cancel.json`, { type: "cancel", epic_id: "EP-001", reason: "agent says so", by: "alice" });
    bus.drop(`${dir}/2-override.json`, { type: "override", epic_id: "EP-001", reason: "ship it", to: "promoted", by: "lead" });
    // a real seal, edited afterwards (the key readable, the body changed)
    const { keyring } = await ensureKeyring(join(bus.root, ".consensus"));
    const sealed = sealRecord(keyring, "request", "3-edited", { type: "override", epic_id: "EP-001", reason: "fine", by: "lead" });
    bus.drop(`${dir}/3-edited.json`, sealed.replace("fine", "fine\\\",\\\"to\\\":\\\"promoted"));
    // a real seal copied under another id
    bus.drop(`${dir}/4-copied.json`, sealRecord(keyring, "request", "4-original", { type: "cancel", epic_id: "EP-001", reason: "x", by: "lead" }));
    // a FIFO named like a request never blocks the daemon
    execFileSync("mkfifo", [join(bus.root, dir, "5-fifo.json")]);
    for (const f of ["1-cancel", "2-override", "3-edited", "4-copied", "5-fifo"]) await refusedFor(bus, `${dir}/${f}.json`);
    const refusals = bus.entries().filter((e) => e.decision === "request_refused");
    expect(refusals).toHaveLength(5);
    for (const r of refusals) expect((r.details as { errors: Array<{ code: string }> }).errors[0]!.code).toBe("REQUEST_FORGED");
    expect((refusals.find((r) => (r.details as { file: string }).file.includes("4-copied"))!.details as { reason: string }).reason).toContain("not 4-copied");
    expect((refusals.find((r) => (r.details as { file: string }).file.includes("5-fifo"))!.details as { reason: string }).reason).toMatch(/FIFO|not a regular file/);
    // nothing was cancelled, overridden or answered; the daemon still decides a real command
    expect(bus.entries().some((e) => e.decision === "cancelled" || e.decision === "overridden" || e.decision === "promoted")).toBe(false);
    expect(readdirSync(join(bus.root, dir)).filter((n) => n.endsWith(".result.json"))).toEqual([]);
    const real = bus.cli("cancel", "EP-001", "--reason", "descoped");
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toContain("by the running daemon");
    expect(statusOf(bus, "EP-001")).toBe("cancelled");
    expect(bus.entries().find((e) => e.decision === "cancelled")!.details).toMatchObject({ by: userInfo().username, reason: "descoped" });
  });

  it("sealed requests with bad fields are refused with the schema's errors, and status keeps working", async () => {
    const { send, answer } = await sealedRequests("EP-002", "Fields");
    send("6-array", { type: "start", epic_id: ["EP-009"], title: "array id", by: "x" });
    send("7-title", { type: "start", epic_id: "EP-010", title: "t".repeat(2_000_000), by: "x" });
    // a sealed but invalid request is answered (its author waits), not acted on
    const r6 = await answer("6-array");
    const r7 = await answer("7-title");
    expect(r6.ok).toBe(false);
    expect(r6.issues.map((i) => i.path)).toContain("/epic_id");
    expect(r7.issues.map((i) => i.path)).toContain("/title");
    expect(bus.entries().filter((e) => e.decision === "epic_started").map((e) => e.epic_id)).toEqual(["EP-002"]);
    const st = bus.cli("status");
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toContain("EP-002");
    // the command line refuses them itself, daemon or not
    const long = bus.cli("start", "EP-011", "--title", "t".repeat(5000));
    expect(long.code).toBe(1);
    expect(long.stderr).toMatch(/title/);
    expect(long.stderr).toMatch(/200/);
    expect(bus.entries().some((e) => e.epic_id === "EP-011")).toBe(false);
  });

  it("a sealed request's author is the OS user who owns the file, not the name in it: another name is refused and answered", async () => {
    // a holder of the key (an agent running as the daemon's user) seals a cancel and an override "by" a listed person
    const { send, answer } = await sealedRequests("EP-004", "Who");
    const me = userInfo().username;
    send("8-alice", { type: "cancel", epic_id: "EP-004", reason: "alice says so", by: "alice" });
    send("9-start", { type: "start", epic_id: "EP-005", title: "as lead", by: "lead" });
    for (const [id, by] of [["8-alice", "alice"], ["9-start", "lead"]] as const) {
      const r = await answer(id);
      expect(r.ok).toBe(false);
      expect(r.issues[0]).toMatchObject({ code: "REQUEST_NOT_YOURS", path: "/by", expected: me, message: expect.stringMatching(new RegExp(`says it is by OS user "${by}", but the file is owned by ${me} \\(uid ${process.getuid!()}\\)`)) });
    }
    // answered (its writer waits) and told in the daemon's log, never acted on
    await bus.until("the daemon's log to tell of 8-alice", () => /8-alice\.json says it is by OS user \\"alice\\", but the file is owned by .*: not acted on/.test(bus.daemonErr));
    expect(statusOf(bus, "EP-004")).toBe("in_progress");
    expect(bus.entries().some((e) => e.decision === "cancelled" || e.epic_id === "EP-005")).toBe(false);
    // the same request by the owner of the file is acted on
    send("10-me", { type: "cancel", epic_id: "EP-004", reason: "mine", by: me });
    await answer("10-me");
    expect(statusOf(bus, "EP-004")).toBe("cancelled");
    expect(bus.entries().find((e) => e.decision === "cancelled")!.details).toMatchObject({ by: me, reason: "mine" });
  });

  it("a fake answer to a person's real command is ignored; the daemon's own answer is shown", async () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-003", "--title", "Answers").code).toBe(0);
    await daemonHolding(bus);
    const daemon = bus.daemon!;
    daemon.kill("SIGSTOP");
    const dir = join(bus.root, ".consensus", "requests");
    let out = "";
    let err = "";
    const cli = spawn(process.execPath, [cliPath, "cancel", "EP-003", "--reason", "real"], { env: { ...process.env, CONSENSUS_ROOT: bus.root, CONSENSUS_USER: "tester" } });
    cli.stdout.on("data", (b: Buffer) => (out += b.toString()));
    cli.stderr.on("data", (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => cli.once("exit", r));
    try {
      const req = await bus.until("the CLI's request", () => (existsSync(dir) ? readdirSync(dir).find((n) => n.endsWith(".json") && !n.endsWith(".result.json")) : undefined));
      const id = req.slice(0, -".json".length);
      // an agent answers first: "promoted", in the old unsealed form
      writeFileSync(join(dir, `${id}.result.json`), JSON.stringify({ ok: true, entries: [{ seq: 99, decision: "promoted", epic_id: "EP-003" }] }));
      await bus.until("the CLI to report the fake answer", () => err.includes("is not the daemon's answer"));
    } finally {
      daemon.kill("SIGCONT");
    }
    expect(await exited, out + err).toBe(0);
    expect(out).not.toContain("#99");
    expect(out).toContain("cancelled");
    expect(statusOf(bus, "EP-003")).toBe("cancelled");
  });
});
