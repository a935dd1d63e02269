/**
 * One readable line per decision-log entry: the daemon's own log, the demo, `consensus log`, the report
 * and person commands' verdicts print these. Pure: an entry in, text out (not yet made printable: the
 * caller escapes it for a terminal).
 */
import type { LogEntry } from "../schemas/types.gen.js";

/** One readable line per decision (used by the daemon's log, the demo and `consensus log`). */
export function summary(e: LogEntry): string {
  const d = (e.details ?? {}) as Record<string, unknown>;
  const who = e.epic_id ? `${e.epic_id}${e.iteration ? ` iteration ${e.iteration}` : ""}` : "-";
  switch (e.decision) {
    case "epic_started":
      return `${who} started: ${String(d.title)} (stage ${String(d.stage)})`;
    case "artifact_accepted":
    case "message_accepted":
      return `${who} ${e.decision.replace("_", " ")}: ${String(d.file)}${d.type ? ` (${String(d.type)}${d.subject ? ` ${String(d.subject)}` : ""} from ${String(d.from)})` : ""}${warningsText(d)}`;
    case "artifact_rejected":
    case "message_rejected": {
      const errs = Array.isArray(d.errors) ? (d.errors as Array<{ message?: unknown; path?: unknown }>) : [];
      return `${who} ${e.decision.replace("_", " ")}: ${String(d.file)}: ${errs.map((x) => `${x?.path ? `${String(x.path)} ` : ""}${String(x?.message)}`).join("; ")}${warningsText(d)}`;
    }
    case "veto_duplicate": {
      const of = (d.duplicate_of ?? {}) as Record<string, unknown>;
      return `${who} veto duplicate: ${String(d.file)} repeats ${String(d.from)}'s veto ${String(d.subject)} (recorded from ${String(of.file ?? of.message_id)}); nothing else done`;
    }
    case "file_ignored":
      return `${who} file ignored: ${String(d.file)}: ${String(d.reason)}${d.did_you_mean ? ` (did you mean ${String(d.did_you_mean)}?)` : ""}`;
    case "stage_advanced":
      return `${who} ${String(d.from)} → ${String(d.to)}${d.reason ? ` (${String(d.reason)})` : ""}`;
    case "veto_recorded":
      return `${who} veto by ${String(d.from)}: ${String(d.subject)}${d.blocking === false ? " (non-blocking)" : ""}${d.violation ? ` — ${String(d.violation)}` : ""}`;
    case "veto_resolved":
      return `${who} veto resolved by ${String(d.by)}`;
    case "promoted":
      return `${who} PROMOTED`;
    case "escalated":
      return `${who} ESCALATED: ${String(d.reason)} — ${String(d.detail)}`;
    case "overridden":
      return `${who} overridden by ${String(d.by)}${asName(d)} → ${String(d.to)}: ${String(d.reason)}`;
    case "cancelled":
      return `${who} cancelled by ${String(d.by)}${asName(d)}: ${String(d.reason)}`;
    case "conflict_resolved":
      return `${who} conflict (${String(d.conflict)}): ${String(d.rule)}${d.chosen ? ` → ${String(d.chosen)}` : ""}`;
    case "pruned":
      return `${who} pruned by ${String(d.by)}: ${Array.isArray(d.files) ? d.files.length : 0} notice and agent-log file(s) removed`;
    case "config_changed":
      return `consensus.yaml in force: ${String(d.to).slice(0, 12)}${Array.isArray(d.stranded) && d.stranded.length ? ` (escalated: ${d.stranded.join(", ")})` : ""}`;
    case "config_rejected": {
      const errs = Array.isArray(d.errors) ? (d.errors as Array<{ message?: unknown; path?: unknown }>) : [];
      return `consensus.yaml rejected, rules unchanged: ${errs.map((x) => `${x?.path ? `${String(x.path)} ` : ""}${String(x?.message)}`).join("; ")}`;
    }
    case "request_refused":
      return `request ${String(d.file)} refused, not acted on: ${String(d.reason)}`;
    case "config_applied":
      return `rules applied by ${String(d.by)}: ${String(d.to).slice(0, 12)}${d.from ? ` (was ${String(d.from).slice(0, 12)})` : ""}`;
    case "config_pending":
      return `consensus.yaml edited (${String(d.version).slice(0, 12)}), not in force: a person runs \`consensus config apply\``;
    case "approval_recorded":
      return `${who} approval by ${String(d.role ?? d.from)}${d.subject ? `: ${String(d.subject)}` : ""}${d.stage ? ` (stage ${String(d.stage)})` : ""}`;
    default: {
      // the daemon's integrity findings (log_line_forged, log_line_rejected, input_failed …) carry their
      // reason in errors[]: say it, or `consensus log` shows only the decision's name
      const why = d.reason !== undefined ? String(d.reason) : errorsText(d);
      return agentSummary(e, who) ?? `${who} ${e.decision}${why ? `: ${why}` : ""}`;
    }
  }
}

/** The runner's decisions (agent_launched, agent_exited …), or undefined for any other entry. */
export function agentSummary(e: LogEntry, who: string): string | undefined {
  const d = (e.details ?? {}) as Record<string, unknown>;
  const id = String(d.launch_id ?? d.job);
  switch (e.decision) {
    case "agent_launched":
      return `${who} agent ${String(d.agent)} launched (${id}, attempt ${String(d.attempt)}${d.crash_relaunch ? ", relaunch after a crash" : ""}) → ${String(d.output)}`;
    case "agent_exited":
      return `${who} agent exited (${id}): ${d.code === null || d.code === undefined ? (d.signal ? String(d.signal) : "status unknown") : `code ${String(d.code)}`}${typeof d.duration_ms === "number" ? ` after ${d.duration_ms} ms` : ""} — ${String(d.verdict)}${d.reason ? ` (${String(d.reason)})` : ""}`;
    case "agent_timed_out":
      return `${who} agent timed out (${id}) after ${String(d.timeout_ms)} ms: stopping it`;
    case "agent_retry_scheduled":
      return `${who} agent retry ${String(d.attempt)}/${String(d.of)} of ${String(d.job)} in ${String(d.delay_ms)} ms (${String(d.reason)})`;
    case "agent_relaunched":
      return `${who} agent relaunched (${String(d.previous)} → ${id}): ${String(d.reason)}`;
    case "agent_stopped":
      return `${who} agent stopped (${id}) by ${String(d.signal)}: ${String(d.reason)}`;
    case "agent_launch_stale":
      return `${who} agent launch skipped (${id}): ${String(d.reason)}`;
    case "agent_queued":
      return `${who} agent ${String(d.agent)} queued (${id}): ${String(d.running)} of ${String(d.max_concurrent)} running`;
    case "agent_gave_up":
      return `${who} agent gave up (${id}): ${String(d.detail)}`;
    default:
      return undefined;
  }
}

/** A person's `--as NAME`, shown beside the OS user who ran the command (never instead of it). */
function asName(d: Record<string, unknown>): string {
  return typeof d.as === "string" && d.as !== d.by ? ` (as ${JSON.stringify(d.as)})` : "";
}

/** The messages of a decision's errors, joined, or "" when it has none. */
function errorsText(d: Record<string, unknown>): string {
  const errs = Array.isArray(d.errors) ? (d.errors as Array<{ message?: unknown; path?: unknown }>) : [];
  return errs.map((x) => String(x?.message)).join("; ");
}

/** A decision's normalisation warnings, appended to its line (the author sees what was assumed). */
function warningsText(d: Record<string, unknown>): string {
  const ws = Array.isArray(d.warnings) ? (d.warnings as Array<{ message?: unknown; path?: unknown; fix?: unknown }>) : [];
  return ws.map((w) => `; warning: ${w?.path ? `${String(w.path)} ` : ""}${String(w?.message)}${w?.fix ? ` (${String(w.fix)})` : ""}`).join("");
}
