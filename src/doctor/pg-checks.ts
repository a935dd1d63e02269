/**
 * `consensus doctor --store postgres://…`: what a database deployment needs, each pass / warn / fail
 * with its fix. Pure: the facts come from pg-probe.ts.
 */
import { fail, pass, summarise, warn, type CheckResult, type DoctorReport } from "../report/check.js";
import type { ChainResult } from "../log/chain.js";

export interface PgFacts {
  store: string;
  now: number;
  node: CheckResult;
  reach: { error?: string; serverVersion?: string; dbNowMs?: number };
  schema?: { applied: number; files: number; error?: string };
  rules?: { version?: string; issues?: string[] };
  writers?: Array<{ kind: string; host: string; pid: number; alive: boolean; heartbeat_age_ms: number }>;
  inputs?: { pending: number; oldestAgeMs?: number; deferred: number };
  orphanEffects?: number;
  chain?: ChainResult;
}

const s = (ms: number) => `${Math.round(ms / 1000)} s`;

export function runPgChecks(f: PgFacts): DoctorReport {
  const checks: CheckResult[] = [f.node];
  if (f.reach.error) {
    checks.push(fail("store", `cannot reach ${f.store}: ${f.reach.error}`, "Check that PostgreSQL runs and the URL's host, port, user and database are right (`psql URL -c 'select 1'`)."));
    return summarise(f.store, checks);
  }
  checks.push(pass("store", `reachable: ${f.store} (PostgreSQL ${f.reach.serverVersion ?? "?"})`));
  const sc = f.schema;
  if (!sc || sc.error) checks.push(fail("schema", `no consensus schema${sc?.error ? `: ${sc.error}` : ""}`, "Start a daemon with --store (it creates the schema) or run `consensus migrate --from-folder DIR --store URL`."));
  else if (sc.applied < sc.files) checks.push(warn("schema", `at migration ${sc.applied} of ${sc.files}`, "Start a daemon of this version: it applies the missing migrations under a lock (see docs/runbook.md, upgrading)."));
  else if (sc.applied > sc.files) checks.push(fail("schema", `at migration ${sc.applied}, newer than this version knows (${sc.files})`, "Run the consensus version that upgraded the schema on every host; never run an older daemon against it."));
  else checks.push(pass("schema", `up to date (migration ${sc.applied})`));
  if (!f.rules?.version) checks.push(warn("config", "no rules in force yet", "Start a daemon next to a consensus.yaml (it takes it), or run `consensus migrate --from-folder DIR`."));
  else if (f.rules.issues?.length) checks.push(fail("config", `the rules in force do not validate: ${f.rules.issues.join("; ")}`, "Put valid rules in force from a checked consensus.yaml."));
  else checks.push(pass("config", `rules in force ${f.rules.version.slice(0, 12)}`));
  const ws = f.writers ?? [];
  const daemons = ws.filter((w) => w.kind === "daemon");
  const dead = ws.filter((w) => !w.alive);
  const who = (w: { kind: string; pid: number; host: string; heartbeat_age_ms: number }) => `${w.kind} pid ${w.pid} on ${w.host} (heartbeat ${s(w.heartbeat_age_ms)} ago)`;
  if (dead.length) checks.push(warn("daemons", `${daemons.filter((d) => d.alive).length} alive; stopped heartbeating: ${dead.map(who).join(", ")}`, "Nothing is lost: a live daemon takes over their inputs and unfinished effects. Restart them, or leave them gone."));
  else if (!daemons.length) checks.push(warn("daemons", "no daemon is running on this store", "Start one or more: consensus watch --store URL (commands are decided in-process meanwhile)."));
  else checks.push(pass("daemons", `${daemons.length} alive: ${daemons.map(who).join(", ")}`));
  const inp = f.inputs;
  if (inp) {
    const found = `${inp.pending} pending${inp.deferred ? ` (${inp.deferred} deferred until their stage)` : ""}${inp.oldestAgeMs !== undefined ? `, the oldest ${s(inp.oldestAgeMs)} old` : ""}`;
    if (inp.pending - inp.deferred > 0 && (inp.oldestAgeMs ?? 0) > 60_000) checks.push(warn("inputs", found, "Inputs wait longer than a minute: check that a daemon is alive and its log for errors."));
    else checks.push(pass("inputs", found));
  }
  if (f.orphanEffects) checks.push(warn("effects", `${f.orphanEffects} decisions of stopped writers have effects not yet re-run`, "A live daemon re-runs them within its poll interval; start one if none runs."));
  const c = f.chain;
  if (c && !c.ok) checks.push(fail("log", `hash chain broken at entry ${c.broken!.line}: ${c.broken!.reason}`, "Restore the database from a backup (pg_dump); `consensus log export` and `consensus log verify --file` show the first bad line."));
  else if (c) checks.push(pass("log", `intact: ${c.daemonLines} daemon entries (seq 1..${c.lastSeq})`));
  if (f.reach.dbNowMs !== undefined) {
    const skew = Math.abs(f.reach.dbNowMs - f.now);
    if (skew > 5000) checks.push(warn("clock", `this host's clock and the database's differ by ${s(skew)}`, "Run NTP on every host (`timedatectl status`): deadlines and heartbeats are compared across hosts."));
    else checks.push(pass("clock", `within ${Math.round(skew)} ms of the database's`));
  }
  return summarise(f.store, checks);
}
