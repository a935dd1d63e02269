/**
 * `consensus config show|diff|apply`: the rules in force, and how a person changes them.
 *
 * The daemon and every command decide by the rules in force, a sealed copy of consensus.yaml in the
 * private area (.consensus/rules.json, store/fs/rules.ts). Editing consensus/consensus.yaml changes
 * nothing by itself (agents can write the root): `config apply` validates the edited file, shows the
 * diff against the rules in force, asks (or takes --yes), seals and installs it, and records in the log
 * who applied it (config_applied: CONSENSUS_USER or the login name, and the OS user) and the version.
 * With a daemon running, the daemon sees the new rules, verifies them and puts them in force (logged);
 * the command waits for that entry. Without one, the command takes the writer lease and does it itself.
 */
import { createInterface } from "node:readline/promises";
import { readConfigText } from "../../store/fs/config-file.js";
import { parseConfig } from "../../config/pipeline.js";
import { diffLines, formatDiff } from "../../config/diff-lines.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { putInForce } from "../../daemon/config-reload.js";
import { printable } from "../../report/plain-text.js";
import { layoutOf, type Layout } from "../../store/fs/layout.js";
import { installRules, newRecord, readRulesRecord, type RulesRead } from "../../store/fs/rules.js";
import { LogTail } from "../log-tail.js";
import { type GlobalOptions } from "../context.js";
import { storeOf } from "../store-of.js";
import type { PgStore } from "../../store/pg/pg-store.js";
import { redact } from "../../store/pg/connect.js";
import { liveDaemon, lockHeldByDaemon, withEngine } from "../writer.js";

const POLL_MS = 25;

async function rootText(L: Layout): Promise<string> {
  return readConfigText(L.config);
}

const refusedRules = (L: Layout, r: Extract<RulesRead, { kind: "refused" }>): ConsensusError => new ConsensusError(issue("RULES_FORGED", { message: `the rules in force do not verify: ${r.reason}`, file: L.rules }));

const describeRecord = (r: Extract<RulesRead, { kind: "ok" }>): string => `version ${r.record.version.slice(0, 12)}, applied by ${r.record.applied_by} (OS user ${r.record.os_user}) at ${r.record.applied_at}`;

/** `config show`: prints the rules in force (their text on stdout, who applied them on stderr). Exit 0; 1 when there are none or they do not verify. */
export async function configShow(g: GlobalOptions): Promise<number> {
  const t = storeOf(g);
  if (t.kind === "pg") {
    const row = await withPg(t.url, (store) => store.rules());
    if (!row) {
      process.stderr.write(`${printable(`no rules in force on ${redact(t.url)} yet: the first daemon seeds them from consensus.yaml, or run \`consensus config apply\``)}\n`);
      return 1;
    }
    process.stderr.write(`${printable(`# rules in force on ${redact(t.url)}: version ${row.version.slice(0, 12)}, applied by ${row.applied_by ?? "?"} at ${row.applied_at ?? "?"}`)}\n`);
    process.stdout.write(printable(row.text, { newlines: true }));
    return 0;
  }
  const L = layoutOf(t.root);
  const r = await readRulesRecord(L);
  if (r.kind === "refused") throw refusedRules(L, r);
  if (r.kind === "none") {
    process.stderr.write(`${printable(`no rules in force in ${L.root} yet: the first writer (consensus watch, or any command that decides) applies consensus.yaml once; or run \`consensus config apply\``)}\n`);
    return 1;
  }
  process.stderr.write(`${printable(`# rules in force: ${describeRecord(r)}`)}\n`);
  process.stdout.write(printable(r.record.text, { newlines: true }));
  return 0;
}

/** `config diff`: consensus.yaml against the rules in force. Exit 0 the same, 1 different (like diff). */
export async function configDiff(g: GlobalOptions): Promise<number> {
  const t = storeOf(g);
  const L = layoutOf(t.root);
  const text = await rootText(L);
  const r: RulesRead = t.kind === "pg" ? pgAsRead(await withPg(t.url, (store) => store.rules())) : await readRulesRecord(L);
  if (r.kind === "refused") throw refusedRules(L, r);
  const before = r.kind === "ok" ? r.record.text : "";
  const shown = formatDiff(diffLines(before, text));
  if (!shown) {
    process.stdout.write("consensus.yaml is the rules in force\n");
    return 0;
  }
  process.stdout.write(`${printable(`--- rules in force${r.kind === "ok" ? ` (${describeRecord(r)})` : " (none yet)"}`)}\n+++ consensus.yaml\n${printable(shown, { newlines: true })}`);
  return 1;
}

/**
 * `config apply [--yes] [--no-wait] [--timeout]`: validate, diff, confirm, seal, install, log who.
 * Exit 0 applied (or already in force); 1 not valid, or not confirmed; 2 no terminal to ask and no
 * --yes; 75 a running daemon did not put them in force within --timeout.
 */
export async function configApply(g: GlobalOptions, o: { yes?: boolean; wait?: boolean; timeout?: number }): Promise<number> {
  const t = storeOf(g);
  const L = layoutOf(t.root);
  const text = await rootText(L);
  const { pipeline, issues } = parseConfig(text, L.config);
  if (!pipeline) throw new ConsensusError(issues);
  const inForce: RulesRead = t.kind === "pg" ? pgAsRead(await withPg(t.url, (store) => store.rules())) : await readRulesRecord(L);
  if (inForce.kind === "ok" && inForce.record.version === pipeline.version) {
    process.stdout.write(`${printable(`consensus.yaml is already the rules in force (${describeRecord(inForce)})`)}\n`);
    return 0;
  }
  if (inForce.kind === "refused") process.stderr.write(`${printable(`warning: the rules file ${L.rules} does not verify (${inForce.reason}); applying replaces it`)}\n`);
  const diff = formatDiff(diffLines(inForce.kind === "ok" ? inForce.record.text : "", text));
  process.stdout.write(`${printable(`--- rules in force${inForce.kind === "ok" ? ` (${describeRecord(inForce)})` : " (none yet)"}`)}\n+++ consensus.yaml (version ${pipeline.version.slice(0, 12)})\n${printable(diff, { newlines: true })}`);
  if (!o.yes && !(await confirm("Put these rules in force? [y/N] "))) {
    process.stdout.write("not applied\n");
    return 1;
  }
  const rec = newRecord(text, pipeline.version, new Date());
  const from = inForce.kind === "ok" ? inForce.record.version : undefined;
  if (t.kind === "pg") {
    // the store's rules row: every daemon on it puts them in force at its next turn (config_applied, with who)
    await withPg(t.url, (store) => store.applyRules(rec.version, rec.text, rec.applied_by === rec.os_user ? rec.applied_by : `${rec.applied_by} (OS user ${rec.os_user})`));
    process.stdout.write(`${printable(`rules ${rec.version.slice(0, 12)} in force on ${redact(t.url)}, applied by ${rec.applied_by}; running daemons apply them at their next turn`)}\n`);
    return 0;
  }
  if (!(await liveDaemon(L.root))) {
    try {
      await withEngine(L.root, "config apply", async (engine) => {
        await installRules(L, rec);
        await putInForce(engine, rec, pipeline, { ...(from ? { from } : {}), via: "config apply" });
      }, pipeline);
      process.stdout.write(`${printable(`rules ${rec.version.slice(0, 12)} in force, applied by ${rec.applied_by} (applied directly)`)}\n`);
      return 0;
    } catch (e) {
      if (!(await lockHeldByDaemon(e, L.root))) throw e;
    }
  }
  // a daemon holds the root: it sees the sealed rules, verifies them and puts them in force (logged)
  const tail = await LogTail.atEnd(L.log);
  await installRules(L, rec);
  if (o.wait === false) {
    process.stdout.write(`${printable(`rules ${rec.version.slice(0, 12)} installed; the running daemon puts them in force (--no-wait)`)}\n`);
    return 0;
  }
  const timeoutMs = o.timeout ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const line of await tail.lines()) {
      try {
        const e = JSON.parse(line) as { agent?: string; seq?: number; decision?: string; details?: { to?: unknown } };
        if (e.agent === "orchestrator" && e.decision === "config_applied" && e.details?.to === rec.version) {
          process.stdout.write(`${printable(`rules ${rec.version.slice(0, 12)} in force, applied by ${rec.applied_by} (#${e.seq} by the running daemon)`)}\n`);
          return 0;
        }
      } catch {
        /* an agent's line */
      }
    }
    if (Date.now() > deadline) throw new ConsensusError(issue("NO_VERDICT", { message: `the daemon holding ${L.root} did not put rules ${rec.version.slice(0, 12)} in force within ${timeoutMs / 1000}s`, file: L.rules }));
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** A database store's rules row as a RulesRead (the row is the store's own: not sealed, trusted as the database is). */
function pgAsRead(row: { version: string; text: string; applied_by?: string; applied_at?: string } | undefined): RulesRead {
  if (!row) return { kind: "none" };
  const { pipeline, issues } = parseConfig(row.text, "consensus.yaml (rules in force)");
  if (!pipeline) return { kind: "refused", reason: issues.map((i) => i.message).join("; "), sha256: row.version };
  return { kind: "ok", record: { version: row.version, text: row.text, applied_by: row.applied_by ?? "?", os_user: "?", applied_at: row.applied_at ?? "?" }, pipeline, sha256: row.version };
}

async function withPg<T>(url: string, fn: (store: PgStore) => Promise<T>): Promise<T> {
  const { PgStore } = await import("../../store/pg/pg-store.js");
  const store = await PgStore.open(url, { max: 1 });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Asks on the terminal; without one, refuses (USAGE): a script passes --yes. */
async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new ConsensusError(issue("USAGE", { message: "config apply asks before putting rules in force, and stdin is not a terminal", fix: "Pass --yes to apply without asking (scripts, CI), after reviewing `consensus config diff`." }));
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
