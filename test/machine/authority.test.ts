import { describe, expect, it } from "vitest";
import { defaultPipeline } from "../../src/config/pipeline.js";
import { DEFAULT_CONFIG_YAML } from "../../src/config/default-config.js";
import type { Proof } from "../../src/machine/authority.js";
import { nonceId } from "../../src/log/replay.js";
import { interpretMessage } from "../../src/schemas/interpret.js";
import { messageCopyKey } from "../../src/machine/veto-identity.js";
import { Harness, sha } from "../support/pipeline.js";

const token = (role: string, over: Partial<Extract<Proof, { by: "token" }>> = {}): Proof => ({ by: "token", role, epic_id: "EP-001", iteration: 1, expires_at: "2099-01-01T00:00:00Z", nonce: `n-${Math.random()}`, key: "k1", ...over });
const errorsOf = (d: { kind: string; drafts?: Array<{ details: Record<string, unknown> }> }) => ((d.drafts?.[0]?.details.errors ?? []) as Array<{ code: string; message: string; fix?: string }>);

function atReview(p = defaultPipeline(DEFAULT_CONFIG_YAML)): Harness {
  const h = new Harness(p);
  h.apply({ type: "start", epic_id: "EP-001", title: "t", by: "tester" });
  h.artifact("plan.json");
  h.artifact("implementation.json");
  return h;
}

function send(h: Harness, from: string, to: string, type: string, proof?: Proof, extra: Record<string, unknown> = {}) {
  const doc = { from, to, type, epic_id: "EP-001", iteration: h.epic().iteration, timestamp: "2026-11-21T10:00:00Z", subject: "s", ...extra };
  return h.apply({ type: "message", file: `messages/inbox/${to}/m.yaml`, inbox: to, sha256: sha(JSON.stringify(doc) + Math.random()), doc: doc as never, issues: [], ...(proof ? { proof } : {}) });
}

describe("authority in decide()", () => {
  it("a token's role must be the sender's; its epic, iteration and expiry must hold", () => {
    const h = atReview();
    expect(errorsOf(send(h, "devops", "developer", "approve", token("developer")))[0]).toMatchObject({ code: "ROLE_NOT_PROVEN" });
    expect(errorsOf(send(h, "devops", "developer", "approve", token("devops", { epic_id: "EP-002" })))[0]).toMatchObject({ code: "TOKEN_SCOPE" });
    expect(errorsOf(send(h, "devops", "developer", "approve", token("devops", { iteration: 2 })))[0]).toMatchObject({ code: "TOKEN_SCOPE" });
    expect(errorsOf(send(h, "devops", "developer", "approve", token("devops", { expires_at: "2026-01-01T00:00:00Z" })))[0]).toMatchObject({ code: "TOKEN_EXPIRED" });
    const ok = send(h, "devops", "developer", "approve", token("devops", { nonce: "nonce-once" }));
    expect(ok.kind === "commit" && ok.drafts[0]!.decision).toBe("message_accepted");
    expect(ok.kind === "commit" && ok.drafts[0]!.details.proof).toMatchObject({ by: "token", role: "devops" });
    // the same nonce again: replayed
    expect(errorsOf(send(h, "devops", "developer", "info", token("devops", { nonce: "nonce-once" })))[0]).toMatchObject({ code: "REPLAYED_MESSAGE" });
  });

  it("a message whose id looks like a nonce neither takes the nonce's place nor is blocked by it (issue 15: one ledger, two id forms)", () => {
    const h = atReview();
    const N = "AbCdEfGh12345678-_xyz";
    // a message id an agent picks to look like a nonce: accepted, and the signature with that nonce still is
    const squat = send(h, "quality", "developer", "info", undefined, { id: `nonce:${N}` });
    expect(squat.kind === "commit" && squat.drafts[0]!.decision).toBe("message_accepted");
    const signed = send(h, "devops", "developer", "approve", token("devops", { nonce: N }));
    expect(errorsOf(signed)).toEqual([]);
    expect(signed.kind === "commit" && signed.drafts[0]!.decision).toBe("message_accepted");
    // the other way round: a nonce used first does not block a message id of that look
    const M = "ZyXwVuTs98765432_-abc";
    expect(send(h, "devops", "developer", "info", token("devops", { nonce: M })).kind).toBe("commit");
    const after = send(h, "quality", "developer", "info", undefined, { id: `nonce:${M}` });
    expect(errorsOf(after)).toEqual([]);
    expect(after.kind === "commit" && after.drafts[0]!.decision).toBe("message_accepted");
    // and the nonce itself is still used once
    expect(errorsOf(send(h, "devops", "developer", "info", token("devops", { nonce: M })))[0]).toMatchObject({ code: "REPLAYED_MESSAGE" });
  });

  it("a nonce's ledger id is a form no message id can have (the schema's id pattern refuses it)", () => {
    for (const n of ["AbCdEfGh12345678", "a".repeat(64), "0123456789abcdef-_"]) {
      const id = nonceId(n);
      const { issues } = interpretMessage("m.yaml", Buffer.from(`id: "${id}"\nfrom: quality\nto: developer\ntimestamp: 2026-11-21T10:00:00Z\nepic_id: EP-001\niteration: 1\ntype: info\n`), "developer");
      expect(issues.some((i) => i.path === "/id"), `${id}: ${JSON.stringify(issues)}`).toBe(true);
    }
  });

  it("a message may not take an id the daemon derives (compact:<key>, a content hash): another role's compact approval cannot be squatted", () => {
    const h = atReview();
    const compactDoc = { from: "devops", to: "developer", type: "approve", epic_id: "EP-001", timestamp: "2026-11-21T10:00:00Z" };
    const squat = send(h, "quality", "developer", "info", undefined, { id: `compact:${messageCopyKey(compactDoc)}` });
    expect(errorsOf(squat)[0]).toMatchObject({ code: "SCHEMA", message: expect.stringMatching(/form of an id the daemon derives/), fix: expect.stringMatching(/Give the message an id of its own/) });
    expect(errorsOf(send(h, "quality", "developer", "info", undefined, { id: "ab".repeat(32) }))[0]).toMatchObject({ code: "SCHEMA", path: "/id" });
    const own = h.apply({ type: "message", file: "messages/inbox/developer/c.yaml", inbox: "developer", sha256: sha("compact"), doc: compactDoc as never, issues: [] });
    expect(errorsOf(own)).toEqual([]);
    expect(own.kind === "commit" && own.drafts[0]!.decision).toBe("message_accepted");
    // ids of any other form, ':' included, are still a message's own
    expect(errorsOf(send(h, "quality", "developer", "info", undefined, { id: "info:quality:2026-11-21T10:00:00Z" }))).toEqual([]);
  });

  it("an OS owner proves its role; an artifact of another role's stage is refused by the permission, naming it", () => {
    const h = atReview();
    const d = h.apply({ type: "artifact", file: "artifacts/EP-001/review.json", name: "review.json", folder: "EP-001", sha256: sha("r"), doc: { epic_id: "EP-001", iteration: 1, timestamp: "2026-11-21T10:00:00Z", review_status: "approved", findings: [] }, issues: [], mtime: "2099-01-01T00:00:00Z", proof: { by: "user", role: "developer", user: "cdev", uid: 990 } });
    expect(errorsOf(d)[0]).toMatchObject({ code: "NOT_PERMITTED", message: expect.stringMatching(/developer \(OS user cdev owns the file\) may not write review\.json/) });
    expect(errorsOf(send(h, "quality", "devops", "approve", { by: "user", role: "developer", user: "cdev", uid: 990 }))[0]).toMatchObject({ code: "ROLE_NOT_PROVEN" });
  });

  it("what could not be read (a folder, FIFO or link; bytes that do not parse) at another role's name is refused for authority too: its owner may not hold the name", () => {
    const h = atReview();
    const unread = (name: string, proof: Proof, code = "NOT_REGULAR_FILE") => h.apply({ type: "artifact", file: `artifacts/EP-001/${name}`, name, folder: "EP-001", sha256: sha(`unread:${name}:${code}:${proof.by}`), issues: [{ code, severity: "error", message: `${name} is a folder, not a regular file: not read`, found: "a folder" }] as never, mtime: "2099-01-01T00:00:00Z", proof });
    const dev: Proof = { by: "user", role: "developer", user: "cdev", uid: 990 };
    // the developer's folder at the planner's name: what is wrong with it, and that it is not the developer's to hold
    const squat = unread("plan.json", dev);
    expect(squat.kind === "commit" && squat.drafts[0]!.decision).toBe("artifact_rejected");
    expect(errorsOf(squat).map((e) => e.code)).toEqual(["NOT_REGULAR_FILE", "NOT_PERMITTED"]);
    expect(errorsOf(squat)[1]).toMatchObject({ message: expect.stringMatching(/developer \(OS user cdev owns the file\) may not write plan\.json/) });
    // bytes that do not parse: the same
    expect(errorsOf(unread("plan.json", dev, "PARSE")).map((e) => e.code)).toEqual(["PARSE", "NOT_PERMITTED"]);
    // the group-writable owner's (unproven, holding it): refused as speaking for the planner
    const holder: Proof = { by: "none", note: { reason: "mode 0664", fix: "umask 027", owner: { role: "developer", user: "cdev", uid: 990 } } };
    expect(errorsOf(unread("plan.json", holder)).map((e) => e.code)).toEqual(["NOT_REGULAR_FILE", "ROLE_NOT_PROVEN"]);
    // its own name, an unknown name, or nothing proven: what is wrong with the entry only (as before)
    expect(errorsOf(unread("implementation.json", dev)).map((e) => e.code)).toEqual(["NOT_REGULAR_FILE"]);
    expect(errorsOf(unread("notes.txt", dev)).map((e) => e.code)).toEqual(["NOT_REGULAR_FILE"]);
    expect(errorsOf(unread("plan.json", { by: "none" })).map((e) => e.code)).toEqual(["NOT_REGULAR_FILE"]);
  });

  it("a file of one role's OS user that its group may write speaks for no other role, though unverified input is accepted (chmod g+w is no escape)", () => {
    const h = atReview();
    const holder = (role: string): Proof => ({ by: "none", note: { reason: "owned by cdev but mode 0664", fix: "umask 027", owner: { role, user: "cdev", uid: 990 } } });
    const review = { epic_id: "EP-001", iteration: 1, timestamp: "2026-11-21T10:00:00Z", review_status: "approved", findings: [] };
    const d = h.apply({ type: "artifact", file: "artifacts/EP-001/review.json", name: "review.json", folder: "EP-001", sha256: sha("r2"), doc: review, issues: [], mtime: "2099-01-01T00:00:00Z", proof: holder("developer") });
    expect(d.kind === "commit" && d.drafts[0]!.decision).toBe("artifact_rejected");
    expect(errorsOf(d)[0]).toMatchObject({ code: "ROLE_NOT_PROVEN", message: expect.stringMatching(/owned by OS user cdev \(uid 990\), who runs role developer, but it speaks for quality/) });
    expect(errorsOf(send(h, "quality", "devops", "approve", holder("developer")))[0]).toMatchObject({ code: "ROLE_NOT_PROVEN" });
    // its own role's file, group-writable, stays unverified and is accepted where unverified input is
    const own = send(h, "quality", "devops", "info", holder("quality"));
    expect(own.kind === "commit" && own.drafts[0]!.decision).toBe("message_accepted");
  });

  it("a group-writable file of a role that permissions.write lets write another stage's artifact speaks for that role, as before: unverified, accepted", () => {
    const h = atReview(defaultPipeline(`${DEFAULT_CONFIG_YAML}\npermissions:\n  write:\n    review.json: [quality, developer]\n`));
    const holder: Proof = { by: "none", note: { reason: "owned by cdev but mode 0664", fix: "umask 027", owner: { role: "developer", user: "cdev", uid: 990 } } };
    const review = { epic_id: "EP-001", iteration: 1, timestamp: "2026-11-21T10:00:00Z", review_status: "approved", findings: [] };
    const d = h.apply({ type: "artifact", file: "artifacts/EP-001/review.json", name: "review.json", folder: "EP-001", sha256: sha("r4"), doc: review, issues: [], mtime: "2099-01-01T00:00:00Z", proof: holder });
    expect(errorsOf(d)).toEqual([]);
    expect(d.kind === "commit" && d.drafts[0]!.decision).toBe("artifact_accepted");
  });

  it("a file of an OS user two roles share speaks for neither proven, and for no third role at all", () => {
    const h = atReview();
    const shared: Proof = { by: "none", note: { reason: "roles developer, devops all run as OS user cshared", fix: "own users", shared: { user: "cshared", uid: 991, roles: ["developer", "devops"] } } };
    const review = { epic_id: "EP-001", iteration: 1, timestamp: "2026-11-21T10:00:00Z", review_status: "approved", findings: [] };
    const d = h.apply({ type: "artifact", file: "artifacts/EP-001/review.json", name: "review.json", folder: "EP-001", sha256: sha("r3"), doc: review, issues: [], mtime: "2099-01-01T00:00:00Z", proof: shared });
    expect(d.kind === "commit" && d.drafts[0]!.decision).toBe("artifact_rejected");
    expect(errorsOf(d)[0]).toMatchObject({ code: "ROLE_NOT_PROVEN", message: expect.stringMatching(/owned by OS user cshared \(uid 991\), whom roles developer, devops share, but it speaks for quality/) });
    expect(errorsOf(send(h, "quality", "devops", "approve", shared))[0]).toMatchObject({ code: "ROLE_NOT_PROVEN" });
    // for one of its roles: unverified, accepted where unverified input is
    expect(send(h, "devops", "developer", "approve", shared).kind).toBe("commit");
    expect(h.log.at(-1)?.decision).not.toBe("message_rejected");
  });

  it("permissions from the config: approve and message types, with the rule and where it is configured", () => {
    const p = defaultPipeline(`${DEFAULT_CONFIG_YAML}\npermissions:\n  messages:\n    veto: [quality]\n  approve:\n    review: [devops]\n`);
    const h = atReview(p);
    expect(errorsOf(send(h, "devops", "developer", "veto", undefined, { content: { violation: "x", blocking: true } }))[0]).toMatchObject({ code: "NOT_PERMITTED", message: expect.stringMatching(/rule: permissions\.messages\.veto/), fix: expect.stringMatching(/consensus\.yaml permissions\.messages\.veto/) });
    expect(errorsOf(send(h, "quality", "developer", "approve"))[0]).toMatchObject({ code: "NOT_PERMITTED", message: expect.stringMatching(/rule: permissions\.approve\.review/) });
    expect(send(h, "devops", "developer", "approve").kind).toBe("commit");
    expect(h.log.at(-1)?.decision).not.toBe("message_rejected");
  });

  it("require_proof refuses the unverified with the fix; people may be limited to listed OS users", () => {
    const p = defaultPipeline(`${DEFAULT_CONFIG_YAML}\nsecurity:\n  require_proof: true\n  people:\n    cancel: [alice]\n`);
    const h = new Harness(p);
    h.apply({ type: "start", epic_id: "EP-001", title: "t", by: "tester" });
    expect(errorsOf(h.artifact("plan.json"))[0]).toMatchObject({ code: "PROOF_REQUIRED", fix: expect.stringMatching(/consensus submit/) });
    const c = h.apply({ type: "cancel", epic_id: "EP-001", reason: "x", by: "bob", as: "Bobby" });
    expect(c).toMatchObject({ kind: "refuse", issues: [{ code: "PERSON_NOT_ALLOWED", message: "OS user bob (as Bobby) may not cancel (rule: security.people.cancel)" }] });
    const ok = h.apply({ type: "cancel", epic_id: "EP-001", reason: "x", by: "alice", as: "Al" });
    expect(ok.kind === "commit" && ok.drafts[0]!.details).toMatchObject({ by: "alice", as: "Al" });
  });

  it("a compact approval counts once, for the iteration it was accepted in", () => {
    const h = atReview();
    const compact = (d: string) => h.apply({ type: "message", file: `messages/inbox/quality/c-${d}.json`, inbox: "quality", sha256: sha(d), doc: { from: "devops", to: "quality", timestamp: `${d}T00:00:00Z`, epic_id: "EP-001", type: "approve", content: { violation: "ok", specifics: "ok" } } as never, issues: [] });
    expect(compact("2026-11-21").kind).toBe("commit");
    expect(h.log.at(-2)?.decision === "message_accepted" || h.log.some((e) => e.decision === "message_accepted")).toBe(true);
    h.veto("devops", "developer", "no_health");
    expect(h.epic().iteration).toBe(2);
    expect(errorsOf(compact("2026-11-22"))[0]).toMatchObject({ code: "REPLAYED_MESSAGE" });
    expect(h.epic().open_vetoes).toHaveLength(1);
  });
});

describe("permissions in consensus.yaml", () => {
  it("name roles, stages and artifacts the config has, or the config is refused with the path", async () => {
    const { parseConfig } = await import("../../src/config/pipeline.js");
    const r = parseConfig(`${DEFAULT_CONFIG_YAML}\npermissions:\n  write:\n    review.jsn: [quality]\n  approve:\n    reveiw: [qa]\nsecurity:\n  require_proof: [devopz]\n`);
    expect(r.pipeline).toBeUndefined();
    expect(r.issues.map((i) => i.path).sort()).toEqual(["/permissions/approve/reveiw", "/permissions/approve/reveiw/0", "/permissions/write/review.jsn", "/security/require_proof/0"]);
  });
});
