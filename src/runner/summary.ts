/** One readable line for the runner's decisions (daemon log, demo, `consensus log`). Pure. */
import type { LogEntry } from "../schemas/types.gen.js";

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
