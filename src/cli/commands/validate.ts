/** `consensus validate [PATH…]`: every problem in every file at once; exit 0 valid, 1 invalid. */
import { lstatSync } from "node:fs";
import { basename, dirname, relative, resolve, sep } from "node:path";
import { agentIssues, probeAgents, projectOf } from "../../agents/readiness.js";
import fg from "fast-glob";
import { NOTICE_PREFIX } from "../../config/names.js";
import { parseConfig } from "../../config/pipeline.js";
import { errorsOf, issue, withFile, type Issue } from "../../errors/issue.js";
import { checkForeignLine } from "../../engine/engine.js";
import { ChainVerifier, unsealLine } from "../../log/chain.js";
import { locateIssues } from "../../schemas/locate.js";
import { decodeText, formatOf } from "../../schemas/parse.js";
import { interpretAs, interpretMessage, kindOfArtifact } from "../../schemas/interpret.js";
import { hasSchema, unknownFields } from "../../schemas/registry.js";
import { readSchemaDocuments } from "../../schemas/read-schemas.js";
import { layoutOf } from "../../store/fs/layout.js";
import { configReadError } from "../../store/fs/config-file.js";
import { CAP, GuardedReadError, readGuardedSyncStat } from "../../store/fs/guarded-read.js";
import { explicitRoot, findBus, ownVersion, rootOf, type GlobalOptions } from "../context.js";
import { formatIssuesJunit } from "../formats/junit.js";
import { formatIssuesSarif } from "../formats/sarif.js";
import { pgUrlOf } from "../store-of.js";
import { formatIssues } from "../output.js";
import { busIssues, readBus } from "../bus-check.js";

/** What `validate --format` prints: text, json, github (workflow annotations), junit (XML test report), sarif (code scanning). */
export type ValidateFormat = "text" | "json" | "github" | "junit" | "sarif";

interface Opts {
  strict?: boolean;
  kind?: string;
  format: ValidateFormat;
}

export async function validate(g: GlobalOptions, paths: string[], o: Opts): Promise<number> {
  // named files need no bus (a pre-commit hook or CI job may check them anywhere); with one in view,
  // each is also judged as the daemon would judge it now
  const root = paths.length ? (explicitRoot(g) ?? findBus(process.cwd())) : rootOf(g);
  const url = pgUrlOf(g);
  const files = paths.length ? paths.map((p) => resolve(p)) : await everything(root!, !url);
  const all: Issue[] = [];
  const shownFiles: string[] = [];
  let checked = 0;
  if (url && !paths.length) {
    // a database store: its rules in force and its log, checked like consensus.yaml and the log file
    const { openPgReadOnly } = await import("../read-store.js");
    const store = await openPgReadOnly(url);
    try {
      const rules = await store.rules();
      if (rules) all.push(...withFile(parseConfig(rules.text).issues, "consensus.yaml (rules in force)"));
      const lines: string[] = [];
      for await (const l of store.readEntries()) lines.push(l.raw);
      all.push(...withFile(checkLog(lines.length ? `${lines.join("\n")}\n` : ""), `the log of ${store.description}`));
      checked += 2;
    } finally {
      await store.close();
    }
  }
  // files named with a bus in view: also what the daemon would say of each drop now (its epic,
  // iteration, stage); a whole-root check stays a check of shapes (accepted files are past their stage)
  const bus = paths.length && root !== undefined ? await readBus(root) : undefined;
  const now = new Date().toISOString();
  for (const abs of files) {
    const shown = relative(process.cwd(), abs) || abs;
    shownFiles.push(shown);
    // every file is judged by what its name is (a link, a FIFO …: readChecked says so), never followed:
    // the drop zones are written by agents, and a repository a CI job checks by whoever sent the change
    if (lstatSync(abs, { throwIfNoEntry: false }) === undefined) {
      all.push(issue("NOT_FOUND", { message: `no such file: ${shown}`, file: shown, fix: "Check the path." }));
      continue;
    }
    checked++;
    const read = readChecked(abs, o);
    if ("issues" in read) {
      all.push(...withFile(read.issues, shown));
      continue;
    }
    const own = checkRead(abs, read.bytes, o);
    const kind = kindOf(abs, o.kind);
    // the same bytes as checked above (one read: a file swapped in between is never judged in part)
    const more = bus && kind && !["config", "log", "state"].includes(kind) ? busIssues(bus, root!, abs, read.bytes, new Date(read.mtimeMs).toISOString(), now).filter((i) => !own.some((x) => x.code === i.code && x.path === i.path)) : [];
    all.push(...withFile([...own, ...more], shown));
  }
  const errors = errorsOf(all).length;
  if (o.format === "json") process.stdout.write(`${JSON.stringify({ valid: errors === 0, files: checked, issues: all }, null, 2)}\n`);
  else if (o.format === "junit") process.stdout.write(`${formatIssuesJunit(shownFiles, all)}\n`);
  else if (o.format === "sarif") process.stdout.write(`${formatIssuesSarif(all, { version: ownVersion() })}\n`);
  else {
    if (all.length) process.stdout.write(`${formatIssues(all, o.format)}\n`);
    if (o.format === "text") process.stdout.write(`${errors === 0 ? "valid" : "invalid"}: ${checked} file(s), ${errors} error(s), ${all.length - errors} warning(s)\n`);
  }
  return errors === 0 ? 0 : 1;
}

const LOG_CAP = 512 * 1024 * 1024;

/** The largest drop any consensus.yaml lets the daemon read (bus.max_file_bytes' maximum, 100 MiB): a larger file is never accepted. */
const DROP_CAP = 104_857_600;

/** The size cap of a file by its kind: the bus's own records (config, state, log) have theirs; anything else is a drop or a draft. */
function capOf(kind: string | undefined): number {
  // a log is checked as one string: ~512 MiB is the longest string V8 holds, so nothing larger was ever checkable
  return kind === "config" ? CAP.config : kind === "state" ? CAP.state : kind === "log" ? LOG_CAP : DROP_CAP;
}

/** A file's kind from --kind or its name; temp names (.plan.json.tmp) count as their final name. */
export function kindOf(abs: string, forced?: string): string | undefined {
  if (forced) return forced;
  const name = basename(abs).replace(/^\./, "").replace(/\.tmp$/, "");
  if (name === "consensus.yaml") return "config";
  if (name.endsWith(".jsonl")) return "log";
  if (name === "state.json") return "state";
  if (abs.split(sep).includes("inbox")) return "message";
  const k = kindOfArtifact(name);
  if (k !== name && hasSchema(k)) return k;
  if (/^runbook.*\.md$/i.test(name)) return "runbook";
  return undefined;
}

/**
 * A file's bytes and mtime (ms), read guarded (no link followed, no FIFO opened, capped by kind), or
 * the issues that say why it was not read. Every file, not only the bus's records: drops are written
 * by agents (a link there to a secret would have its start quoted in a parse error, a FIFO would hang
 * the command), and a CI job checks files whoever sent the change chose.
 */
function readChecked(abs: string, o: { kind?: string }): { bytes: Buffer; mtimeMs: number } | { issues: Issue[] } {
  const kind = kindOf(abs, o.kind);
  try {
    const { bytes, stat } = readGuardedSyncStat(abs, { maxBytes: capOf(kind) });
    return { bytes, mtimeMs: stat.mtimeMs };
  } catch (e) {
    if (!(e instanceof GuardedReadError)) throw e;
    if (kind === "config") return { issues: configReadError(abs, e).issues };
    return { issues: [issue(e.kind === "too_large" ? "FILE_TOO_LARGE" : e.kind === "symlink" ? "UNSAFE_PATH" : "NOT_REGULAR_FILE", { message: e.message, file: abs, found: e.found, fix: e.fix })] };
  }
}

/** Every problem in one file; problems with a JSON path also get the line and column it points at (JSON and YAML). */
export function checkFile(abs: string, o: { strict?: boolean; kind?: string }): Issue[] {
  const read = readChecked(abs, o);
  return "issues" in read ? read.issues : checkRead(abs, read.bytes, o);
}

/** checkFile on bytes already read. */
function checkRead(abs: string, bytes: Buffer, o: { strict?: boolean; kind?: string }): Issue[] {
  const issues = checkBytes(abs, bytes, o);
  const format = formatOf(basename(abs).replace(/\.tmp$/, ""));
  if (format !== "json" && format !== "yaml") return issues;
  const text = decodeText(bytes).text;
  return text === undefined ? issues : locateIssues(issues, text);
}

function checkBytes(abs: string, bytes: Buffer, o: { strict?: boolean; kind?: string }): Issue[] {
  const kind = kindOf(abs, o.kind);
  const name = basename(abs).replace(/^\./, "").replace(/\.tmp$/, "");
  if (!kind) return [issue("UNKNOWN_ARTIFACT", { message: `cannot tell what kind of file ${name} is`, found: name, fix: "Pass --kind (requirements, architecture, plan, implementation, review, deployment, cicd, runbook, message, config, state, log)." })];
  if (kind === "config") {
    // agents that cannot run as configured are warnings: the rules themselves are valid
    const { pipeline, issues } = parseConfig(bytes.toString("utf8"));
    return pipeline ? [...issues, ...agentIssues(probeAgents(pipeline, projectOf(dirname(abs))))] : issues;
  }
  if (kind === "log") return checkLog(bytes.toString("utf8"));
  if (kind === "message") {
    const m = interpretMessage(name.endsWith(".json") ? "m.json" : "m.yaml", bytes, "any");
    return o.strict && m.doc ? [...m.issues, ...unknownFields("message", m.doc, readSchemaDocuments())] : m.issues;
  }
  const format = formatOf(name) ?? (kind === "runbook" ? "md" : kind === "cicd" ? "yaml" : "json");
  const r = interpretAs(kind, format, bytes);
  return o.strict && r.doc !== undefined && format !== "md" ? [...r.issues, ...unknownFields(kind, r.doc, readSchemaDocuments())] : r.issues;
}

function checkLog(text: string): Issue[] {
  const out: Issue[] = [];
  const chain = new ChainVerifier();
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((line, i) => {
    chain.push(line);
    if (unsealLine(line)) return;
    const bad = checkForeignLine(i + 1, line);
    if (bad) for (const e of bad.drafts[0]!.details.errors as Issue[]) out.push({ ...e, line: i + 1, severity: "error" });
  });
  const r = chain.result();
  if (r.broken) out.unshift(issue("LOG_BROKEN", { message: `hash chain broken at line ${r.broken.line}: ${r.broken.reason}`, line: r.broken.line }));
  return out;
}

/** The drops under the root, and (when the records are in the folder) its config, log and state. */
async function everything(root: string, records = true): Promise<string[]> {
  const L = layoutOf(root);
  const found = await fg(["artifacts/*", "artifacts/*/*", "messages/inbox/*/*"], { cwd: root, onlyFiles: true, dot: false, followSymbolicLinks: false });
  const files = found.filter((f) => !basename(f).startsWith(NOTICE_PREFIX) && !basename(f).startsWith(".")).map((f) => resolve(root, f));
  if (records) for (const p of [L.config, L.log, L.state]) if (lstatSync(p, { throwIfNoEntry: false })) files.unshift(p);
  return files;
}
