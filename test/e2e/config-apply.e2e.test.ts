/**
 * The rules change only by a person (issue 12, item 4). The daemon decides by the rules in force, a
 * sealed copy in the private area; an agent that edits consensus.yaml (to get its command run by the
 * daemon, as the daemon's user) changes nothing and is reported; rules planted in the private area are
 * refused; `consensus config apply` validates, shows the diff, and logs who applied which version.
 * Real daemon and CLI as child processes.
 */
import { existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus, daemonHolding } from "../support/bus.js";

let bus: Bus;
afterEach(() => bus?.cleanup());

/** An agents: block whose planner, if ever launched, leaves a file at `marker`. */
const hostileAgents = (marker: string): string =>
  `\nagents:\n  planner:\n    command: [${JSON.stringify(process.execPath)}, -e, ${JSON.stringify(`require("fs").writeFileSync(${JSON.stringify(marker)}, "pwned")`)}]\n`;

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

describe("the rules change only by a person", () => {
  it("an agent's edit of consensus.yaml has no effect on the running daemon and is reported; config apply puts a person's edit in force, logged with who", async () => {
    bus = Bus.init();
    const marker = join(bus.dir, "pwned");
    const original = readFileSync(join(bus.root, "consensus.yaml"), "utf8");
    await daemonHolding(bus);
    // the agent adds itself a command the daemon would run, as the daemon's user
    bus.editConfig((t) => `${t}${hostileAgents(marker)}`, { apply: false });
    const pending = (await bus.waitForDecision("config_pending")).find((e) => e.decision === "config_pending")!;
    expect(pending.details).toMatchObject({ file: "consensus.yaml", version: sha(readFileSync(join(bus.root, "consensus.yaml"), "utf8")) });
    expect(String((pending.details as { fix: string }).fix)).toContain("consensus config apply");
    await bus.until("the daemon to tell the person", () => bus.daemonErr.includes("consensus config apply"));
    // an epic whose first stage is the planner's: nothing is launched, and the next decision proves it
    expect(bus.cli("start", "EP-001", "--title", "After the edit").code).toBe(0);
    expect(bus.cli("start", "EP-002", "--title", "Barrier").code).toBe(0);
    expect(bus.entries().some((e) => e.decision.startsWith("agent_"))).toBe(false);
    expect(existsSync(marker)).toBe(false);
    // the rules in force did not change
    expect(bus.cli("config", "show").stdout).toBe(original);
    const diff = bus.cli("config", "diff");
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain("+ agents:");

    // a person's own edit, applied: validated, diffed, logged with who and the version
    writeFileSync(join(bus.root, "consensus.yaml"), original);
    const edited = bus.editConfig((t) => t.replace("max_iterations: 3", "max_iterations: 5"), { apply: false });
    const applied = bus.cli("config", "apply", "--yes");
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("- max_iterations: 3");
    expect(applied.stdout).toContain("+ max_iterations: 5");
    expect(applied.stdout).toContain("by the running daemon");
    const entry = bus.entries().find((e) => e.decision === "config_applied" && (e.details as { to?: string }).to === sha(edited))!;
    expect(entry.details).toMatchObject({ by: "tester", os_user: userInfo().username, from: sha(original), to: sha(edited) });
    await bus.waitFor("the new rules in force", (es) => es.some((e) => e.decision === "config_changed" && (e.details as { to?: string }).to === sha(edited)));
    expect(bus.cli("config", "show").stdout).toBe(edited);
    expect(bus.cli("config", "diff").code).toBe(0);
    // without a terminal and without --yes, nothing is applied
    bus.editConfig((t) => t.replace("max_iterations: 5", "max_iterations: 6"), { apply: false });
    expect(bus.cli("config", "apply").code).toBe(2);
  });

  it("rules planted in the private area are refused: reported while running, and the next start refuses to run on them", async () => {
    bus = Bus.init();
    const marker = join(bus.dir, "pwned");
    await daemonHolding(bus);
    const text = `${readFileSync(join(bus.root, "consensus.yaml"), "utf8")}${hostileAgents(marker)}`;
    writeFileSync(join(bus.root, ".consensus", "rules.json"), JSON.stringify({ v: 1, kind: "rules", id: "in-force", body: JSON.stringify({ version: sha(text), text, applied_by: "lead", os_user: "lead", applied_at: new Date().toISOString() }), mac: "k1.0000" }));
    const rej = (await bus.waitFor("the planted rules refused", (es) => es.some((e) => e.decision === "config_rejected" && (e.details as { file?: string }).file === ".consensus/rules.json"))).find((e) => e.decision === "config_rejected")!;
    expect((rej.details as { errors: Array<{ code: string }> }).errors[0]!.code).toBe("RULES_FORGED");
    // the rules in force stay; commands refuse to read the planted ones and say what to do
    expect(bus.entries().some((e) => e.decision === "config_changed" || e.decision === "config_applied" && !(e.details as { via?: string }).via?.startsWith("init"))).toBe(false);
    const refused = bus.cli("start", "EP-001", "--title", "x");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("RULES_FORGED");
    expect(await bus.stopDaemon()).toBe(0);
    const again = bus.cli("watch", "--once");
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("RULES_FORGED");
    expect(again.stderr).toContain("consensus config apply");
    expect(existsSync(marker)).toBe(false);
    // a person puts the rules back
    expect(bus.cli("config", "apply", "--yes").code).toBe(0);
    expect(bus.cli("watch", "--once").code).toBe(0);
  });

  it("first start on a root without rules applies consensus.yaml once, logged; with history, missing rules stop the start", () => {
    bus = Bus.init();
    // a root made before rules were kept (or by hand): no private area, an empty log
    rmSync(join(bus.root, ".consensus"), { recursive: true, force: true });
    truncateSync(join(bus.root, "current", "decision_log.jsonl"));
    expect(bus.cli("watch", "--once").code).toBe(0);
    const first = bus.entries().filter((e) => e.decision === "config_applied");
    expect(first).toHaveLength(1);
    expect(first[0]!.details).toMatchObject({ first_start: true, to: sha(readFileSync(join(bus.root, "consensus.yaml"), "utf8")) });
    expect(existsSync(join(bus.root, ".consensus", "rules.json"))).toBe(true);
    // an agent removes the rules in force and edits consensus.yaml, hoping for the next start
    const marker = join(bus.dir, "pwned");
    rmSync(join(bus.root, ".consensus", "rules.json"));
    bus.editConfig((t) => `${t}${hostileAgents(marker)}`, { apply: false });
    const r = bus.cli("watch", "--once");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("RULES_MISSING");
    const s = bus.cli("start", "EP-001", "--title", "x");
    expect(s.code).not.toBe(0);
    expect(s.stderr).toContain("RULES_MISSING");
    expect(bus.entries().filter((e) => e.decision === "config_applied")).toHaveLength(1);
  });

  it("agents a person adds by `config apply` to a daemon started without any are launched at the next stage entry", async () => {
    bus = Bus.init();
    const marker = join(bus.dir, "launched");
    await daemonHolding(bus);
    bus.editConfig((t) => `${t}${hostileAgents(marker)}`);
    await bus.waitForDecision("config_changed");
    expect(bus.cli("start", "EP-001", "--title", "After the apply").code).toBe(0);
    await bus.waitForDecision("agent_launched");
    await bus.until("the planner to run", () => existsSync(marker));
  });
});
