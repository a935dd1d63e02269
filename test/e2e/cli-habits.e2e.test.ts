/**
 * Command-line habits: the bus is found like git finds .git (from the current folder upwards), output
 * piped into a reader that stops early ends quietly, and nothing an agent wrote reaches a terminal raw.
 */
import { afterEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bus, artifact, cliPath } from "../support/bus.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** The CLI run from `cwd` with no --root and no CONSENSUS_ROOT, as a person in a terminal runs it. */
function runIn(cwd: string, ...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, CONSENSUS_USER: "tester" };
  delete env.CONSENSUS_ROOT;
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd, env, encoding: "utf8", timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// C0 (but newline), DEL, C1, bidi controls: none may reach the terminal
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe("finding the bus", () => {
  it("from the project, from inside the bus, and an error naming where it looked when there is none", () => {
    const dir = mkdtempSync(join(tmpdir(), "consensus-find-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const project = join(dir, "project");
    mkdirSync(join(project, "src", "deep"), { recursive: true });
    expect(runIn(project, "init").code).toBe(0);
    expect(runIn(project, "start", "EP-001", "--title", "Found").code).toBe(0);
    for (const cwd of [project, join(project, "src", "deep"), join(project, "consensus", "artifacts", "EP-001"), join(project, "consensus")]) {
      const r = runIn(cwd, "status", "EP-001");
      expect(r.code, `${cwd}: ${r.stderr}`).toBe(2); // in progress
      expect(r.stdout).toMatch(/^EP-001\s+plan\s+in_progress/m);
    }
    const outside = join(dir, "elsewhere");
    mkdirSync(outside);
    for (const cmd of [["status"], ["log"], ["start", "EP-009", "--title", "x"], ["watch", "--once"]]) {
      const r = runIn(outside, ...cmd);
      expect(r.code, cmd.join(" ")).toBe(2);
      expect(r.stderr).toContain(`not a consensus bus (looked in ${outside} and above)`);
      expect(r.stderr).toContain("Run `consensus init` or pass `--root DIR`.");
    }
    // validate of named files needs no bus
    writeFileSync(join(outside, "plan.json"), artifact("plan.json", "EP-001", 1));
    expect(runIn(outside, "validate", "plan.json").code).toBe(0);
  });
});

describe("output", () => {
  it("piped into a reader that stops early (| head -1) ends quietly, exit 0", () => {
    const bus = Bus.init();
    cleanups.push(() => bus.cleanup());
    const line = (n: number) => `${JSON.stringify({ timestamp: "2026-11-21T10:00:00Z", agent: "devops", decision: "note", epic_id: "EP-001", iteration: 1, details: { n } })}\n`;
    appendFileSync(join(bus.root, "current", "decision_log.jsonl"), Array.from({ length: 20_000 }, (_, n) => line(n)).join(""));
    // the daemon reads agents' lines into the log of record, which `consensus log` prints
    expect(bus.cli("watch", "--once").code).toBe(0);
    const r = spawnSync("bash", ["-c", `"${process.execPath}" "${cliPath}" log --agent devops 2>"${bus.dir}/err" | head -1; echo "exit=\${PIPESTATUS[0]}"; cat "${bus.dir}/err"`], { env: { ...process.env, CONSENSUS_ROOT: bus.root }, encoding: "utf8" });
    const [first, exit, ...rest] = r.stdout.split("\n");
    expect(first).toContain('devops        EP-001 iteration 1 note {"n":0}');
    expect(exit).toBe("exit=0");
    expect(rest.join("\n").trim()).toBe("");
  });

  it("nothing an agent wrote reaches the terminal raw: log, status, report, validate, doctor", async () => {
    const bus = Bus.init();
    cleanups.push(() => bus.cleanup());
    // a fake "PROMOTED" line in colour, a window title (OSC), an 8-bit CSI and a right-to-left override
    const evil = "\u001b[2K\r\u001b[32m#99 orchestrator EP-001 PROMOTED\u001b[0m\u001b]0;pwned\u0007 \u009b31m \u202egnp.exe";
    // a title is one printable line (schemas/request.schema.json): refused before it reaches the log
    const refused = bus.cli("start", "EP-001", "--title", `Title ${evil}`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("/title");
    expect(bus.cli("start", "EP-001", "--title", "Title").code).toBe(0);
    bus.drop("artifacts/EP-001/plan.json", artifact("plan.json", "EP-001", 1));
    expect(bus.cli("watch", "--once").code).toBe(0);
    bus.drop("messages/inbox/planner/veto-1.yaml", `from: developer\nto: planner\ntimestamp: "2026-11-21T10:00:00Z"\nepic_id: EP-001\niteration: 1\ntype: veto\nsubject: bad_plan\ncontent:\n  violation: ${JSON.stringify(evil)}\n  specifics: ${JSON.stringify(`more ${evil}`)}\n  blocking: true\n`);
    bus.drop("artifacts/EP-001/implementation.json", { epic_id: "EP-001", iteration: 1, timestamp: "2026-11-21T10:00:00Z", tasks_completed: evil });
    expect(bus.cli("watch", "--once").code).toBe(0);
    expect(bus.entries().some((e) => e.decision === "veto_recorded")).toBe(true);
    appendFileSync(join(bus.root, "current", "decision_log.jsonl"), `${JSON.stringify({ timestamp: "2026-11-21T10:00:00Z", agent: "devops", decision: "note", epic_id: "EP-001", iteration: 1, details: { why: evil } })}\n`);
    expect(bus.cli("watch", "--once").code).toBe(0);
    writeFileSync(join(bus.dir, "bad.json"), JSON.stringify({ epic_id: "EP-001", iteration: "\u009b31m \u202e" }));
    const outputs = {
      log: bus.cli("log"),
      status: bus.cli("status"),
      statusOne: bus.cli("status", "EP-001"),
      report: bus.cli("report"),
      validate: bus.cli("validate", join(bus.dir, "bad.json"), "--kind", "plan"),
      github: bus.cli("validate", join(bus.dir, "bad.json"), "--kind", "plan", "--format", "github"),
      doctor: bus.cli("doctor"),
    };
    for (const [name, r] of Object.entries(outputs)) {
      expect(r.stdout + r.stderr, name).not.toMatch(RAW_CONTROL);
    }
    expect(outputs.log.stdout).toContain("\\x1b[32m#99 orchestrator EP-001 PROMOTED");
    // one printed line per log line: an agent's \r or newline cannot forge one
    const logLines = readFileSync(join(bus.root, ".consensus", "log.jsonl"), "utf8").trimEnd().split("\n");
    expect(outputs.log.stdout.trimEnd().split("\n")).toHaveLength(logLines.length);
    expect(outputs.log.stdout).toContain("\\u202egnp.exe");
    expect(outputs.validate.stdout).toContain("\\x9b31m");
  });

  it("validate, doctor and agents warn when an agent's program is not on PATH or its prompt is missing", () => {
    const bus = Bus.init();
    cleanups.push(() => bus.cleanup());
    appendFileSync(join(bus.root, "consensus.yaml"), `\nagents:\n  planner:\n    command: [no-such-agent-cli, -p, "\${CONSENSUS_PROMPT}"]\n  developer:\n    command: [${JSON.stringify(process.execPath)}, -e, "0"]\n    prompt: agents/developer.md\n`);
    bus.applyConfig();
    // init wrote the role prompts next to the bus; the planner's goes missing
    expect(existsSync(join(bus.dir, "agents", "developer.md"))).toBe(true);
    rmSync(join(bus.dir, "agents", "planner.md"));
    const v = bus.cli("validate", join(bus.root, "consensus.yaml"));
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toContain('warning [AGENT_NOT_FOUND]');
    expect(v.stdout).toContain('agent "planner": program no-such-agent-cli is not on PATH');
    expect(v.stdout).toContain('warning [AGENT_PROMPT_MISSING]');
    expect(v.stdout).toContain('agent "planner": its prompt agents/planner.md does not exist');
    expect(v.stdout).not.toContain('agent "developer"');
    const d = bus.cli("doctor");
    expect(d.code, d.stdout).toBe(0);
    expect(d.stdout).toMatch(/warn\s+agents\s+agent "planner": program no-such-agent-cli is not on PATH/);
    const a = bus.cli("agents");
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^planner .*no-such-agent-cli .*\(cannot run: see below\)$/m);
    expect(a.stderr).toContain("[AGENT_NOT_FOUND]");
    expect(a.stderr).toContain("[AGENT_PROMPT_MISSING]");
  });
});
