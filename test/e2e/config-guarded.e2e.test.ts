/**
 * consensus.yaml is agent-writable: every command that reads it reads it guarded (no link followed, a
 * FIFO never blocks, capped; store/fs/config-file.ts) and says what it found, with the fix; commands
 * that decide (inbox, submit) take the rules in force and do not read it at all while there are some.
 */
import { spawnSync } from "node:child_process";
import { rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, cliPath } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

/** What the linked file holds: it must never reach the output. Valid YAML a config check would quote. */
const SECRET = "SECRET-7f3a9c";
/** A command takes ~1 s; a read blocked on a FIFO never ends. 3x headroom over a slow machine's start. */
const CLI_TIMEOUT_MS = 20_000;

/** A launch token with a well-formed scope (submit reads its scope before the config; its MAC is the daemon's business). */
const fakeToken = (): string => `ct1.${Buffer.from(JSON.stringify({ v: 1, role: "developer", epic_id: "EP-1", iteration: 1, expires_at: new Date(Date.now() + 3_600_000).toISOString(), launch: "test" })).toString("base64url")}.k1.${"ab".repeat(32)}`;

function run(b: Bus, args: string[], env: Record<string, string> = {}): { code: number | null; signal: NodeJS.Signals | null; out: string } {
  const r = spawnSync(process.execPath, [cliPath, ...args], { env: { ...process.env, CONSENSUS_ROOT: b.root, CONSENSUS_USER: "tester", ...env }, encoding: "utf8", timeout: CLI_TIMEOUT_MS });
  return { code: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}` };
}

type Plant = { kind: string; says: RegExp; fix: (config: string) => string; plant: (b: Bus, config: string) => void };
const PLANTS: Plant[] = [
  {
    kind: "a symbolic link to a file outside the root",
    says: /consensus\.yaml is a symbolic link/,
    fix: (config) => `rm ${config}`,
    plant: (b, config) => {
      const secret = join(b.dir, "secret.yaml");
      writeFileSync(secret, `roles: [${SECRET}]\nsecret_key: ${SECRET}\n`);
      symlinkSync(secret, config);
    },
  },
  {
    kind: "a FIFO",
    says: /consensus\.yaml is a FIFO/,
    fix: (config) => `rm ${config}`,
    plant: (_b, config) => expect(spawnSync("mkfifo", [config]).status).toBe(0),
  },
  {
    kind: "a file over the 1 MiB cap",
    says: /consensus\.yaml is \d+ bytes, over the cap of 1048576/,
    fix: (config) => `Shrink ${config} below 1048576 bytes`,
    plant: (_b, config) => writeFileSync(config, `roles: [${SECRET}]\n# ${"x".repeat(2 * 1024 * 1024)}\n`),
  },
];

describe("the records beside consensus.yaml swapped by an agent", () => {
  it("validate of the whole root names a linked or FIFO state.json or log without following or hanging", () => {
    bus = Bus.init();
    const secret = join(bus.dir, "secret.json");
    writeFileSync(secret, `{"${SECRET}": 1}\n`);
    const state = join(bus.root, "current", "state.json");
    const log = join(bus.root, "current", "decision_log.jsonl");
    rmSync(state, { force: true });
    rmSync(log, { force: true });
    symlinkSync(secret, state);
    expect(spawnSync("mkfifo", [log]).status).toBe(0);
    const r = run(bus, ["validate", "--format", "json"]);
    expect(r.signal, `${r.out} (killed: it hung)`).toBeNull();
    expect(r.code, r.out).toBe(1);
    expect(r.out).not.toContain(SECRET);
    const { issues } = JSON.parse(r.out) as { issues: Array<{ code: string; message: string; fix: string }> };
    expect(issues).toEqual(expect.arrayContaining([
      expect.objectContaining({ code: "UNSAFE_PATH", message: expect.stringMatching(/state\.json is a symbolic link/), fix: expect.stringContaining(`rm ${state}`) }),
      expect.objectContaining({ code: "NOT_REGULAR_FILE", message: expect.stringMatching(/decision_log\.jsonl is a FIFO/), fix: expect.stringContaining(`rm ${log}`) }),
    ]));
  }, 2 * CLI_TIMEOUT_MS);
});

describe("drops an agent linked or piped", () => {
  it("validate of a drop names a link to a secret and a FIFO (checked by name, never followed, never opened blocking)", () => {
    bus = Bus.init();
    expect(bus.cli("start", "EP-001", "--title", "Drops").code).toBe(0);
    const secret = join(bus.dir, "secret.json");
    // a field name an unknown-field check would quote
    writeFileSync(secret, `{"${SECRET}": 1}\n`);
    const plan = join(bus.root, "artifacts", "EP-001", "plan.json");
    const message = join(bus.root, "messages", "inbox", "developer", "from-planner.yaml");
    symlinkSync(secret, plan);
    expect(spawnSync("mkfifo", [message]).status).toBe(0);
    const r = run(bus, ["validate", "--format", "json", plan, message]);
    expect(r.signal, `${r.out} (killed: it hung)`).toBeNull();
    expect(r.code, r.out).toBe(1);
    expect(r.out).not.toContain(SECRET);
    const { issues } = JSON.parse(r.out) as { issues: Array<{ code: string; message: string; fix: string }> };
    expect(issues).toEqual([
      expect.objectContaining({ code: "UNSAFE_PATH", message: expect.stringMatching(/plan\.json is a symbolic link/), fix: expect.stringContaining(`rm ${plan}`) }),
      expect.objectContaining({ code: "NOT_REGULAR_FILE", message: expect.stringMatching(/from-planner\.yaml is a FIFO/), fix: expect.stringContaining(`rm ${message}`) }),
    ]);
  }, 2 * CLI_TIMEOUT_MS);
});

describe("consensus.yaml swapped by an agent", () => {
  for (const p of PLANTS) {
    it(`${p.kind}, no rules in force: every command that reads it refuses it with CONFIG_INVALID and the fix; none hangs or prints what it holds`, () => {
      bus = Bus.init();
      rmSync(join(bus.root, ".consensus", "rules.json"));
      const config = join(bus.root, "consensus.yaml");
      rmSync(config);
      p.plant(bus, config);
      const message = join(bus.dir, "approve.yaml");
      writeFileSync(message, "type: approve\nfrom: developer\nto: quality\nepic_id: EP-1\niteration: 1\n");
      const commands: [string[], Record<string, string>?][] = [[["graph"]], [["inbox", "developer"]], [["submit", message, "--timeout", "1s"], { CONSENSUS_TOKEN: fakeToken() }], [["config", "diff"]], [["config", "apply", "--yes"]], [["validate"]], [["validate", config]], [["init"]]];
      for (const [args, env] of commands) {
        const r = run(bus, args, env);
        const what = `consensus ${args.join(" ")}: ${r.out}`;
        expect(r.signal, `${what} (killed after ${CLI_TIMEOUT_MS} ms: it hung)`).toBeNull();
        expect(r.code, what).not.toBe(0);
        expect(r.out, what).toContain("CONFIG_INVALID");
        expect(r.out, what).toMatch(p.says);
        expect(r.out, what).toContain(p.fix(config));
        expect(r.out, what).not.toContain(SECRET);
      }
      // doctor fails its config check, saying what the file is and the same fix (not `consensus init`, which refuses it too)
      const doc = run(bus, ["doctor"]);
      expect(doc.signal, doc.out).toBeNull();
      expect(doc.code, doc.out).not.toBe(0);
      expect(doc.out).toMatch(p.says);
      expect(doc.out).toContain(p.fix(config));
      expect(doc.out).not.toContain(SECRET);
      // status only needs stage owners: it goes on without them, and does not hang either
      const s = run(bus, ["status"]);
      expect(s.signal, s.out).toBeNull();
      expect(s.code, s.out).toBe(0);
      expect(s.out).not.toContain(SECRET);
    }, 8 * CLI_TIMEOUT_MS + 60_000);

    it(`${p.kind}, rules in force: inbox, graph and submit decide by the rules in force and never read it`, () => {
      bus = Bus.init();
      const config = join(bus.root, "consensus.yaml");
      rmSync(config);
      p.plant(bus, config);
      for (const args of [["inbox", "developer"], ["graph"]]) {
        const r = run(bus, args);
        expect(r.signal, `consensus ${args.join(" ")} hung`).toBeNull();
        expect(r.code, r.out).toBe(0);
        expect(r.out).not.toContain(SECRET);
      }
      // submit gets past the pipeline (the file is no artifact, names no known role): the rules in force answered
      const odd = join(bus.dir, "note.yaml");
      writeFileSync(odd, "type: approve\nfrom: developer\nto: nobody\nepic_id: EP-1\niteration: 1\n");
      const r = run(bus, ["submit", odd, "--timeout", "1s"], { CONSENSUS_TOKEN: fakeToken() });
      expect(r.signal, "consensus submit hung").toBeNull();
      expect(r.out).toContain("UNKNOWN_ROLE");
      expect(r.out).toContain("planner, developer, quality, devops");
      expect(r.out).not.toContain(SECRET);
    }, 4 * CLI_TIMEOUT_MS + 60_000);
  }
});
