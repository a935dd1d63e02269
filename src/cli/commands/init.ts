/**
 * `consensus init`: the folder layout, a consensus.yaml from a preset, a README of the bus whose links
 * resolve from where it is, and the role prompts (agents/<role>.md, next to the bus) that the daemon
 * hands each agent as CONSENSUS_PROMPT. Files that exist are kept unless --force.
 */
import { ensureKeyring } from "../../trust/key-file.js";
import { installRules, logHasEntries, newRecord, readRulesRecord } from "../../store/fs/rules.js";
import { chmod, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { readConfigText } from "../../store/fs/config-file.js";
import { existsSync } from "node:fs";

import { join, relative, sep } from "node:path";
import { writeAtomic } from "../../store/fs/atomic-write.js";
import { agentsDirOf } from "../../agents/read-definitions.js";
import { presetNames, presetText } from "../../config/default-config.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { parseConfig } from "../../config/pipeline.js";
import { layoutFolders, layoutOf } from "../../store/fs/layout.js";
import { giveDropZones } from "../../runner/drop-zones.js";
import { printable } from "../../report/plain-text.js";
import { explicitRoot, newRootOf, packageDir, type GlobalOptions } from "../context.js";

/** A relative link from `from` (a folder) to `to`, with forward slashes (Markdown). */
const link = (from: string, to: string): string => relative(from, to).split(sep).join("/");

/**
 * The bus's README. `docs` is where this package's docs/ are and `agents` where the role prompts are,
 * both as links relative to the bus folder (the package may be in node_modules, or be this repository).
 */
export function busReadme(links: { docs: string; agents: string; schemas: string }): string {
  return `# The consensus bus

Agents and people cooperate only through the files in this folder; \`consensus watch\` validates each
drop, decides, and logs every decision. The contract is [PROTOCOL.md](${links.docs}/PROTOCOL.md) (the
schemas are in [schemas/](${links.schemas}/)); running agents is [agents.md](${links.docs}/agents.md); the
role prompts the daemon hands each agent are in [agents/](${links.agents}/). In short:

| path | what |
|---|---|
| \`consensus.yaml\` | the pipeline: stages, owners, artifacts, who may veto, where vetoes send the epic |
| \`epics/<EPIC>/epic.md\` | what the epic is about (\`consensus start\` writes it) |
| \`artifacts/<EPIC>/<file>\` | drop artifacts here (\`artifacts/<file>\` works when one epic is in flight) |
| \`messages/inbox/<role>/\` | messages to a role (approve, veto, request …) and the daemon's \`notice-*\` files |
| \`current/decision_log.jsonl\` | a readable copy of every decision, one JSON line each; agents append their own entries here (one line each) |
| \`current/state.json\` | every epic's state, rebuilt from the log whenever needed |
| \`archive/<EPIC>/<iteration>/\` | accepted artifacts, exactly as accepted, never changed again |
| \`logs/agents/<EPIC>/<iteration>/\` | output of the agents the daemon launches (\`agents:\` in consensus.yaml) |
| \`.consensus/\` | the daemon's own records: the log of record \`log.jsonl\` (sealed with the daemon key in \`keys/\`; \`consensus log\` reads it), checkpoint, blobs (not in git; created by \`init\` or the first command) — do not edit |

Write files atomically: to \`.name.tmp\` in the same folder, then rename. Check a file first with
\`npx consensus validate FILE\`. Files starting with \`.\` or ending in \`.tmp\`, \`.swp\`, \`~\` are never read.
`;
}

export async function init(g: GlobalOptions, o: { force?: boolean; preset?: string }): Promise<number> {
  const root = newRootOf(g);
  const L = layoutOf(root);
  const name = o.preset ?? "default";
  const text = presetText(name);
  if (text === undefined) throw new ConsensusError(issue("USAGE", { message: `there is no preset "${name}"`, found: name, expected: presetNames().join(", "), fix: `Use --preset ${presetNames().join(" or --preset ")}.` }));
  const pipeline = parseConfig(text).pipeline!;
  for (const d of [...layoutFolders(L), ...pipeline.roles.map((r) => join(L.inbox, r))]) await mkdir(d, { recursive: true });
  // explicit modes whatever the umask (issue 12.11): the private area the daemon's alone, the rest
  // written by the daemon's user only (the drop zones go to the agents' group below, when there is one)
  for (const d of [...layoutFolders(L), L.inbox, join(root, "messages"), ...pipeline.roles.map((r) => join(L.inbox, r))]) await chmod(d, d === L.dot ? 0o700 : 0o755);
  const wrote: string[] = [];
  const write = async (path: string, body: string, shown: string) => {
    if (!o.force && existsSync(path)) return;
    await writeAtomic(path, body);
    wrote.push(shown);
  };
  await write(L.config, text, `consensus.yaml (preset ${name})`);
  const agentsDir = agentsDirOf(root);
  await write(join(root, "README.md"), busReadme({ docs: link(root, join(packageDir, "docs")), agents: link(root, agentsDir), schemas: link(root, join(packageDir, "schemas")) }), "README.md");
  for (const [p, body] of [
    [join(root, ".gitignore"), "# the daemon's own records: lock, checkpoint, blobs, requests, keys\n.consensus/\n"],
    [L.log, ""],
  ] as const) {
    if (!existsSync(p)) {
      await writeFile(p, body);
      wrote.push(p.slice(root.length + 1));
    }
  }
  // the daemon key that seals the log of record and the checkpoint (never printed)
  if ((await ensureKeyring(L.dot)).created) wrote.push(".consensus/keys/daemon.key");
  // the log of record, empty: a new root never mistakes lines agents write before the first decision for an old log to adopt
  if (!existsSync(L.record)) await writeFile(L.record, "", { mode: 0o600 });
  for (const d of [L.epics, L.artifacts, L.archive, ...pipeline.roles.map((r) => join(L.inbox, r))]) {
    const keep = join(d, ".gitkeep");
    if (!existsSync(keep)) await writeFile(keep, "");
  }
  // the role prompts, next to the bus (where agents.<role>.prompt points by default)
  const shipped = join(packageDir, "agents");
  if (agentsDir !== shipped) {
    const prompts: string[] = [];
    for (const role of pipeline.roles) {
      const from = join(shipped, `${role}.md`);
      const to = join(agentsDir, `${role}.md`);
      if (!existsSync(from) || (!o.force && existsSync(to))) continue;
      await mkdir(agentsDir, { recursive: true });
      await copyFile(from, to);
      prompts.push(`${role}.md`);
    }
    if (prompts.length) wrote.push(`${link(root, agentsDir)}/{${prompts.join(",")}}`);
  }
  // the config in force (an existing one is kept) may give the drop zones to the agents' group
  const given = giveDropZones(L, parseConfig(await readConfigText(L.config)).pipeline ?? pipeline);
  if (given && "code" in given) throw new ConsensusError(given);
  for (const f of given?.failed ?? []) process.stderr.write(`${printable(`consensus init: could not give ${f.path} to the agents' group: ${f.error}`)}\n`);
  // the rules in force: consensus.yaml as it is now, sealed in .consensus/ with who applied it and when
  // (the record, `consensus config show`); later edits take effect only by `consensus config apply`
  if ((await readRulesRecord(L)).kind === "none") {
    if (await logHasEntries(L)) process.stderr.write(`${printable(`consensus init: ${L.root} has decisions but no rules in force; review consensus.yaml and run \`consensus config apply\``)}\n`);
    else {
      const current = await readConfigText(L.config);
      const applied = parseConfig(current, L.config).pipeline;
      if (applied) {
        await installRules(L, newRecord(current, applied.version, new Date()));
        wrote.push(".consensus/rules.json (the rules in force)");
      }
    }
  }
  const where = explicitRoot(g) === undefined ? " (here or in any folder below; commands find the bus)" : ` --root ${root}`;
  process.stdout.write(`${printable(`initialised ${root}${wrote.length ? ` (wrote ${wrote.join(", ")})` : " (already set up; nothing changed)"}`)}\n${printable(`next: consensus start EP-001 --title "…", then consensus watch${where}`)}\n`);
  return 0;
}
