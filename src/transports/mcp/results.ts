/**
 * A tool's answer: its data as JSON text (what every client shows the model) and the same object as
 * structuredContent (for programs). A refusal is an isError result whose text is the CLI's error form
 * — what, where, expected, found, fix — and whose structuredContent carries the Issues themselves.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { errorsOf, withFile, type Issue } from "../../errors/issue.js";
import { formatIssuesText } from "../../report/issue-text.js";
import { summary } from "../../engine/engine.js";
import type { Verdict } from "../await-decision.js";
import type { Epic } from "../../schemas/types.gen.js";

export function answered(data: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(data, null, 2) }], structuredContent: data };
}

export function refused(issues: readonly Issue[], extra: Record<string, unknown> = {}): CallToolResult {
  const head = extra.verdict === "rejected" ? "rejected by the daemon:\n" : "";
  return {
    isError: true,
    content: [{ type: "text", text: `${head}${formatIssuesText(issues)}` }],
    structuredContent: { ok: false, ...extra, issues: [...issues] },
  };
}

/** The errors a rejection entry lists (Issues without their file: the entry names it once), with the file put back. */
export function errorsOfEntry(details: unknown, file: string): Issue[] {
  const errs = (details as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errs) ? withFile(errs as Issue[], file) : [];
}

/**
 * The daemon's verdict on a placed input, as the tool's answer: accepted and where the epic went, or
 * rejected and why. `before`: the epic as it was at the seq the entries were read after (a transaction
 * that left it unchanged carries no state in its log line, nor did any entry read since).
 */
export function verdictResult(v: Verdict, file: string, extra: Record<string, unknown> = {}, before?: Epic): CallToolResult {
  const decisions = v.entries.map((e) => ({ seq: e.seq, decision: e.decision, summary: summary(e) }));
  const id = v.entries[0]?.epic_id;
  const state = v.epic ?? (id !== undefined && before?.epic_id === id ? before : undefined);
  const epic = state ? { epic_id: state.epic_id, stage: state.stage, status: state.status, iteration: state.iteration, open_vetoes: state.open_vetoes.map((o) => ({ from: o.from, subject: o.subject, iteration: o.iteration })) } : undefined;
  const base = { verdict: v.verdict, file, ...extra, ...(epic ? { epic } : {}), decisions };
  if (v.verdict === "accepted") return answered({ ok: true, ...base });
  const issues = errorsOf(errorsOfEntry(v.entries[0]!.details, file));
  return refused(issues, base);
}
