/**
 * A notice re-run by recovery is taken as delivered only where the daemon's own notice is: a regular
 * file of its user with one name. An agent can hard-link a file of the daemon's user into an inbox at
 * a notice's name (the readable log is the agents' group's to write, so protected_hardlinks lets it);
 * of the notice's length, it was kept as the notice and the notice never written. The real CLI and
 * daemon, real files.
 */
import { linkSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus } from "../support/bus.js";

describe("a notice re-run by recovery", () => {
  let b: Bus | undefined;
  afterEach(() => b?.cleanup());

  it("is written again where a hard link to another file of the daemon's user holds its name, even of its length", () => {
    b = Bus.init();
    expect(b.cli("start", "EP-001", "--title", "Linked").code).toBe(0);
    const name = b.inbox("planner").find((n) => n.endsWith("-EP-001-stage_entered.yaml"));
    expect(name).toBeDefined();
    const at = join(b.root, "messages/inbox/planner", name!);
    const genuine = readFileSync(at, "utf8");
    // the kill's state: no checkpoint, so the next start re-runs the notice (replay)
    rmSync(join(b.root, ".consensus/checkpoint.json"), { force: true });
    // another file of the daemon's user, of the notice's length, linked at its name
    const other = join(b.dir, "other-file.txt");
    const planted = "x".repeat(Buffer.byteLength(genuine) - 1) + "\n";
    writeFileSync(other, planted);
    rmSync(at);
    linkSync(other, at);
    expect(statSync(at).nlink).toBe(2);

    const r = b.cli("watch", "--once", "--log-level", "warn");
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(at, "utf8")).toBe(genuine);
    expect(statSync(at).nlink).toBe(1);
    // the other file is left as it was: only its name in the inbox was replaced
    expect(readFileSync(other, "utf8")).toBe(planted);
  }, 120_000);
});
