import { describe, expect, it } from "vitest";
import { Keyring } from "../../src/trust/keyring.js";
import { openRecord, sealRecord, unverifiedBody } from "../../src/trust/sealed.js";

const ring = (fill: number, id = "k1") => new Keyring([{ id, secret: Buffer.alloc(32, fill), created_at: "2026-01-01T00:00:00Z" }]);

describe("sealed records", () => {
  const k = ring(7);
  const cmd = { type: "cancel", epic_id: "EP-001", reason: "descoped", by: "lead" };

  it("open with the key they were sealed with, for their kind and id only", () => {
    const text = sealRecord(k, "request", "1-a", cmd);
    expect(openRecord(k, "request", "1-a", text)).toEqual({ ok: true, body: cmd });
    expect(openRecord(k, "result", "1-a", text)).toMatchObject({ ok: false, reason: expect.stringContaining("not a result") });
    expect(openRecord(k, "request", "1-b", text)).toMatchObject({ ok: false, reason: expect.stringContaining("not 1-b") });
    expect(openRecord(ring(8), "request", "1-a", text).ok).toBe(false);
    expect(openRecord(ring(7, "k2"), "request", "1-a", text)).toMatchObject({ ok: false, reason: expect.stringContaining("does not hold") });
  });

  it("refuse an edited body, an unsealed document and garbage, never throwing", () => {
    const text = sealRecord(k, "request", "1-a", cmd);
    expect(openRecord(k, "request", "1-a", text.replace("descoped", "promoted")).ok).toBe(false);
    expect(openRecord(k, "request", "1-a", JSON.stringify(cmd)).ok).toBe(false);
    for (const junk of ["", "null", "[]", "{", '{"v":1,"kind":"request","id":"1-a","body":"{","mac":"x"}']) expect(openRecord(k, "request", "1-a", junk).ok).toBe(false);
  });

  it("a rules record is sealed for its own purpose: a request's MAC never passes as rules", () => {
    const asRequest = sealRecord(k, "request", "in-force", { text: "x" }).replace('"kind":"request"', '"kind":"rules"');
    expect(openRecord(k, "rules", "in-force", asRequest).ok).toBe(false);
    const rules = sealRecord(k, "rules", "in-force", { text: "x" });
    expect(openRecord(k, "rules", "in-force", rules)).toEqual({ ok: true, body: { text: "x" } });
    expect(unverifiedBody("rules", "in-force", rules)).toEqual({ ok: true, body: { text: "x" } });
  });
});
