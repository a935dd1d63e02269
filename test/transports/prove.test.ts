/**
 * What a file's owner proves (transports/prove.ts): only a file no one else may write, of an OS user
 * that runs exactly one role. Otherwise the proof falls to the next rung with a note saying why.
 */
import { describe, expect, it } from "vitest";
import { agentUsersOf, proveFile, type TrustContext } from "../../src/transports/prove.js";

// uids with no passwd entry: uidOfUser takes a numeric user as its uid
const DEV = 3_999_101;
const OPS = 3_999_102;
const SHARED = 3_999_103;
const SHA = "a".repeat(64);
const REG = 0o100000;
const t: TrustContext = { roleOfUid: new Map([[DEV, { role: "developer", user: "cdev" }], [OPS, { role: "devops", user: "cops" }]]), shared: new Map([[SHARED, { user: "cshared", roles: ["developer", "quality"] }]]) };
const prove = (uid: number, mode: number | undefined) => proveFile(t, "messages/inbox/developer/veto.yaml", SHA, uid, mode, undefined, 0);

describe("proveFile: the owner of a file", () => {
  it("proves its role when only the owner may write the file (0640, 0644, 0600)", () => {
    for (const mode of [0o640, 0o644, 0o600, 0o444]) expect([mode.toString(8), prove(OPS, REG | mode)]).toEqual([mode.toString(8), { by: "user", role: "devops", user: "cops", uid: OPS }]);
  });

  it("proves nothing when its group or others may write it: another agent of the group may have written the bytes", () => {
    for (const mode of [0o660, 0o664, 0o646, 0o666, 0o620]) {
      const p = prove(OPS, REG | mode);
      expect(p.by, mode.toString(8)).toBe("none");
      const note = (p as { note?: { reason: string; fix: string } }).note!;
      expect(note.reason).toContain(`owned by OS user cops (role devops) but its mode 0${mode.toString(8)} lets`);
      expect(note.fix).toContain("umask 027");
      // a chmod after creating the file does not take back a handle another agent opened while the group could write it
      expect(note.fix).not.toMatch(/run `chmod/);
      expect(note.fix).toContain("A chmod after creating it does not do");
    }
    // mode unknown: not proof either
    expect(prove(OPS, undefined).by).toBe("none");
  });

  it("proves no role for an OS user several roles share, and says so with the fix", () => {
    const p = prove(SHARED, REG | 0o640);
    expect(p.by).toBe("none");
    expect((p as { note?: { reason: string; fix: string } }).note).toMatchObject({ reason: expect.stringContaining("roles developer, quality all run as OS user cshared"), fix: expect.stringContaining("Give each role its own OS user") });
  });
});

describe("agentUsersOf", () => {
  const pipeline = (version: string, users: Record<string, string>) => ({ version, agents: new Map(Object.entries(users).map(([r, u]) => [r, { user: u }])) as never, isRole: (r: string) => ["developer", "quality", "devops"].includes(r) });

  it("maps a uid to its role only when one role runs as it; a shared uid goes to `shared`, never to the last role", () => {
    const u = agentUsersOf(pipeline("prove-test-1", { developer: String(SHARED), quality: String(SHARED), devops: String(OPS) }));
    expect([...u.roleOfUid]).toEqual([[OPS, { role: "devops", user: String(OPS) }]]);
    expect([...u.shared]).toEqual([[SHARED, { user: String(SHARED), roles: ["developer", "quality"] }]]);
  });

  it("a role per user: each uid proves its role", () => {
    const u = agentUsersOf(pipeline("prove-test-2", { developer: String(DEV), devops: String(OPS) }));
    expect(u.roleOfUid.get(DEV)).toEqual({ role: "developer", user: String(DEV) });
    expect(u.roleOfUid.get(OPS)).toEqual({ role: "devops", user: String(OPS) });
    expect(u.shared.size).toBe(0);
  });
});
