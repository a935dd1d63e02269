import { describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { checkPlacement, issueToken, parseToken, readToken, signPlacement, type TokenScope } from "../../src/trust/token.js";
import { checkNotice, noticeKeysEnv, parseNoticeKeys, roleNoticeKey, sealNotice } from "../../src/trust/notice-mac.js";

const key = { id: "k1", secret: Buffer.alloc(32, 7), created_at: "2026-01-01T00:00:00Z" };
const other = { id: "k2", secret: Buffer.alloc(32, 9), created_at: "2026-01-02T00:00:00Z" };
const scope: TokenScope = { v: 1, role: "developer", epic_id: "EP-001", iteration: 1, expires_at: "2026-11-21T11:00:00Z", launch: "L1" };
const t0 = Date.parse("2026-11-21T10:00:00Z");
const nonce = "abcdefghijklmnopqrstuvwx";

describe("launch tokens", () => {
  it("carry their scope and sign a placement the daemon recomputes from the scope alone", () => {
    const token = issueToken(key, scope);
    expect(token).toMatch(/^ct1\.[A-Za-z0-9_-]+\.k1\.[0-9a-f]{64}$/);
    expect(parseToken(token)?.scope).toEqual(scope);
    const sig = signPlacement(token, "artifacts/EP-001/implementation.json", "a".repeat(64), nonce)!;
    expect(JSON.stringify(sig)).not.toContain(token.split(".").at(-1));
    expect(checkPlacement([key], sig, "artifacts/EP-001/implementation.json", "a".repeat(64), t0)).toEqual({ ok: true, scope, key: "k1", nonce });
  });
  it("refuse another file or content, another key, a forged scope and a retired key", () => {
    const sig = signPlacement(issueToken(key, scope), "artifacts/EP-001/implementation.json", "a".repeat(64), nonce)!;
    expect(checkPlacement([key], sig, "artifacts/EP-001/review.json", "a".repeat(64), t0)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not match/) });
    expect(checkPlacement([key], sig, "artifacts/EP-001/implementation.json", "b".repeat(64), t0).ok).toBe(false);
    expect(checkPlacement([other], sig, "artifacts/EP-001/implementation.json", "a".repeat(64), t0)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not hold/) });
    const widened = { ...sig, scope: Buffer.from(JSON.stringify({ ...scope, role: "quality" })).toString("base64url") };
    expect(checkPlacement([key], widened, "artifacts/EP-001/implementation.json", "a".repeat(64), t0).ok).toBe(false);
    expect(checkPlacement([{ ...key, retire_at: "2026-11-21T09:00:00Z" }], sig, "artifacts/EP-001/implementation.json", "a".repeat(64), t0)).toMatchObject({ ok: false, reason: expect.stringMatching(/retired at/) });
    expect(checkPlacement([key], { nope: 1 }, "x", "y", t0).ok).toBe(false);
    expect(parseToken("ct1.e30.k1.00")).toBeUndefined();
  });
});

describe("a token's scope is checked field by field", () => {
  const forge = (over: Record<string, unknown>): string => issueToken(key, { ...scope, ...over } as TokenScope);
  /** A signature made with the token's secret directly (signPlacement refuses a malformed token). */
  const signWith = (token: string, file: string, sha256: string) => {
    const [, scopeB64, k, secret] = token.split(".");
    return { scope: scopeB64!, key: k!, nonce, sig: createHmac("sha256", Buffer.from(secret!, "hex")).update(`consensus-placement/v1\n${file}\n${sha256}\n${nonce}`).digest("hex") };
  };
  const MALFORMED: Array<[Record<string, unknown>, RegExp]> = [
    [{ epic_id: "../../etc" }, /epic_id "\.\.\/\.\.\/etc" does not match/],
    [{ epic_id: "EP 1" }, /epic_id "EP 1" does not match/],
    [{ epic_id: "" }, /epic_id "" does not match/],
    [{ epic_id: `E${"x".repeat(64)}` }, /epic_id "Ex+" does not match/],
    [{ role: "developer/../quality" }, /role "developer\/\.\.\/quality" does not match/],
    [{ role: "-dev" }, /role "-dev" does not match/],
    [{ role: 7 }, /role 7 does not match/],
    [{ iteration: 0 }, /iteration 0 is not an integer ≥ 1/],
  ];
  it("a token whose role or epic_id breaks the schemas' patterns is refused with the field named, by the agent's side and by the daemon", () => {
    for (const [over, says] of MALFORMED) {
      const token = forge(over);
      expect(parseToken(token), JSON.stringify(over)).toBeUndefined();
      expect(readToken(token)).toMatchObject({ ok: false, reason: expect.stringMatching(says) });
      expect(signPlacement(token, "artifacts/EP-001/plan.json", "a".repeat(64), nonce)).toBeUndefined();
      // the daemon's check, with a signature the holder of such a token could make: refused, however well MAC'ed
      const check = checkPlacement([key], signWith(token, "artifacts/EP-001/plan.json", "a".repeat(64)), "artifacts/EP-001/plan.json", "a".repeat(64), t0);
      expect(check, JSON.stringify(over)).toMatchObject({ ok: false, reason: expect.stringMatching(says) });
    }
    // the well-formed one still passes both
    expect(readToken(forge({ epic_id: "EP_2-b", role: "dev-ops_1" }))).toMatchObject({ ok: true });
    expect(checkPlacement([key], signWith(issueToken(key, scope), "f", "a".repeat(64)), "f", "a".repeat(64), t0)).toMatchObject({ ok: true });
  });
});

describe("notice MACs", () => {
  it("verify with the recipient role's key only, and fail on any change", () => {
    const text = sealNotice(key, "devops", "from: orchestrator\nto: devops\nsubject: stage_entered\n");
    expect(text).toMatch(/\nmac: "k1\.[0-9a-f]{64}"\n$/);
    const devops = parseNoticeKeys(noticeKeysEnv([key], "devops", t0));
    expect(checkNotice(devops, text)).toMatchObject({ ok: true });
    expect(checkNotice(parseNoticeKeys(noticeKeysEnv([key], "quality", t0)), text).ok).toBe(false);
    expect(checkNotice(devops, text.replace("stage_entered", "deploy_now")).ok).toBe(false);
    expect(checkNotice(devops, "from: orchestrator\n")).toMatchObject({ ok: false, reason: expect.stringMatching(/no daemon MAC/) });
    // a retired key is left out of the role's keys
    expect(noticeKeysEnv([{ ...key, retire_at: "2026-01-01T00:00:00Z" }, other], "devops", t0)).toBe(`k2:${roleNoticeKey(other, "devops")}`);
  });
});
