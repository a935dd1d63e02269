/**
 * Issue 15, per-launch tokens: the developer agent (a real process the daemon launches, with its
 * CONSENSUS_TOKEN) tries the forgeries of the issue through `consensus submit`; each is refused with
 * the reason. Its token, leaked, is refused for another epic, a later iteration, after expiry and after
 * its key was rotated out. At the end no file the run produced holds the key's secret or a token.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bus, cliPath, fixtures, repo } from "../support/bus.js";
import type { LogEntry } from "../../src/schemas/types.gen.js";

type Details = { file?: string; errors?: Array<{ code: string; message: string; fix?: string }>; proof?: unknown; from?: string };
const d = (e: LogEntry): Details => e.details as Details;
/** A module of the built package (dist/, what the CLI runs), typed as its source in src/. */
const dist = <M>(m: string): Promise<M> => import(join(repo, "dist", m)) as Promise<M>;

/** Every regular file under dir (recursively), but `skip`. */
function filesUnder(dir: string, skip: (p: string) => boolean = () => false): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (skip(p)) continue;
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p, skip));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

describe("authority: launch tokens", () => {
  const out = mkdtempSync(join(tmpdir(), "consensus-forger-"));
  const leak = mkdtempSync(join(tmpdir(), "consensus-leak-"));
  const b = Bus.init();
  afterAll(async () => {
    await b.stopDaemon();
    b.cleanup();
    rmSync(out, { recursive: true, force: true });
    rmSync(leak, { recursive: true, force: true });
  });

  it("the developer's forgeries through `consensus submit` are refused; its own artifact is accepted as proven; a leaked token is refused out of scope", async () => {
    const agent = { command: [process.execPath, join(repo, "test", "fixtures", "agents", "forger.mjs")], retries: 0, env: { FORGE_MODE: "submit", OUT_DIR: out, LEAK_DIR: leak, CONSENSUS_CLI: cliPath, IMPL_FIXTURE: join(fixtures, "valid", "implementation.json"), REVIEW_FIXTURE: join(fixtures, "valid", "review.json") } };
    writeFileSync(join(b.root, "consensus.yaml"), `${readFileSync(join(b.root, "consensus.yaml"), "utf8")}\nagents:\n  developer: ${JSON.stringify(agent)}\n`);
    b.applyConfig();
    expect(b.cli("start", "EP-001", "--title", "Health").code).toBe(0);
    b.startDaemon();
    b.drop("artifacts/EP-001/plan.json", b.fixture("valid/plan.json").replace(/"epic_id": "[^"]*"/, '"epic_id": "EP-001"'));
    const es = await b.waitFor("the forger's three forgeries decided", (x) => x.filter((e) => e.decision === "artifact_rejected" || e.decision === "message_rejected").length >= 3 && readdirSync(out).some((n) => n.startsWith("forger-")));

    // the plan, dropped as a plain file by nobody in particular: accepted, and recorded as unverified
    const plan = es.find((e) => e.decision === "artifact_accepted" && d(e).file === "artifacts/EP-001/plan.json")!;
    expect(d(plan).proof).toBe("unverified");
    // the developer's own implementation, signed with its token: accepted, the role proven
    const impl = es.find((e) => e.decision === "artifact_accepted" && d(e).file === "artifacts/EP-001/implementation.json")!;
    expect(d(impl).proof).toMatchObject({ by: "token", role: "developer", epic_id: "EP-001", iteration: 1 });
    // quality's review.json written by the developer: not its artifact (the rule and where it is configured)
    const review = es.find((e) => e.decision === "artifact_rejected" && d(e).file === "artifacts/EP-001/review.json")!;
    expect(d(review).errors![0]).toMatchObject({ code: "NOT_PERMITTED", message: expect.stringMatching(/developer \(signed with developer's launch token\) may not write review\.json \(rule: the owner of stage review writes its artifacts/) });
    expect(d(review).errors![0]!.fix).toMatch(/stages\[2\]\.owner/);
    // the rejections are told to the role proven to have written them, not to the roles they named
    expect([review, ...es.filter((e) => e.decision === "message_rejected")].map((e) => (e.details as { author?: string }).author)).toEqual(["developer", "developer", "developer"]);
    // a devops veto and a quality approval signed with the developer's token: the role is not theirs
    const forged = es.filter((e) => e.decision === "message_rejected");
    expect(forged.map((e) => d(e).errors![0]!.code).sort()).toEqual(["ROLE_NOT_PROVEN", "ROLE_NOT_PROVEN"]);
    expect(forged.map((e) => d(e).errors![0]!.message).join("\n")).toMatch(/signed with a launch token of role developer, but it speaks for devops/);
    expect(forged.map((e) => d(e).errors![0]!.message).join("\n")).toMatch(/signed with a launch token of role developer, but it speaks for quality/);
    // nothing moved: the epic waits at review, no veto open
    expect(es.some((e) => e.decision === "veto_recorded" || e.decision === "approval_recorded" || e.decision === "promoted")).toBe(false);
    const status = JSON.parse(b.cli("status", "EP-001", "--json").stdout) as { stage: string; open_vetoes: unknown[] };
    expect(status).toMatchObject({ stage: "review", open_vetoes: [] });
    // the forger's `consensus submit` printed the refusals (exit 1) with their fixes
    const results = JSON.parse(readFileSync(join(out, readdirSync(out).find((n) => n.startsWith("forger-"))!), "utf8")) as Array<{ what: string; code: number; stderr: string }>;
    expect(results.map((r) => [r.what, r.code])).toEqual([["own implementation", 0], ["quality's review", 1], ["a devops veto", 1], ["a quality approval", 1]]);
    expect(results[2]!.stderr).toMatch(/ROLE_NOT_PROVEN/);

    // the leaked token: another epic
    const token1 = readFileSync(join(leak, "token-1"), "utf8");
    expect(b.cli("start", "EP-002", "--title", "Other").code).toBe(0);
    const note = (epic: string, iteration: number, name: string) => {
      const p = join(out, name);
      writeFileSync(p, `from: developer\nto: planner\ntimestamp: "${new Date().toISOString()}"\nepic_id: ${epic}\niteration: ${iteration}\ntype: info\nsubject: note\n`);
      return p;
    };
    const other = b.cliWith({ CONSENSUS_TOKEN: token1 }, "submit", note("EP-002", 1, "other-epic.yaml"));
    expect(other.code, other.stderr).toBe(1);
    expect(other.stderr).toMatch(/TOKEN_SCOPE[\s\S]*launch token for epic EP-001, not EP-002/);

    // a later iteration: quality sends EP-001 back (a plain veto), the developer's next launch has its own token
    b.drop("messages/inbox/developer/quality-veto.yaml", `from: quality\nto: developer\ntimestamp: "${new Date().toISOString()}"\nepic_id: EP-001\niteration: 1\ntype: veto\nsubject: flaky_tests\ncontent:\n  violation: flaky\n  specifics: flaky\n  blocking: true\n`);
    await b.waitFor("iteration 2 and the developer's second launch", (x) => x.some((e) => e.decision === "agent_launched" && e.iteration === 2));
    await b.until("the second token", () => readdirSync(leak).includes("token-2"));
    const later = b.cliWith({ CONSENSUS_TOKEN: token1 }, "submit", note("EP-001", 2, "later.yaml"));
    expect(later.code, later.stderr).toBe(1);
    expect(later.stderr).toMatch(/TOKEN_SCOPE[\s\S]*launch token for iteration 1 of EP-001, which is at iteration 2/);

    // expired: a token minted with the daemon key whose expiry has passed
    const { readKeyring } = await dist<typeof import("../../src/trust/key-file.js")>("trust/key-file.js");
    const { issueToken } = await dist<typeof import("../../src/trust/token.js")>("trust/token.js");
    const ring = await readKeyring(join(b.root, ".consensus"));
    const key = ring.keysForFile().at(-1)!;
    const mint = (expires: number) => issueToken(key, { v: 1, role: "developer", epic_id: "EP-001", iteration: 2, expires_at: new Date(Date.now() + expires).toISOString(), launch: "test" });
    const expired = mint(-1000);
    const old = b.cliWith({ CONSENSUS_TOKEN: expired }, "submit", note("EP-001", 2, "expired.yaml"));
    expect(old.code, old.stderr).toBe(1);
    expect(old.stderr).toMatch(/TOKEN_EXPIRED[\s\S]*expired at/);

    // rotated out: a token valid in every other way, then its key retired at once
    const valid = mint(600_000);
    const rotate = b.cli("keys", "rotate", "--retire-after", "0s");
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stdout).toMatch(/re-sealed the rules in force/);
    const rotated = b.cliWith({ CONSENSUS_TOKEN: valid }, "submit", note("EP-001", 2, "rotated.yaml"));
    expect(rotated.code, rotated.stderr).toBe(1);
    expect(rotated.stderr).toMatch(/PROOF_INVALID[\s\S]*retired at/);
    await b.stopDaemon();

    // no secret in any output: every file the run produced (but the key file itself and the leaked tokens), and the daemon's stderr
    const keys = (await readKeyring(join(b.root, ".consensus"))).keysForFile();
    const secrets = [...keys.map((k) => Buffer.from(k.secret).toString("base64")), ...keys.map((k) => Buffer.from(k.secret).toString("hex")), Buffer.from(key.secret).toString("base64"), Buffer.from(key.secret).toString("hex")];
    const tokens = [token1, readFileSync(join(leak, "token-2"), "utf8"), expired, valid];
    const needles = [...secrets, ...tokens, ...tokens.map((t) => t.split(".").at(-1)!)];
    const files = [...filesUnder(b.dir, (p) => p.endsWith(join(".consensus", "keys", "daemon.key"))), ...filesUnder(out)];
    expect(files.length).toBeGreaterThan(20);
    const hits = files.flatMap((f) => {
      const text = readFileSync(f, "latin1");
      return needles.filter((n) => text.includes(n)).map((n) => `${f}: ${n.slice(0, 12)}…`);
    });
    expect(hits).toEqual([]);
    expect(needles.filter((n) => b.daemonErr.includes(n))).toEqual([]);
  });
});
