/**
 * The bridge writes notices and archive copies into the host's folders the way the daemon does
 * (temporary + rename): a bridge killed mid-write leaves the temporary in a role's inbox. The next
 * bridge removes, at start-up, those of its own kind only (temp-sweep.ts), and leaves a look-alike an
 * agent planted (a link to a file outside the root) where it is, with a warning. The real bridge on a
 * real PostgreSQL, as a child process.
 */
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PgBus } from "../support/pg-bus.js";

let bus: PgBus | undefined;
afterEach(async () => {
  await bus?.cleanup();
  bus = undefined;
});

const hex = (): string => randomBytes(12).toString("hex");

describe("temporaries a killed bridge left", () => {
  it("are removed when the bridge starts, its own only; a link at such a name is left and reported", { timeout: 120_000 }, async () => {
    const b = (bus = await PgBus.create());
    const inbox = join(b.root, "messages/inbox/planner");
    const iteration = join(b.root, "archive/EP-001/1");
    mkdirSync(inbox, { recursive: true });
    mkdirSync(iteration, { recursive: true });
    const outside = join(b.dir, "outside.txt");
    writeFileSync(outside, "precious\n");
    const own = [`messages/inbox/planner/.notice-00000002-EP-001-stage_entered.yaml.${hex()}.tmp`, `messages/inbox/planner/.${hex()}.tmp`, `archive/EP-001/1/.plan.json.${hex()}.tmp`];
    for (const rel of own) writeFileSync(join(b.root, rel), "half a notice");
    const link = `messages/inbox/planner/.notice-00000003-EP-001-x.yaml.${hex()}.tmp`;
    symlinkSync(outside, join(b.root, link));

    const r = b.cli("bridge", "--once", "--log-level", "info");
    expect(r.code, r.stderr).toBe(0);

    for (const rel of own) expect(existsSync(join(b.root, rel)), `${rel} removed`).toBe(false);
    expect(lstatSync(join(b.root, link)).isSymbolicLink()).toBe(true);
    expect(readFileSync(outside, "utf8")).toBe("precious\n");
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect([...((lines.find((l) => Array.isArray(l.removed))?.removed as string[] | undefined) ?? [])].sort(), r.stderr).toEqual([...own].sort());
    expect(lines.filter((l) => l.level === 40 && l.file === link && l.found === "a symbolic link").length, r.stderr).toBe(1);
  });
});
