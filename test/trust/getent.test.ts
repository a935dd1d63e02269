import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { GETENT_REUSE_MS, getent } from "../../src/trust/os-identity.js";

// an agent launch resolves its user and group through NSS; each getent is a process the daemon waits for
const root = process.getuid?.() === 0 && spawnSync("groupadd", ["--help"]).status === 0;

describe.runIf(root)("getent, with real groups made and removed", () => {
  it("reuses an entry it found for GETENT_REUSE_MS, then asks again; never keeps 'not found'", () => {
    const name = `cns-getent-${process.pid}`;
    const t0 = Date.now();
    try {
      // not there: not kept, so the group made next is found at once (the error's fix works)
      expect(getent("group", name, t0)).toBeUndefined();
      expect(spawnSync("groupadd", [name]).status).toBe(0);
      const entry = getent("group", name, t0);
      expect(entry?.[0]).toBe(name);
      // removed: the entry found is used again within the window, not after it
      expect(spawnSync("groupdel", [name]).status).toBe(0);
      expect(getent("group", name, t0 + 1)).toEqual(entry);
      expect(getent("group", name, t0 + GETENT_REUSE_MS)).toBeUndefined();
      expect(getent("group", name, t0 + GETENT_REUSE_MS + 1)).toBeUndefined();
    } finally {
      spawnSync("groupdel", [name]);
    }
  });
});
