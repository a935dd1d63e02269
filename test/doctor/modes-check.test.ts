/** doctor's modes check (issue 12.11): pure, from facts. */
import { describe, expect, it } from "vitest";
import { checkModes } from "../../src/doctor/modes-check.js";

const dir = (mode: number, uid = 1000) => ({ mode, uid, isLink: false, isDir: true });
const facts = (root: number, dot: number, uid = 1000) => ({ root: "/srv/bus", modes: { uid, dotPath: "/srv/bus/.consensus", root: dir(root), dot: dir(dot) } });

describe("checkModes", () => {
  it("passes a 0755 root with a 0700 private area", () => {
    expect(checkModes(facts(0o755, 0o700)).status).toBe("pass");
  });
  it("fails a world-writable root with the chmod", () => {
    const r = checkModes(facts(0o777, 0o700));
    expect(r.status).toBe("fail");
    expect(r.fix).toContain("chmod o-w /srv/bus");
  });
  it("fails a private area its group or others can write, or another user's, or a link", () => {
    for (const mode of [0o770, 0o777, 0o722]) {
      const r = checkModes(facts(0o755, mode));
      expect(r.status).toBe("fail");
      expect(r.fix).toContain("chmod 700 /srv/bus/.consensus");
    }
    expect(checkModes({ root: "/srv/bus", modes: { uid: 1000, dotPath: "/srv/bus/.consensus", root: dir(0o755), dot: dir(0o700, 1001) } }).fix).toContain("chown");
    expect(checkModes({ root: "/srv/bus", modes: { uid: 1000, dotPath: "/srv/bus/.consensus", root: dir(0o755), dot: { mode: 0o777, uid: 1000, isLink: true, isDir: false } } }).status).toBe("fail");
  });
  it("warns when others can read the private area", () => {
    expect(checkModes(facts(0o755, 0o755)).status).toBe("warn");
  });
  it("with an agents' group, warns of a drop zone without the sticky bit (2775: an agent may replace another's file) and names the chmod", () => {
    const zones = (...modes: number[]) => ({ ...facts(0o755, 0o700), modes: { ...facts(0o755, 0o700).modes, zones: modes.map((mode, i) => ({ path: ["artifacts", "artifacts/EP-001", "messages/inbox/devops"][i]!, mode })) } });
    expect(checkModes(zones(0o3775, 0o3775, 0o3775))).toMatchObject({ status: "pass", found: expect.stringContaining("drop zones are 3775") });
    const r = checkModes(zones(0o3775, 0o2775, 0o2775));
    expect(r.status).toBe("warn");
    expect(r.found).toContain("artifacts/EP-001 (2775), messages/inbox/devops (2775)");
    expect(r.fix).toContain("chmod 3775 /srv/bus/artifacts/EP-001 /srv/bus/messages/inbox/devops");
  });
  it("with an agents' group, warns of a drop zone another user owns (an agent that made artifacts/<EPIC>/ first: the sticky bit does not bind it) and names the chown", () => {
    const zones = (...uids: number[]) => ({ ...facts(0o755, 0o700), modes: { ...facts(0o755, 0o700).modes, zones: uids.map((uid, i) => ({ path: ["artifacts", "artifacts/EP-001", "messages/inbox/devops"][i]!, mode: 0o3775, uid })) } });
    // the daemon's user (the private area's owner) or root: fine
    expect(checkModes(zones(1000, 0, 1000)).status).toBe("pass");
    const r = checkModes(zones(1000, 1007, 1000));
    expect(r.status).toBe("warn");
    expect(r.found).toContain("artifacts/EP-001 (uid 1007)");
    expect(r.found).toContain("does not bind a folder's owner");
    expect(r.fix).toContain("chown 1000 /srv/bus/artifacts/EP-001");
  });

  it("with an agents' group, warns when fs.protected_hardlinks is 0 (any agent may hard-link another's file into a zone) and names the sysctl", () => {
    const zones = (protectedHardlinks?: string) => ({ ...facts(0o755, 0o700), modes: { ...facts(0o755, 0o700).modes, zones: [{ path: "artifacts", mode: 0o3775, uid: 1000 }], ...(protectedHardlinks !== undefined ? { protectedHardlinks } : {}) } });
    expect(checkModes(zones("1")).status).toBe("pass");
    expect(checkModes(zones()).status).toBe("pass");
    const r = checkModes(zones("0"));
    expect(r.status).toBe("warn");
    expect(r.found).toMatch(/fs\.protected_hardlinks is 0/);
    expect(r.fix).toContain("sysctl -w fs.protected_hardlinks=1");
    // without an agents' group (no zones probed) nothing is said of it
    expect(checkModes({ ...facts(0o755, 0o700), modes: { ...facts(0o755, 0o700).modes, protectedHardlinks: "0" } }).status).toBe("pass");
  });
});
