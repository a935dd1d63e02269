/**
 * A file where the layout expects nothing (a veto in messages/developer/, a plan at the root, a whole
 * tree under consensus/consensus/): one `file_ignored` entry per content, with the path it was likely
 * meant for, and the author told when the file names one. Nothing else happens: a stray never moves
 * an epic. Pure.
 */
import { EPIC_ID, ROLE } from "../config/names.js";
import type { Pipeline } from "../config/pipeline.js";
import { issue } from "../errors/issue.js";
import type { Decision, Draft, StrayInput, World } from "./decide.js";

export function decideStray(world: World, s: StrayInput): Decision {
  const epicId = s.says.epic_id !== undefined && EPIC_ID.test(s.says.epic_id) ? s.says.epic_id : undefined;
  const epic = epicId !== undefined ? world.epic(epicId) : undefined;
  const { author, suggest } = strayTarget(world.pipeline, s, epicId);
  const stray = issue("STRAY_FILE", {
    message: `${s.file}: ${s.reason}`,
    ...(suggest ? { expected: suggest, fix: `Did you mean ${suggest}? Write it there (to a temporary name first, then rename) and delete ${s.file}.` } : {}),
    found: s.file,
  });
  const draft: Draft = {
    decision: "file_ignored",
    details: { file: s.file, sha256: s.sha256, reason: s.reason, ...(suggest ? { did_you_mean: suggest } : {}), ...(author ? { author } : {}), fix: stray.fix },
  };
  if (epic) {
    draft.epic_id = epic.epic_id;
    draft.iteration = epic.iteration;
  }
  return { kind: "commit", drafts: [draft] };
}

/**
 * Who wrote a stray (a message's sender, a log line's agent, an artifact's owner) and where it was
 * meant to go: the path's own suggestion, else an artifact in its epic's folder or a message in its
 * recipient's inbox. `epicId`: the (valid) epic id the file names, if any.
 */
export function strayTarget(pipeline: Pipeline, s: Pick<StrayInput, "file" | "suggest" | "says">, epicId?: string): { author?: string; suggest?: string } {
  const name = s.file.slice(s.file.lastIndexOf("/") + 1);
  const stage = pipeline.stageOfArtifact(name);
  const role = (r: string | undefined): string | undefined => (r !== undefined && ROLE.test(r) && pipeline.isRole(r) ? r : undefined);
  const author = role(s.says.from) ?? role(s.says.agent) ?? stage?.owner;
  const suggest = s.suggest ?? meantFor(name, stage !== undefined, role(s.says.to), epicId);
  return { ...(author ? { author } : {}), ...(suggest ? { suggest } : {}) };
}

/** Where a file of this name and content belongs: an artifact in its epic's folder, a message in its recipient's inbox. */
function meantFor(name: string, isArtifact: boolean, to: string | undefined, epicId: string | undefined): string | undefined {
  if (isArtifact) return epicId ? `artifacts/${epicId}/${name}` : `artifacts/${name}`;
  if (to && /\.(ya?ml|json)$/i.test(name)) return `messages/inbox/${to}/${name}`;
  return undefined;
}
