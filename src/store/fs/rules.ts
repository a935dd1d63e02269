/**
 * The rules in force on a folder store: consensus.yaml as a person put it in force with `consensus
 * config apply` (or `consensus init`, or a daemon's first start on a root that never had any), kept in
 * the private area as `.consensus/rules.json` (0600), sealed with the daemon key (MAC purpose
 * "config"). The daemon and every command decide by these rules, never by the root's consensus.yaml,
 * which anyone who can write the root (an agent) can edit: an edit there changes nothing until a
 * person applies it.
 *
 * File: one sealed record (trust/sealed.ts, kind "rules", id "in-force") whose body is
 * `{"version": sha256 of text, "text": consensus.yaml's text, "applied_by", "os_user", "applied_at"}`.
 */
import { createHash } from "node:crypto";
import { chmod, mkdir, stat } from "node:fs/promises";
import { readConfigFile, readConfigText } from "./config-file.js";
import { join } from "node:path";
import { currentUser } from "../../trust/os-identity.js";
import { parseConfig, type Pipeline } from "../../config/pipeline.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { KeyFileError, ensureKeyring, readKeyring } from "../../trust/key-file.js";
import { openRecord, sealRecord, unverifiedBody } from "../../trust/sealed.js";
import { PRIVATE_FILE_MODE, writeAtomic } from "./atomic-write.js";
import type { Draft } from "../../machine/decide.js";
import type { Layout } from "./layout.js";
import { readBounded } from "./read-bounded.js";
import { keptOut, privateAreaDenied } from "./private-denied.js";

/** A rules file larger than this is refused unread (consensus.yaml is a few KiB). */
const MAX_RULES_BYTES = 4 * 1024 * 1024;

export interface RulesRecord {
  /** SHA-256 of text: the config version entries record. */
  version: string;
  text: string;
  /** Who applied them (CONSENSUS_USER or the login name), and the OS user that ran the command. */
  applied_by: string;
  os_user: string;
  /** ISO-8601. */
  applied_at: string;
}

export type RulesRead =
  | { kind: "none" }
  | { kind: "ok"; record: RulesRecord; pipeline: Pipeline; sha256: string }
  /** Not sealed, sealed by another key, edited, unreadable, or not a valid config: never used. */
  | { kind: "refused"; reason: string; sha256: string };

export const versionOf = (text: string): string => createHash("sha256").update(text).digest("hex");

/**
 * Reads and verifies the rules in force. Never throws for a bad file: `refused` says why. Throws
 * PRIVATE_AREA_DENIED (private-denied.ts) when this user, not the private area's owner, may not read
 * it: that says nothing of the file (the owner refused is `refused`). `verify`:
 * "required" (anything that decides: the key is read, or made on a fresh root) or "if-possible" (a
 * read-only command run by a user who cannot read the key, such as a CI gate: the rules are read
 * unverified, `verified: false`).
 */
export async function readRulesRecord(L: Layout, verify: "required" | "if-possible" = "required"): Promise<RulesRead> {
  const r = await readBounded(L.rules, MAX_RULES_BYTES);
  if (!r.ok && r.gone) return { kind: "none" };
  // this user may not read the private area (an agent run as its own OS user): no verdict on the file;
  // the area's owner refused its own rules file is tampering, refused below as before (keptOut)
  if (!r.ok && r.denied && keptOut(L)) throw privateAreaDenied(L, L.rules, "the rules in force");
  if (!r.ok) return { kind: "refused", reason: `the file ${r.why}`, sha256: r.sha256 };
  let opened;
  try {
    const keyring = verify === "required" ? (await ensureKeyring(L.dot)).keyring : await readKeyring(L.dot);
    opened = openRecord(keyring, "rules", "in-force", r.text);
  } catch (e) {
    if (verify === "required" || !(e instanceof KeyFileError || (e as NodeJS.ErrnoException).code === "EACCES")) throw e;
    opened = unverifiedBody("rules", "in-force", r.text);
  }
  if (!opened.ok) return { kind: "refused", reason: opened.reason, sha256: r.sha256 };
  const rec = opened.body as Partial<RulesRecord> | null;
  if (!rec || typeof rec.text !== "string" || typeof rec.applied_by !== "string" || typeof rec.os_user !== "string" || typeof rec.applied_at !== "string") return { kind: "refused", reason: "the sealed record lacks text, applied_by, os_user or applied_at", sha256: r.sha256 };
  const { pipeline, issues } = parseConfig(rec.text, "consensus.yaml (rules in force)");
  if (!pipeline) return { kind: "refused", reason: `the sealed rules are not a valid config: ${issues.map((i) => i.message).join("; ")}`, sha256: r.sha256 };
  return { kind: "ok", record: { version: pipeline.version, text: rec.text, applied_by: rec.applied_by, os_user: rec.os_user, applied_at: rec.applied_at }, pipeline, sha256: r.sha256 };
}

/** Seals and installs `text` as the rules in force (.consensus/rules.json, 0600). The caller validated it. */
export async function installRules(L: Layout, rec: RulesRecord): Promise<void> {
  const { keyring } = await ensureKeyring(L.dot);
  await mkdir(L.dot, { recursive: true, mode: 0o700 });
  await writeAtomic(L.rules, sealRecord(keyring, "rules", "in-force", rec), { durable: true, mode: PRIVATE_FILE_MODE, root: L.root });
  await chmod(L.rules, 0o600);
}

/**
 * The pipeline every command decides by: the rules in force. On a root without any: `read` (status,
 * graph, report …) takes consensus.yaml itself; `write` (a command that appends to the log) does too
 * on a root whose log is still empty (its first writer), and refuses with RULES_MISSING on a root with
 * history (the file was removed, or the root predates rules in force: `consensus config apply` once).
 * Throws RULES_FORGED (with the reason) for a rules file that does not verify.
 */
export async function readRules(L: Layout, use: "read" | "write" = "read"): Promise<Pipeline> {
  const r = await readRulesRecord(L, use === "read" ? "if-possible" : "required");
  if (r.kind === "ok") return r.pipeline;
  if (r.kind === "refused") throw new ConsensusError(issue("RULES_FORGED", { message: `the rules in force do not verify: ${r.reason}`, file: L.rules }));
  if (use === "write" && (await logHasEntries(L))) throw rulesMissing(L);
  return readConfigFile(L.config);
}

export const rulesMissing = (L: Layout): ConsensusError => new ConsensusError(issue("RULES_MISSING", { message: "the rules in force are missing, and the log already holds decisions", file: L.rules }));

/** Does this folder's log hold anything yet (the log of record in the private area, or the readable one)? */
export async function logHasEntries(L: Layout): Promise<boolean> {
  for (const p of [join(L.dot, "log.jsonl"), L.log]) if ((await stat(p).catch(() => undefined))?.size) return true;
  return false;
}

/**
 * The rules a writer (the daemon, or a command holding the lease) decides by: the rules in force. On a
 * root that never had any and whose log is still empty (made by hand, or before rules were kept), its
 * first writer applies consensus.yaml once, sealed, and returns the record, to log as config_applied
 * (appliedDraft, first_start). On a root with history a missing rules file is RULES_MISSING: an agent
 * deleting it must not get its own consensus.yaml applied at the next start. Throws RULES_FORGED for a
 * rules file that does not verify; CONFIG_MISSING or the config's issues for an unusable consensus.yaml.
 */
export async function rulesForWriter(L: Layout, now: Date): Promise<{ pipeline: Pipeline; firstApply?: RulesRecord }> {
  const r = await readRulesRecord(L);
  if (r.kind === "ok") return { pipeline: r.pipeline };
  if (r.kind === "refused") throw new ConsensusError(issue("RULES_FORGED", { message: `the rules in force do not verify: ${r.reason}`, file: L.rules }));
  if (await logHasEntries(L)) throw rulesMissing(L);
  const text = await readConfigText(L.config);
  const { pipeline, issues } = parseConfig(text, L.config);
  if (!pipeline) throw new ConsensusError(issues);
  const rec = newRecord(text, pipeline.version, now);
  await installRules(L, rec);
  return { pipeline, firstApply: rec };
}

/** A rules record for text applied now by this process's person (CONSENSUS_USER, else the login name). */
export function newRecord(text: string, version: string, now: Date): RulesRecord {
  const user = currentUser();
  return { version, text, applied_by: process.env.CONSENSUS_USER ?? user, os_user: user, applied_at: now.toISOString() };
}

/** The config_applied entry for a record: who applied which version (from: the version before, if any). */
export function appliedDraft(rec: RulesRecord, extra: { from?: string; first_start?: boolean; via?: string; reason?: string } = {}): Draft {
  return { decision: "config_applied", details: { by: rec.applied_by, os_user: rec.os_user, applied_at: rec.applied_at, ...(extra.from ? { from: extra.from } : {}), to: rec.version, file: "consensus.yaml", ...(extra.via ? { via: extra.via } : {}), ...(extra.first_start ? { first_start: true, reason: extra.reason ?? "no rules were in force: the first writer applied consensus.yaml once" } : extra.reason ? { reason: extra.reason } : {}) } };
}
