/**
 * `consensus config apply` on a PostgreSQL store (issue 12, item 4): the rules in force are the
 * store's row; an edit of a host's consensus.yaml changes nothing; a person's apply puts the new rules
 * in force on every running daemon, logged with who applied them.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PgBus } from "../support/pg-bus.js";

let bus: PgBus | undefined;
afterAll(async () => bus?.cleanup());

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

describe("config apply on PostgreSQL", () => {
  it("puts the edited consensus.yaml in force on the running daemon, logged with who", async () => {
    const b = (bus = await PgBus.create());
    b.startDaemon("d1");
    await b.until("the daemon", async () => (await b.sql`SELECT count(*)::int AS n FROM writers WHERE kind = 'daemon'`)[0]!.n === 1, 60_000, ["d1"]);
    const original = readFileSync(join(b.root, "consensus.yaml"), "utf8");
    // the first daemon seeds the store's rules from consensus.yaml; after that the file is only an edit
    await b.until("the rules seeded", async () => (await b.sql`SELECT version FROM rules`)[0]?.version === sha(original), 60_000, ["d1"]);
    const edited = original.replace("max_iterations: 3", "max_iterations: 5");
    writeFileSync(join(b.root, "consensus.yaml"), edited);
    const diff = b.cli("config", "diff");
    expect(diff.code, diff.stdout + diff.stderr).toBe(1);
    expect(diff.stdout).toContain("+ max_iterations: 5");
    const applied = b.cli("config", "apply", "--yes");
    expect(applied.code, applied.stderr).toBe(0);
    await b.until("config_applied by tester", async () => (await b.entries()).some((e) => e.decision === "config_applied" && (e.details as { by?: string }).by?.startsWith("tester") && (e.details as { to?: string }).to === sha(edited)), 60_000, ["d1"]);
    await b.until("the new rules in force", async () => (await b.entries()).some((e) => e.decision === "config_changed" && (e.details as { to?: string }).to === sha(edited)), 60_000, ["d1"]);
    const show = b.cli("config", "show");
    expect(show.stdout).toBe(edited);
    expect(b.cli("config", "diff").code).toBe(0);
    expect(await b.stop("d1")).toBe(0);
  }, 300_000);
});
