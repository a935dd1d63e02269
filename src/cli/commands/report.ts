/**
 * `consensus report [--format text|json] [--html FILE]`: the configured rules and every epic's story,
 * read from the log without the lock (safe beside a running daemon). The page is written atomically,
 * so a browser reloading it never sees half a file.
 */
import { resolve } from "node:path";
import { ConsensusError, issue } from "../../errors/issue.js";
import { renderReportHtml } from "../../report/html.js";
import { buildReport } from "../../report/model.js";
import { formatReportText } from "../../report/text.js";
import { writeAtomic } from "../../store/fs/atomic-write.js";
import { rootOf, type GlobalOptions } from "../context.js";
import { logLines, pipelineOf } from "../read-store.js";

export async function report(g: GlobalOptions, o: { html?: string; format: "text" | "json" }): Promise<number> {
  const root = rootOf(g);
  const pipeline = await pipelineOf(g);
  const lines: string[] = [];
  for await (const raw of logLines(g)) if (raw.trim() !== "") lines.push(raw);
  const model = buildReport({ pipeline, lines, now: new Date().toISOString(), root });

  if (o.html !== undefined) {
    const out = resolve(o.html);
    try {
      await writeAtomic(out, renderReportHtml(model));
    } catch (e) {
      throw new ConsensusError(issue("OUTPUT_UNWRITABLE", { message: `cannot write the report to ${out}: ${(e as Error).message}`, file: out }));
    }
    if (o.format === "json") process.stdout.write(`${JSON.stringify({ html: out, epics: model.epics.length, counts: model.counts })}\n`);
    else process.stdout.write(`wrote ${out} (${model.epics.length} epic${model.epics.length === 1 ? "" : "s"}); open it in a browser\n`);
    return 0;
  }
  process.stdout.write(o.format === "json" ? `${JSON.stringify(model, null, 2)}\n` : `${formatReportText(model)}\n`);
  return 0;
}
