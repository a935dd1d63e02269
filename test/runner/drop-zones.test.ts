/**
 * The drop zones' modes (runner/drop-zones.ts): 3775, setgid and sticky, so only a file's owner may
 * rename or remove it there; a zone an older version left at 2775 is set to 3775 and reported. Real
 * folders; the group is this process's own (no other group is needed to check the modes).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyDropZones } from "../../src/runner/drop-zones.js";
import { layoutOf } from "../../src/store/fs/layout.js";

let dir: string | undefined;
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

describe("applyDropZones", () => {
  it("sets the zones to 3775 (setgid + sticky), and a zone left at 2775 to 3775", () => {
    dir = mkdtempSync(join(tmpdir(), "consensus-zones-"));
    const L = layoutOf(join(dir, "consensus"));
    const old = [L.artifacts, join(L.artifacts, "EP-001"), join(L.inbox, "devops")];
    for (const d of old) {
      mkdirSync(d, { recursive: true });
      chmodSync(d, 0o2775);
    }
    const gid = process.getgid!();
    const r = applyDropZones(L, ["devops", "developer"], gid);
    expect(r.failed).toEqual([]);
    for (const d of [...old, join(L.inbox, "developer")]) expect([d, (statSync(d).mode & 0o7777).toString(8)]).toEqual([d, "3775"]);
    expect(r.changed).toEqual(expect.arrayContaining(old));
    // once right, nothing more to change
    expect(applyDropZones(L, ["devops", "developer"], gid).changed.filter((p) => p.startsWith(L.artifacts) || p.startsWith(L.inbox + "/"))).toEqual([]);
  });
});
