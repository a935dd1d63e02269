/**
 * A daemon killed between a temporary and its rename (atomic-write.ts) leaves the temporary in a role's
 * inbox, an archive iteration, current/ or the private area: the next daemon removes those of its own
 * kind and only those (a regular file of its user, one link, tmpOf's name), and leaves every look-alike
 * an agent can plant (a link to a file outside, a FIFO, another user's file, a hard link) where it is,
 * unopened, saying what, where and the fix. Inboxes, current/ and the private area at start-up; an
 * archive folder when recovery writes its copy again (the only copies a kill can have interrupted: those
 * after the last checkpoint), never by listing every epic's archive. The real daemon, as a child process.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, lchownSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SWEEP_NAMED } from "../../src/store/fs/temp-sweep.js";
import { Bus, rootWithAcceptedPlan } from "../support/bus.js";

const hex = (): string => randomBytes(12).toString("hex");
const asRoot = process.geteuid?.() === 0;

/** The daemon's pino lines (JSON, one a line) from its stderr. */
const linesOf = (stderr: string): Array<Record<string, unknown>> =>
  stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("temporaries a killed daemon left", () => {
  let b: Bus | undefined;
  afterEach(() => b?.cleanup());

  it("are removed at start-up, its own only: a link, a FIFO, another user's file and a hard link at such names are left and reported", () => {
    // EP-001's plan accepted (its archive copy made), then its checkpoint removed: the next start
    // re-runs the copy into archive/EP-001/1, as after a kill before the checkpoint
    b = rootWithAcceptedPlan("EP-001", "Sweep").bus;
    const root = b.root;
    const inbox = join(root, "messages/inbox/planner");
    mkdirSync(inbox, { recursive: true });
    rmSync(join(root, ".consensus/checkpoint.json"));
    // an archive folder no copy is re-run into (EP-002 has none after the checkpoint): not listed
    mkdirSync(join(root, "archive/EP-002/1"), { recursive: true });
    const notLooked = `archive/EP-002/1/.plan.json.${hex()}.tmp`;
    writeFileSync(join(root, notLooked), "not looked for");
    const outside = join(b.dir, "outside.txt");
    writeFileSync(outside, "precious\n");

    // the daemon's own, as a SIGKILL leaves them: a notice's, a hidden-name one, state.json's, the checkpoint's
    const own = [
      `messages/inbox/planner/.notice-00000002-EP-001-stage_entered.yaml.${hex()}.tmp`,
      `messages/inbox/planner/.${hex()}.tmp`,
      `archive/EP-001/1/.plan.json.${hex()}.tmp`,
      `current/.state.json.${hex()}.tmp`,
      `.consensus/.checkpoint.json.${hex()}.tmp`,
    ];
    for (const rel of own) writeFileSync(join(root, rel), "half a notice");

    // look-alikes an agent can plant at the same kind of name
    const link = `messages/inbox/planner/.notice-00000003-EP-001-x.yaml.${hex()}.tmp`;
    symlinkSync(outside, join(root, link));
    const fifo = `messages/inbox/planner/.${hex()}.tmp`;
    expect(spawnSync("mkfifo", [join(root, fifo)]).status).toBe(0);
    const hard = `archive/EP-001/1/.runbook.md.${hex()}.tmp`;
    linkSync(outside, join(root, hard));
    const foreign = `messages/inbox/planner/.notice-00000004-EP-001-y.yaml.${hex()}.tmp`;
    if (asRoot) {
      writeFileSync(join(root, foreign), "an agent's");
      lchownSync(join(root, foreign), 4242, 4242);
    }
    // an agent's own temporary (the protocol's .name.tmp) is no daemon temporary: not touched, not reported
    const agents = "messages/inbox/planner/.note.yaml.tmp";
    writeFileSync(join(root, agents), "an agent mid-write");

    const r = b.cli("watch", "--once", "--log-level", "info");
    expect(r.code, r.stderr).toBe(0);

    for (const rel of own) expect(existsSync(join(root, rel)), `${rel} removed`).toBe(false);
    expect(existsSync(join(root, notLooked))).toBe(true);
    expect(lstatSync(join(root, link)).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(root, fifo)).isFIFO()).toBe(true);
    expect(lstatSync(join(root, hard)).nlink).toBe(2);
    if (asRoot) expect(lstatSync(join(root, foreign)).uid).toBe(4242);
    expect(existsSync(join(root, agents))).toBe(true);
    expect(readFileSync(outside, "utf8")).toBe("precious\n");
    // the daemon still works: the planner's notice for the stage is there
    expect(b.inbox("planner").some((n) => n.endsWith("-EP-001-stage_entered.yaml"))).toBe(true);

    const lines = linesOf(r.stderr);
    // one line at start-up (inboxes, current/, the private area), one for the archive folder re-run into
    const removed = lines.filter((l) => Array.isArray(l.removed)).flatMap((l) => l.removed as string[]);
    expect(removed.sort(), r.stderr).toEqual([...own].sort());
    const left = lines.filter((l) => typeof l.owner_uid === "number" && typeof l.file === "string" && String(l.msg).includes("named like the daemon's temporaries"));
    const expected = [link, fifo, hard, ...(asRoot ? [foreign] : [])];
    expect(left.map((l) => l.file).sort()).toEqual([...expected].sort());
    for (const l of left) {
      expect(l.level).toBe(40);
      expect(String(l.fix)).toContain(`rm ${join(root, String(l.file))}`);
    }
    expect(left.find((l) => l.file === link)!.found).toBe("a symbolic link");
    expect(left.find((l) => l.file === fifo)!.found).toBe("a FIFO (named pipe)");
    // a hard link's owner is its file's (here the daemon's own user): the fix shows the file's other
    // names, not "find what runs as" the daemon's uid
    const hardFix = String(left.find((l) => l.file === hard)!.fix);
    expect(hardFix).toContain(`find ${root} -xdev -samefile ${join(root, hard)}`);
    expect(hardFix).not.toContain("Find what runs as");
    if (asRoot) expect(String(left.find((l) => l.file === foreign)!.msg)).toContain("owned by uid 4242");
  }, 120_000);

  it("however many an agent plants, the log names a few and counts the rest: no warning per look-alike, no start-up slowed by its own log", () => {
    b = Bus.init();
    const root = b.root;
    const planner = join(root, "messages/inbox/planner");
    const developer = join(root, "messages/inbox/developer");
    mkdirSync(planner, { recursive: true });
    mkdirSync(developer, { recursive: true });
    const outside = join(b.dir, "outside.txt");
    writeFileSync(outside, "precious\n");
    // an agent's flood of look-alikes (links: left whatever the test's uid), and many of the daemon's own
    const planted = 3000;
    for (let i = 0; i < planted; i++) symlinkSync(outside, join(planner, `.n${i}.${hex()}.tmp`));
    const own = 150;
    for (let i = 0; i < own; i++) writeFileSync(join(developer, `.notice-${i}.yaml.${hex()}.tmp`), "half");

    const r = b.cli("watch", "--once", "--log-level", "info");
    expect(r.code, r.stderr.slice(0, 4000)).toBe(0);
    expect(readdirSync(planner).filter((n) => n.endsWith(".tmp"))).toHaveLength(planted);
    expect(readdirSync(developer).filter((n) => n.endsWith(".tmp"))).toHaveLength(0);

    const lines = linesOf(r.stderr);
    const named = lines.filter((l) => typeof l.file === "string" && String(l.msg).includes("named like the daemon's temporaries"));
    expect(named.length).toBeGreaterThan(0);
    expect(named.length).toBeLessThanOrEqual(SWEEP_NAMED);
    // the rest in one warning: how many, where, whose, and the command that lists them
    const more = lines.filter((l) => typeof l.more === "number");
    expect(more, r.stderr.slice(0, 4000)).toHaveLength(1);
    expect(more[0]!.level).toBe(40);
    expect(named.length + Number(more[0]!.more)).toBe(planted);
    expect(more[0]!.by_folder).toEqual([{ folder: "messages/inbox/planner", owner_uid: process.geteuid?.(), count: planted - named.length }]);
    expect(String(more[0]!.fix)).toContain(`find ${planner} -maxdepth 1`);
    expect(String(more[0]!.fix)).toContain(`-uid ${process.geteuid?.()}`);
    // the removed: counted, a few named
    const removed = lines.filter((l) => Array.isArray(l.removed));
    expect(removed).toHaveLength(1);
    expect(removed[0]!.count).toBe(own);
    expect((removed[0]!.removed as string[]).length).toBeLessThanOrEqual(SWEEP_NAMED);
    // what the sweep said fits in a few kilobytes, not a line per entry
    const sweepBytes = r.stderr.split("\n").filter((l) => l.includes(".tmp")).join("\n").length;
    expect(sweepBytes).toBeLessThan(32 * 1024);
  }, 120_000);
});

