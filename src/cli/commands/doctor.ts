/** `consensus doctor`: preflight checks, each pass / warn / fail with the fix; exit 0 when nothing fails. */
import { formatReportText } from "../../doctor/check.js";
import { probe } from "../../doctor/probe.js";
import { runChecks } from "../../doctor/run-checks.js";
import { CODES } from "../../errors/codes.js";
import { rootOf, type GlobalOptions } from "../context.js";

export async function doctor(g: GlobalOptions, o: { format: "text" | "json"; poll?: boolean }): Promise<number> {
  const report = runChecks(await probe(rootOf(g), { poll: !!o.poll }));
  const exit = report.ok ? 0 : CODES.DOCTOR_FAILED.exit;
  process.stdout.write(o.format === "json" ? `${JSON.stringify({ ...report, exit_code: exit }, null, 2)}\n` : formatReportText(report));
  return exit;
}
