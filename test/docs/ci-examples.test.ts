/**
 * Every command written in examples/ci (GitHub Actions, GitLab CI, pre-commit) and in the root
 * .pre-commit-hooks.yaml runs here against a real bus the daemon drove, the way each CI system runs
 * it, so the examples cannot rot. What the test does not run itself it names: the marketplace actions
 * (`uses:`) and `npm ci`, which it stands in for by linking this package into the project's
 * node_modules (as `npm ci` of a project with consensus as a devDependency would).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { load } from "js-yaml";
import { validateXML } from "xmllint-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bus, DEFAULT_ARTIFACTS, cliPath, dropAccepted, fixtures, repo } from "../support/bus.js";

const examples = join(repo, "examples", "ci");
const temps: string[] = [];
let pristine: string;
let shims: string;
let daemonKey: string;
/** Every script the examples hold, and whether a scenario ran it. */
const ran = new Map<string, boolean>();

/** The project as CI checks it out: its package.json, and the bus in consensus/ (EP-001 promoted, EP-002 in progress). */
beforeAll(async () => {
  const bus = Bus.init();
  try {
    for (const id of ["EP-001", "EP-002"]) expect(bus.cli("start", id, "--title", `Epic ${id}`).code).toBe(0);
    bus.startDaemon();
    await dropAccepted(bus, "EP-001", DEFAULT_ARTIFACTS);
    await bus.waitForDecision("promoted", 1, "EP-001");
    expect(await bus.stopDaemon()).toBe(0);
    pristine = temp();
    // what git commits: never the daemon's private area (`consensus init`'s .gitignore keeps it out)
    expect(readFileSync(join(bus.root, ".gitignore"), "utf8")).toMatch(/^\.consensus\/?$/m);
    cpSync(bus.root, join(pristine, "consensus"), { recursive: true, filter: (src) => !src.startsWith(join(bus.root, ".consensus")) });
    // the daemon key, as the repository's secret holds it
    daemonKey = readFileSync(join(bus.root, ".consensus/keys/daemon.key"), "utf8");
  } finally {
    bus.cleanup();
  }
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { name: string; version: string; bin: Record<string, string> };
  expect(Object.keys(pkg.bin)).toContain("consensus");
  writeFileSync(join(pristine, "package.json"), JSON.stringify({ name: "my-service", private: true, devDependencies: { [pkg.name]: pkg.version } }, null, 2));
  // npx runs a bin of the project's node_modules, as it does for an installed devDependency (and fails if npm ci did not run)
  shims = temp();
  writeFileSync(join(shims, "npx"), `#!/bin/sh\nbin="$PWD/node_modules/.bin/$1"\n[ -x "$bin" ] || { echo "npx: $1 is not installed in $PWD (did npm ci run?)" >&2; exit 127; }\nshift\nexec "$bin" "$@"\n`);
  chmodSync(join(shims, "npx"), 0o755);
});
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function temp(): string {
  const d = mkdtempSync(join(tmpdir(), "consensus-ci-"));
  temps.push(d);
  return d;
}

/** A fresh checkout of the project; `damage` adds an invalid artifact and an invalid message. */
function checkout(damage = false): string {
  const dir = temp();
  cpSync(pristine, dir, { recursive: true });
  if (damage) {
    writeFileSync(join(dir, "consensus/artifacts/EP-002/plan.json"), readFileSync(join(fixtures, "invalid/plan-task-without-criteria.json"), "utf8").replace(/"EP-001"/, '"EP-002"'));
    writeFileSync(join(dir, "consensus/messages/inbox/quality/from-devops.yaml"), readFileSync(join(fixtures, "invalid/message-bad-type.yaml"), "utf8"));
  }
  return dir;
}

/** What `npm ci` gives a project that has consensus as a devDependency: its bin in node_modules/.bin. */
function npmCi(project: string): void {
  mkdirSync(join(project, "node_modules", ".bin"), { recursive: true });
  if (!existsSync(join(project, "node_modules", ".bin", "consensus"))) symlinkSync(cliPath, join(project, "node_modules", ".bin", "consensus"));
}
const isNpmCi = (script: string): boolean => /^npm ci( |$)/.test(script.trim());

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a script as the CI systems' bash does (-e, pipefail), with the shims first on PATH and no bus from the test's own environment. */
function bash(script: string, cwd: string, env: Record<string, string>): Run {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CONSENSUS_") && !k.startsWith("GITHUB_") && !k.startsWith("CI_")));
  const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], { cwd, encoding: "utf8", env: { ...base, PATH: `${shims}:${process.env.PATH}`, ...env }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// ---- GitHub Actions ------------------------------------------------------------------------------

interface GhStep {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
}
interface GhWorkflow {
  on: Record<string, unknown>;
  env?: Record<string, string>;
  jobs: Record<string, { env?: Record<string, string>; steps: GhStep[] }>;
}

/** Actions the test does not run: checkout (the test's copy stands in), setup-node (this Node), the SARIF upload. */
const ACTIONS = ["actions/checkout", "actions/setup-node", "github/codeql-action/upload-sarif"];

const workflow = (name: string): GhWorkflow => load(readFileSync(join(examples, "github", name), "utf8")) as GhWorkflow;

/** `${{ expr }}` in env values, from the scenario's context; any expression the test does not know fails it. */
function expand(value: unknown, context: Record<string, string>): string {
  return String(value).replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
    if (!(expr in context)) throw new Error(`the test has no value for \${{ ${expr} }}: add it to the scenario's context`);
    return context[expr]!;
  });
}

function runGithubJob(file: string, job: string, project: string, context: Record<string, string> = {}): Array<GhStep & Run> {
  const wf = workflow(file);
  const j = wf.jobs[job]!;
  const env = { ...wf.env, ...j.env };
  const out: Array<GhStep & Run> = [];
  let failed = false;
  for (const step of j.steps) {
    if (step.uses) {
      expect(ACTIONS, `${file} ${job}: an action the test does not know`).toContain(step.uses.split("@")[0]);
      continue;
    }
    const script = step.run!;
    if (isNpmCi(script)) {
      npmCi(project);
      continue;
    }
    if (failed && !String(step.if ?? "").includes("always()")) continue;
    expect(script, "GitHub context goes into a script through env, never as ${{ }} in its text").not.toContain("${{");
    const stepEnv = Object.fromEntries(Object.entries({ ...env, ...step.env }).map(([k, v]) => [k, expand(v, context)]));
    const r = bash(script, project, { ...stepEnv, GITHUB_ACTIONS: "true" });
    ran.set(`${file} ${job} ${script}`, true);
    out.push({ ...step, ...r });
    if (r.code !== 0) failed = true;
  }
  return out;
}

const prContext = (branch: string, labels: string[], key = "") => ({ "github.head_ref": branch, "join(github.event.pull_request.labels.*.name, ',')": labels.join(","), "secrets.CONSENSUS_DAEMON_KEY": key });

describe("examples/ci/github/consensus-validate.yml", () => {
  it("runs on pull requests that touch the bus", () => {
    expect(workflow("consensus-validate.yml").on).toEqual({ pull_request: { paths: ["consensus/**"] } });
  });

  it("validate: passes a valid bus; annotates every problem of an invalid one and fails", () => {
    const ok = runGithubJob("consensus-validate.yml", "validate", checkout());
    expect(ok.map((s) => s.code)).toEqual([0]);
    const bad = runGithubJob("consensus-validate.yml", "validate", checkout(true));
    expect(bad.map((s) => s.code)).toEqual([1]);
    expect(bad[0]!.out).toMatch(/^::error file=consensus\/artifacts\/EP-002\/plan\.json,line=25,col=9,title=consensus SCHEMA::\/stages\/0\/tasks\/1\/acceptance_criteria: missing required field/m);
    expect(bad[0]!.out).toMatch(/^::error file=consensus\/messages\/inbox\/quality\/from-devops\.yaml,line=6,col=1,title=consensus SCHEMA::\/type: /m);
  });

  it("code-scanning: writes a SARIF log even for an invalid bus, for the upload step", () => {
    for (const damaged of [false, true]) {
      const project = checkout(damaged);
      const steps = runGithubJob("consensus-validate.yml", "code-scanning", project);
      expect(steps.map((s) => s.code)).toEqual([0]);
      const log = JSON.parse(readFileSync(join(project, "consensus.sarif"), "utf8")) as { version: string; runs: Array<{ results: Array<{ ruleId: string }> }> };
      expect(log.version).toBe("2.1.0");
      expect(log.runs[0]!.results.length > 0).toBe(damaged);
    }
  });
});

describe("examples/ci/github/consensus-gate.yml", () => {
  it("runs on every pull request, again when labels change", () => {
    expect(workflow("consensus-gate.yml").on).toEqual({ pull_request: { types: ["opened", "synchronize", "reopened", "labeled", "unlabeled"] } });
  });

  it("passes only when the epic named by the branch or an epic: label is promoted", () => {
    const project = checkout();
    const gate = (branch: string, labels: string[] = []) => runGithubJob("consensus-gate.yml", "gate", project, prContext(branch, labels)).at(-1)!;
    const promoted = gate("EP-001-health-check");
    expect(promoted.code, promoted.out + promoted.err).toBe(0);
    expect(promoted.out).toMatch(/^::notice title=consensus gate EP-001::open/m);
    // no key given: it says so, and how to give it
    expect(promoted.out).toMatch(/^::warning title=consensus gate EP-001::log: intact: the committed readable copy .*MACs NOT checked.*CONSENSUS_KEY_FILE/m);
    const keyed = runGithubJob("consensus-gate.yml", "gate", project, prContext("EP-001-health-check", [], daemonKey)).at(-1)!;
    expect(keyed.code, keyed.out + keyed.err).toBe(0);
    expect(keyed.out).toMatch(/^::notice title=consensus gate EP-001::open .*every daemon line's MAC checked under key/m);
    expect(keyed.out).not.toContain("::warning");
    expect(keyed.out + keyed.err).not.toContain((JSON.parse(daemonKey) as { keys: Array<{ secret: string }> }).keys[0]!.secret);
    expect(gate("main", ["bug", "epic:EP-001"]).code).toBe(0);
    const inProgress = gate("feature/EP-002-login");
    expect(inProgress.code).toBe(1);
    expect(inProgress.out).toMatch(/^::error title=consensus gate EP-002::epic: EP-002 is in progress at plan/m);
    // the label wins over the branch
    expect(gate("EP-001-health-check", ["epic:EP-002"]).code).toBe(1);
    for (const [branch, labels] of [["docs-typo", []], ["main", ["epic:EP-001", "epic:EP-002"]]] as const) {
      const r = gate(branch, [...labels]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/^::error title=consensus gate::name exactly one epic/m);
    }
    expect(gate("EP-404-nothing").code).not.toBe(0);
  });

  it("fails when the log does not verify, even for a promoted epic", () => {
    const project = checkout();
    // a CI checkout has no log of record (.consensus/ is never committed): the gate verifies the committed readable copy
    const log = join(project, "consensus/current/decision_log.jsonl");
    writeFileSync(log, readFileSync(log, "utf8").replace('"decision":"stage_advanced"', '"decision":"stage_advanced_"'));
    const r = runGithubJob("consensus-gate.yml", "gate", project, prContext("EP-001-health-check", [])).at(-1)!;
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^::error title=consensus gate EP-001::log: broken: the committed readable copy /m);
  });

  it("with the daemon key, a line re-hashed after an edit fails; without it only --require-mac fails it", () => {
    const project = checkout();
    const log = join(project, "consensus/current/decision_log.jsonl");
    const lines = readFileSync(log, "utf8").split("\n").slice(0, -1);
    // the last daemon line edited and its hash made again, as anyone can: the chain holds, its MAC does not
    const i = lines.findLastIndex((l) => l.includes('"agent":"orchestrator"'));
    const prev = lines.slice(0, i).findLast((l) => l.includes('"agent":"orchestrator"'))!;
    const head = /"hash":"([0-9a-f]{64})"/.exec(prev)![1]!;
    const body = lines[i]!.replace(/,"hash":.*$/, "}").replace('"timestamp":"', '"note":"forged","timestamp":"');
    const hash = createHash("sha256").update(head + body).digest("hex");
    lines[i] = `${body.slice(0, -1)},"hash":"${hash}","mac":"${(JSON.parse(daemonKey) as { keys: Array<{ id: string }> }).keys.at(-1)!.id}.${"0".repeat(64)}"}`;
    writeFileSync(log, `${lines.join("\n")}\n`);
    const withKey = runGithubJob("consensus-gate.yml", "gate", project, prContext("EP-001-health-check", [], daemonKey)).at(-1)!;
    expect(withKey.code).toBe(1);
    expect(withKey.out).toMatch(/^::error title=consensus gate EP-001::log: broken: .*the MAC does not check/m);
    // without the key the chain alone cannot tell: the gate says so, and --require-mac closes it
    const chainOnly = runGithubJob("consensus-gate.yml", "gate", project, prContext("EP-001-health-check", [])).at(-1)!;
    expect(chainOnly.out).toMatch(/^::warning title=consensus gate EP-001::log: .*MACs NOT checked/m);
    const strict = spawnSync(process.execPath, [cliPath, "gate", "EP-001", "--require-mac", "--root", join(project, "consensus")], { encoding: "utf8" });
    expect(strict.status).toBe(1);
    expect(strict.stdout).toMatch(/FAIL {2}log +intact: .*MACs NOT checked.*--require-mac was given/);
  });
});

// ---- GitLab CI -----------------------------------------------------------------------------------

interface GlJob {
  extends?: string;
  rules?: Array<{ if?: string; changes?: string[] }>;
  variables?: Record<string, string>;
  before_script?: string[];
  script: string[];
  artifacts?: { when?: string; reports?: { junit?: string } };
}
const gitlab = load(readFileSync(join(examples, "gitlab", "consensus.gitlab-ci.yml"), "utf8")) as Record<string, GlJob> & { variables: Record<string, string> };

/** Runs a job as GitLab Runner does: before_script (from extends) then script, one bash session, the first failure ends it. */
function runGitlabJob(name: string, project: string, ci: Record<string, string>): Run {
  const job = gitlab[name]!;
  const parent = job.extends ? gitlab[job.extends]! : undefined;
  const lines = [...(job.before_script ?? parent?.before_script ?? []), ...job.script];
  const script = lines
    .map((l) => {
      if (!isNpmCi(l)) return l;
      npmCi(project);
      return ":";
    })
    .join("\n");
  for (const l of job.script) ran.set(`gitlab ${name} ${l}`, true);
  return bash(script, project, { ...gitlab.variables, ...job.variables, CI: "true", CI_PIPELINE_SOURCE: "merge_request_event", ...ci });
}

describe("examples/ci/gitlab/consensus.gitlab-ci.yml", () => {
  const junitXsd = () => readFileSync(join(fixtures, "formats", "junit-10.xsd"), "utf8");

  it("both jobs run in merge request pipelines; validate only when the bus changed", () => {
    expect(gitlab["consensus-validate"]!.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"', changes: ["consensus/**/*"] }]);
    expect(gitlab["consensus-gate"]!.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
  });

  it("consensus-validate: a JUnit report GitLab reads, and the job fails on an invalid bus", async () => {
    for (const damaged of [false, true]) {
      const project = checkout(damaged);
      const r = runGitlabJob("consensus-validate", project, {});
      expect(r.code, r.out + r.err).toBe(damaged ? 1 : 0);
      const report = readFileSync(join(project, gitlab["consensus-validate"]!.artifacts!.reports!.junit!), "utf8");
      const v = await validateXML({ xml: [{ fileName: "report.xml", contents: report }], schema: [{ fileName: "junit-10.xsd", contents: junitXsd() }] });
      expect(v.errors).toEqual([]);
      expect(/<failure /.test(report)).toBe(damaged);
      if (damaged) expect(r.out).toMatch(/error \[SCHEMA\] consensus\/artifacts\/EP-002\/plan\.json line 25:9/);
    }
    expect(gitlab["consensus-validate"]!.artifacts!.when).toBe("always");
  });

  it("consensus-gate: the epic from an epic: label or the source branch; only promoted passes", () => {
    const project = checkout();
    const gate = (branch: string, labels = "") => runGitlabJob("consensus-gate", project, { CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: branch, CI_MERGE_REQUEST_LABELS: labels });
    expect(gate("EP-001-health-check").code).toBe(0);
    expect(gate("misc", "epic:EP-001,backend").code).toBe(0);
    const inProgress = gate("EP-002-login");
    expect(inProgress.code).toBe(1);
    expect(inProgress.out).toMatch(/FAIL {2}epic +EP-002 is in progress/);
    const none = gate("docs-typo");
    expect(none.code).toBe(1);
    expect(none.out).toMatch(/name exactly one epic/);
  });
});

// ---- pre-commit ----------------------------------------------------------------------------------

interface Hook {
  id: string;
  entry: string;
  language: string;
  files?: string;
  exclude?: string;
  args?: string[];
}

/** Every file of the project, as `git add -A` would stage them (paths relative to the project, with '/'). */
function staged(project: string, dir = project): string[] {
  return readdirSync(dir).flatMap((n) => {
    const abs = join(dir, n);
    if (n === "node_modules") return [];
    return statSync(abs).isDirectory() ? staged(project, abs) : [relative(project, abs).split("\\").join("/")];
  });
}

/** Runs a hook as pre-commit does: entry + args + the staged files its `files` and `exclude` select (Python re.search; these patterns mean the same in JS). */
function runHook(hook: Hook, project: string): Run & { files: string[] } {
  const files = staged(project).filter((f) => (!hook.files || new RegExp(hook.files).test(f)) && !(hook.exclude && new RegExp(hook.exclude).test(f)));
  // pre-commit splits entry like a shell (shlex) and runs it without one, with args and the files after it
  const [cmd, ...rest] = hook.entry.split(" ");
  const argv = [...rest, ...(hook.args ?? []), ...files];
  ran.set(`pre-commit ${hook.id}`, true);
  if (hook.language === "node") {
    // pre-commit installs the package (npm install, npm pack, npm install -g) and puts its bins on PATH
    expect(cmd).toBe("consensus");
    const r = spawnSync(process.execPath, [cliPath, ...argv], { cwd: project, encoding: "utf8" });
    return { code: r.status, out: r.stdout, err: r.stderr, files };
  }
  // language: system runs what the project has installed
  expect(hook.language).toBe("system");
  npmCi(project);
  const r = spawnSync(cmd!, argv, { cwd: project, encoding: "utf8", env: { ...process.env, PATH: `${shims}:${process.env.PATH}`, CONSENSUS_ROOT: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr, files };
}

describe(".pre-commit-hooks.yaml and examples/ci/pre-commit-config.yaml", () => {
  const shipped = load(readFileSync(join(repo, ".pre-commit-hooks.yaml"), "utf8")) as Hook[];
  const config = load(readFileSync(join(examples, "pre-commit-config.yaml"), "utf8")) as { repos: Array<{ repo: string; hooks: Array<Partial<Hook> & { id: string }> }> };
  const hooks = (): Hook[] => [
    ...shipped,
    ...config.repos.filter((r) => r.repo === "local").flatMap((r) => r.hooks as Hook[]),
  ];

  it("the example uses the hook this repository ships", () => {
    const remote = config.repos.find((r) => r.repo !== "local")!;
    expect(remote.hooks.map((h) => h.id)).toEqual(shipped.map((h) => h.id));
  });

  it("each hook selects the bus's artifacts, messages, config and log, never the daemon's notices; passes a valid bus", () => {
    for (const hook of hooks()) {
      const r = runHook(hook, checkout());
      expect(r.code, `${hook.id}: ${r.out}${r.err}`).toBe(0);
      expect(r.files).toEqual(expect.arrayContaining(["consensus/consensus.yaml", "consensus/current/decision_log.jsonl", "consensus/artifacts/EP-001/plan.json", "consensus/artifacts/EP-001/runbook.md", "consensus/artifacts/EP-001/cicd.yaml"]));
      expect(r.files.filter((f) => /notice-|state\.json|archive\/|\.consensus\/|package\.json/.test(f))).toEqual([]);
      expect(r.out).toMatch(/^valid: \d+ file\(s\), 0 error\(s\)/m);
    }
  });

  it("each hook stops a commit of an invalid artifact or message, naming every problem", () => {
    for (const hook of hooks()) {
      const project = checkout(true);
      const r = runHook(hook, project);
      expect(r.code, hook.id).toBe(1);
      expect(r.files).toEqual(expect.arrayContaining(["consensus/artifacts/EP-002/plan.json", "consensus/messages/inbox/quality/from-devops.yaml"]));
      expect(r.out).toMatch(/error \[SCHEMA\] consensus\/artifacts\/EP-002\/plan\.json line 25:9 \/stages\/0\/tasks\/1\/acceptance_criteria/);
      expect(r.out).toMatch(/error \[SCHEMA\] consensus\/messages\/inbox\/quality\/from-devops\.yaml line 6:1 \/type/);
    }
  });
});

describe("examples/ci: nothing left unrun", () => {
  it("every script in the examples ran in a scenario above", () => {
    const expected = [
      ...Object.entries(workflow("consensus-validate.yml").jobs).flatMap(([job, j]) => j.steps.filter((s) => s.run && !isNpmCi(s.run)).map((s) => `consensus-validate.yml ${job} ${s.run}`)),
      ...Object.entries(workflow("consensus-gate.yml").jobs).flatMap(([job, j]) => j.steps.filter((s) => s.run && !isNpmCi(s.run)).map((s) => `consensus-gate.yml ${job} ${s.run}`)),
      ...Object.entries(gitlab).filter(([name, j]) => !name.startsWith(".") && name !== "variables").flatMap(([name, j]) => (j as GlJob).script.map((l) => `gitlab ${name} ${l}`)),
    ];
    expect(expected.length).toBeGreaterThan(5);
    for (const key of expected) expect(ran.get(key), key).toBe(true);
    expect(ran.get("pre-commit consensus-validate")).toBe(true);
    expect(ran.get("pre-commit consensus-validate-local")).toBe(true);
  });
});
