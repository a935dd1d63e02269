/**
 * In someone else's project: the package as npm packs it, installed with `npm install --save-dev` into
 * a fresh folder (dependencies from the local npm cache where it can), then `npx consensus init`,
 * `start` and `watch` with the scripted agents (examples/agents) reach `promoted` there. Only the
 * packed files take part: nothing of this repository is on the path but the scripted agents.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { relativeLinks } from "../support/markdown.js";
import { repo } from "../support/bus.js";

const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { name: string; version: string };
const dir = mkdtempSync(join(tmpdir(), "consensus-pack-"));
const project = join(dir, "project");
let daemon: ReturnType<typeof spawn> | undefined;
afterAll(() => {
  if (daemon && daemon.exitCode === null) daemon.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, CONSENSUS_USER: "tester", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };
  delete e.CONSENSUS_ROOT; // found from the project folder, as a person would
  return e;
};
const run = (cmd: string, args: string[], cwd = project): SpawnSyncReturns<string> => spawnSync(cmd, args, { cwd, env: env(), encoding: "utf8", timeout: 300_000 });
const ok = (r: SpawnSyncReturns<string>): string => {
  expect(r.status, `${r.stdout}\n${r.stderr}${r.error ? `\n${String(r.error)}` : ""}`).toBe(0);
  return r.stdout;
};
/** The project's own bin, as `npx consensus` finds it (npx itself is checked once: it costs a second a call). */
const consensus = (...args: string[]) => run(join(project, "node_modules", ".bin", "consensus"), args);

/** What each agent printed (logs/agents/<EPIC>/<iteration>/<role>-<n>.log): why one left nothing. */
function agentOutputs(root: string): string {
  const dir = join(root, "logs", "agents");
  if (!existsSync(dir)) return "(no agent output)";
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith(".log"))
    .sort()
    .map((f) => `--- ${f}\n${readFileSync(join(dir, f), "utf8").slice(-1500)}`)
    .join("\n");
}

describe("installed into a fresh project from the packed tarball", () => {
  it("init, start, watch with the scripted agents: the epic is promoted", async () => {
    // the tarball, exactly what `npm publish` would upload (dist is built by the test run's pretest)
    const packed = ok(run(npm, ["pack", "--ignore-scripts", "--pack-destination", dir, "--json"], repo));
    const tarball = join(dir, (JSON.parse(packed) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!.filename);
    const files = (JSON.parse(packed) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    for (const f of ["bin/consensus.js", "dist/cli/main.js", "docs/PROTOCOL.md", "docs/agents.md", "agents/planner.md", "schemas/plan.schema.json", "presets/default.yaml"]) expect(files, f).toContain(f);
    expect(files.some((f) => f.startsWith("test/") || f.startsWith("src/"))).toBe(false);

    writeFileSync(join(dir, "package.json"), "{}\n"); // keeps npm from looking above the temp folder
    ok(run("mkdir", ["-p", project], dir));
    writeFileSync(join(project, "package.json"), `${JSON.stringify({ name: "someone-elses-project", version: "1.0.0", private: true }, null, 2)}\n`);
    // dependencies: from the local cache where it has them (the registry only for what it lacks)
    ok(run(npm, ["install", "--save-dev", "--prefer-offline", "--no-audit", "--no-fund", tarball]));
    expect(JSON.parse(readFileSync(join(project, "package.json"), "utf8")).devDependencies).toHaveProperty(pkg.name);
    // `npx consensus` (here `npm exec --no`: never a download) runs the project's own bin
    expect(ok(run(npm, ["exec", "--no", "--", "consensus", "--version"])).trim()).toBe(pkg.version);

    // init: the bus, its README (links resolve from where it is), the role prompts next to it
    ok(consensus("init"));
    const root = join(project, "consensus");
    expect(readdirSync(join(project, "agents")).sort()).toEqual(["developer.md", "devops.md", "planner.md", "quality.md"]);
    const links = relativeLinks(readFileSync(join(root, "README.md"), "utf8"), root);
    expect(links.some((l) => l.includes(join("node_modules", pkg.name, "docs", "PROTOCOL.md")))).toBe(true);
    for (const l of links) expect(existsSync(l), l).toBe(true);

    // the daemon launches the scripted agents, as the demo does
    const agents = ["planner", "developer", "quality", "devops"]
      .map((role) => `  ${role}:\n    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(join(repo, "examples", "agents", `${role}.mjs`))}]\n    timeout: 120s\n    retries: 1\n    backoff_ms: 200\n`)
      .join("");
    appendFileSync(join(root, "consensus.yaml"), `\nagents:\n${agents}`);
    ok(consensus("config", "apply", "--yes"));
    const doctor = consensus("doctor");
    expect(doctor.status, doctor.stdout).toBe(0);
    expect(doctor.stdout).toMatch(/pass\s+agents\s+4 agent\(s\) ready/);
    ok(consensus("start", "EP-001", "--title", "Add a /health endpoint"));

    daemon = spawn(join(project, "node_modules", ".bin", "consensus"), ["watch", "--log-level", "warn"], { cwd: project, env: env(), stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    daemon.stderr!.on("data", (b: Buffer) => (err += b.toString()));
    const log = join(root, "current", "decision_log.jsonl");
    const end = Date.now() + 240_000;
    for (;;) {
      const text = existsSync(log) ? readFileSync(log, "utf8") : "";
      if (text.includes('"decision":"promoted"')) break;
      if (text.includes('"decision":"escalated"') || daemon.exitCode !== null || Date.now() > end) throw new Error(`not promoted (daemon exit ${daemon.exitCode}):\n${text.slice(-3000)}\n${err}\n${agentOutputs(root)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const exited = new Promise((r) => daemon!.once("exit", r));
    daemon.kill("SIGTERM");
    await exited;
    const status = consensus("status", "EP-001");
    expect(status.status, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^EP-001\s+promoted\s+promoted\s+2\s/m);
    expect(ok(consensus("log", "verify"))).toMatch(/^log of record: intact/);
  }, 600_000);
});
