/**
 * The pack's preallocation on a nearly full disk (issue 17). The pack grows by its own
 * size in the background once half its spare room is used; on a small disk that grow fails part-way,
 * keeps the zeros it wrote, and leaves no room for the log of record, whose appends then fail
 * (LOG_WRITE_FAILED) although the data the daemon keeps is a fraction of the disk: a failed grow now gives its zeros back. Needs root (a small
 * tmpfs), as crash.e2e's full-disk test; skipped otherwise. Failed before the fix (4601baa).
 */
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { artifact, Bus } from "../support/bus.js";

let b: Bus | undefined;
let mounted = false;
afterAll(() => {
  if (b && mounted) spawnSync("umount", ["-l", b.dir]);
  b?.cleanup();
});

describe("the pack on a small disk", () => {
  it("two 600 KB plans on a 5 MiB disk (2.4 MB of drops and archive copies) are both accepted", (ctx) => {
    b = new Bus();
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=5m", "tmpfs", b.dir], { encoding: "utf8" });
    if (m.status !== 0) {
      console.warn(`skipped: cannot mount a small tmpfs here (${(m.stderr || m.error?.message || "").trim()}); run as root`);
      ctx.skip();
    }
    mounted = true;
    expect(b.cli("init").code).toBe(0);
    for (const e of ["EP-001", "EP-002"]) expect(b.cli("start", e, "--title", "Big plan").code).toBe(0);
    const big = (epic: string) => artifact("plan.json", epic, 1, { risks: [{ risk: "x".repeat(600_000), mitigation: "m" }] });
    b.drop("artifacts/EP-001/plan.json", big("EP-001"));
    expect(b.cli("watch", "--once").code).toBe(0);
    b.drop("artifacts/EP-002/plan.json", big("EP-002"));
    const r = b.cli("watch", "--once");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/LOG_WRITE_FAILED|could not append/);
    expect(b.entries().filter((e) => e.decision === "artifact_accepted").map((e) => e.epic_id)).toEqual(["EP-001", "EP-002"]);
    // the pack holds 1.2 MB of records; grown by its own size from 1 MiB (1, 2, then room for the rest) it stays within 3 MiB
    expect(statSync(join(b.root, ".consensus/pack")).size).toBeLessThanOrEqual(2 * 2 ** 20 + 2 ** 20);
  });
});
