/** `consensus doctor`: preflight checks, each pass / warn / fail with the fix; exit 0 when nothing fails. */
import { formatReportText } from "../../report/check.js";
import { probe } from "../../doctor/probe.js";
import { runChecks } from "../../doctor/run-checks.js";
import { CODES } from "../../errors/codes.js";
import { rootOrDefault, type GlobalOptions } from "../context.js";
import { pgUrlOf } from "../store-of.js";
import { checkNodeVersion } from "../../doctor/node-version.js";
import { layoutOf } from "../../store/fs/layout.js";
import { assertPrivateAreaReadable } from "../../store/fs/private-denied.js";

/** A database store: its own checks (reachable, schema, rules, daemons, inputs, effects, chain, clock). */
async function doctorPg(url: string) {
  const [{ probePg }, { runPgChecks }, { readFile }] = await Promise.all([import("../../doctor/pg-probe.js"), import("../../doctor/pg-checks.js"), import("node:fs/promises")]);
  const engines = (JSON.parse(await readFile(new URL("../../../package.json", import.meta.url), "utf8")) as { engines?: { node?: string } }).engines?.node;
  return runPgChecks(await probePg(url, checkNodeVersion(process.version, engines)));
}

export async function doctor(g: GlobalOptions, o: { format: "text" | "json"; poll?: boolean }): Promise<number> {
  const url = pgUrlOf(g);
  if (!url) {
    // doctor checks the private area: a user that may not read it is told so, not an internal error
    const L = layoutOf(rootOrDefault(g));
    assertPrivateAreaReadable(L, "the files doctor checks", { fix: `Run \`consensus doctor\` as the daemon's user (the owner of ${L.dot} named above) or as root: it checks what only that user may read.` });
  }
  const report = url ? await doctorPg(url) : runChecks(await probe(rootOrDefault(g), { poll: !!o.poll }));
  const exit = report.ok ? 0 : CODES.DOCTOR_FAILED.exit;
  process.stdout.write(o.format === "json" ? `${JSON.stringify({ ...report, exit_code: exit }, null, 2)}\n` : formatReportText(report));
  return exit;
}
