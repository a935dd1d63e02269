/** `consensus start EPIC --title T [--file epic.md]`: opens an epic at the first stage, iteration 1. */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { writeAtomic } from "../../store/fs/atomic-write.js";
import { EPIC_ID } from "../../config/names.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { layoutOf } from "../../store/fs/layout.js";
import { rootOf, whoAmI, type GlobalOptions } from "../context.js";
import { formatIssuesText } from "../output.js";
import { pipelineOf } from "../read-store.js";
import { applyCommandOn } from "../writer.js";
import { folderInside } from "../../transports/placement.js";

export async function start(g: GlobalOptions, epic: string, o: { title: string; file?: string; mode?: string }): Promise<number> {
  const root = rootOf(g);
  if (!EPIC_ID.test(epic)) throw new ConsensusError(issue("BAD_EPIC_ID", { found: JSON.stringify(epic) }));
  let body = `# ${epic}: ${o.title}\n`;
  if (o.file) {
    try {
      body = await readFile(o.file, "utf8");
    } catch {
      throw new ConsensusError(issue("NOT_FOUND", { message: `cannot read --file ${o.file}`, file: o.file, fix: "Pass the path of an existing Markdown file.", }), 1);
    }
  }
  // the epic's folders first, never through a link an agent planted that leads out of the root (refused before anything is decided)
  await folderInside(root, relative(root, join(layoutOf(root).artifacts, epic)));
  const md = join(await folderInside(root, relative(root, join(layoutOf(root).epics, epic))), "epic.md");
  const r = await applyCommandOn(g, { type: "start", epic_id: epic, title: o.title, by: whoAmI(), ...(o.mode ? { mode: o.mode } : {}) });
  if (r.ok === "queued") throw new Error("start always waits for its verdict");
  if (!r.ok) {
    process.stderr.write(`${formatIssuesText(r.issues)}\n`);
    return 1;
  }
  if (!existsSync(md)) await writeAtomic(md, body);
  const first = (await pipelineOf(g)).forMode(o.mode)?.stages[0]?.id;
  process.stdout.write(`started ${epic}${o.mode ? ` in mode ${o.mode}` : ""} at stage ${first}, iteration 1 (${r.via === "daemon" ? "applied by the running daemon" : "applied directly"})\n`);
  return 0;
}
