/** `consensus init`: the folder layout, a default consensus.yaml and a short README of the layout. */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeAtomic } from "../../store/fs/atomic-write.js";
import { presetNames, presetText } from "../../config/default-config.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { parseConfig } from "../../config/pipeline.js";
import { layoutFolders, layoutOf } from "../../store/fs/layout.js";
import { giveDropZones } from "../../runner/drop-zones.js";
import { rootOf, type GlobalOptions } from "../context.js";

export const BUS_README = `# The consensus bus

Agents and people cooperate only through the files in this folder; \`consensus watch\` validates each
drop, decides, and logs every decision. The contract is PROTOCOL.md; in short:

| path | what |
|---|---|
| \`consensus.yaml\` | the pipeline: stages, owners, artifacts, who may veto, where vetoes send the epic |
| \`epics/<EPIC>/epic.md\` | what the epic is about (\`consensus start\` writes it) |
| \`artifacts/<EPIC>/<file>\` | drop artifacts here (\`artifacts/<file>\` works when one epic is in flight) |
| \`messages/inbox/<role>/\` | messages to a role (approve, veto, request …) and the daemon's \`notice-*\` files |
| \`current/decision_log.jsonl\` | every decision, one JSON line each, hash-chained; \`consensus log\` reads it |
| \`current/state.json\` | every epic's state, rebuilt from the log whenever needed |
| \`archive/<EPIC>/<iteration>/\` | accepted artifacts, exactly as accepted, never changed again |
| \`logs/agents/<EPIC>/<iteration>/\` | output of the agents the daemon launches (\`agents:\` in consensus.yaml) |
| \`.consensus/\` | the daemon's own: lock, checkpoint (+ checkpoint.keys), blobs, requests, agent pids (do not edit) |

Write files atomically: to \`.name.tmp\` in the same folder, then rename. Check a file first with
\`npx consensus validate FILE\`. Files starting with \`.\` or ending in \`.tmp\`, \`.swp\`, \`~\` are never read.
`;

export async function init(g: GlobalOptions, o: { force?: boolean; preset?: string }): Promise<number> {
  const root = rootOf(g);
  const L = layoutOf(root);
  const name = o.preset ?? "default";
  const text = presetText(name);
  if (text === undefined) throw new ConsensusError(issue("USAGE", { message: `there is no preset "${name}"`, found: name, expected: presetNames().join(", "), fix: `Use --preset ${presetNames().join(" or --preset ")}.` }));
  const pipeline = parseConfig(text).pipeline!;
  for (const d of [...layoutFolders(L), ...pipeline.roles.map((r) => join(L.inbox, r))]) await mkdir(d, { recursive: true });
  const wrote: string[] = [];
  if (o.force || !existsSync(L.config)) {
    await writeAtomic(L.config, text);
    wrote.push(`consensus.yaml (preset ${name})`);
  }
  const extras: Array<[string, string]> = [
    [join(root, "README.md"), BUS_README],
    [join(root, ".gitignore"), "# the daemon's lock, checkpoint, blobs and requests\n.consensus/\n"],
    [L.log, ""],
  ];
  for (const [p, text] of extras) {
    if (!existsSync(p)) {
      await writeFile(p, text);
      wrote.push(p.slice(root.length + 1));
    }
  }
  for (const d of [L.epics, L.artifacts, L.archive, ...pipeline.roles.map((r) => join(L.inbox, r))]) {
    const keep = join(d, ".gitkeep");
    if (!existsSync(keep)) await writeFile(keep, "");
  }
  // the config in force (an existing one is kept) may give the drop zones to the agents' group
  const given = giveDropZones(L, parseConfig(await readFile(L.config, "utf8")).pipeline ?? pipeline);
  if (given && "code" in given) throw new ConsensusError(given);
  for (const f of given?.failed ?? []) process.stderr.write(`consensus init: could not give ${f.path} to the agents' group: ${f.error}\n`);
  process.stdout.write(`initialised ${root}${wrote.length ? ` (wrote ${wrote.join(", ")})` : " (already set up; nothing changed)"}\nnext: consensus start EP-001 --title "…" --root ${root}, then consensus watch --root ${root}\n`);
  return 0;
}
