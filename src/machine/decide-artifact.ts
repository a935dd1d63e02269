/**
 * An artifact drop → accepted (the machine moves the epic), deferred (not for now), a copy of a veto
 * already recorded, or rejected with every problem at once: what the file itself gets wrong (parse,
 * schema, placeholders, look-alikes) and what it gets wrong about its epic (folder, epic, stage,
 * iteration), each fix carrying the values the daemon knows. Pure.
 */
import { EPIC_ID } from "../config/names.js";
import { errorsOf, issue, warningsOf, type Issue, shellArg } from "../errors/issue.js";
import type { Epic } from "../schemas/types.gen.js";
import { commit, reject, slim, type ArtifactInput, type Decision, type World } from "./decide.js";
import { copyOf, pipelineOf } from "./epic-context.js";
import type { MachineEvent } from "./events.js";
import { farTimestamp, withRealValues } from "./real-values.js";
import { artifactAuthority, holderRoles, provenRole } from "./authority.js";
import { describeFindings, findingsKey, reviewCopyKey, vetoFindings, duplicateVeto } from "./veto-identity.js";

export function decideArtifact(world: World, a: ArtifactInput, now: string): Decision {
  const { pipeline } = world;
  const stage = pipeline.stageOfArtifact(a.name);
  // told of a rejection: the role proven to have written it (issue 15), else the stage's owner; for
  // the epic's folder itself (a link), the owner of the stage the epic is at: the role dropping there now
  const author = provenRole(a.proof) ?? stage?.owner ?? (a.name === "" ? ownerNow(world, a.folder) : undefined);
  const doc = (a.doc ?? {}) as Record<string, unknown>;
  const placeholder = a.issues.some((i) => i.code === "PLACEHOLDER" && i.path === "/epic_id");
  const docEpic = typeof doc.epic_id === "string" && EPIC_ID.test(doc.epic_id) && !placeholder ? doc.epic_id : undefined;
  const problems: Issue[] = [...errorsOf(a.issues)];
  const said = (i: Issue[], epic?: Epic) => withRealValues([...i, ...warningsOf(a.issues)], { ...(epic ? { epic } : {}), ...(a.folder ? { folder: a.folder } : {}), now, file: a.file });
  // `likely`: the one epic waiting for a flat file whose epic_id is no id — named in the fixes, never in the entry
  const rej = (epic?: Epic, likely?: Epic) => reject("artifact_rejected", a.file, a.sha256, said(problems, epic ?? likely), author, now, epic, epic ? undefined : (a.folder ?? docEpic));

  // The role its owner runs (proven, or holding the file though its mode or a shared user proves nothing) may not write
  // this name: refused now, never deferred. Deferred, it would hold the name until its stage came, or
  // for good with an mtime set in the past (a file written before the stage waits forever), and only
  // its owner may remove it from a sticky drop zone: the role that may write the name never could.
  const holders = holderRoles(a.proof);
  const squat = stage !== undefined && holders !== undefined && !holders.some((r) => pipeline.permissions.write(r, a.name).ok);

  // A file that could not be read or parsed: what is wrong with the file is all that can be said, and
  // whether its owner may hold the name at all (a folder, FIFO or link, or bytes that do not parse, at
  // another role's name: the refusal says so, and the entry is set aside like any squat).
  if (a.doc === undefined && errorsOf(problems).length) {
    const e = world.epic(a.folder ?? "");
    if (squat) problems.push(...artifactAuthority(pipeline, a, stage.owner, e, now, (id) => world.messageIdUsed(id)));
    return rej(e);
  }
  if (!stage) {
    if (!problems.some((i) => i.code === "UNKNOWN_ARTIFACT")) problems.push(issue("UNKNOWN_ARTIFACT", { found: a.name, expected: `one of ${pipeline.stages.flatMap((s) => s.artifacts).join(", ")}` }));
    return rej();
  }

  // Which epic: its folder's, the one its epic_id names, or (flat, naming none) the one that was
  // waiting for it when it was written — epics that entered the stage later cannot claim it, so the
  // answer never changes with time.
  let epic: Epic | undefined;
  let likely: Epic | undefined;
  if (a.folder !== undefined) {
    epic = world.epic(a.folder);
    if (docEpic !== undefined && docEpic !== a.folder) problems.push(issue("EPIC_FOLDER_MISMATCH", { message: `file is in artifacts/${a.folder}/ but its epic_id is "${docEpic}"`, path: "/epic_id", expected: a.folder, found: docEpic }));
    if (!epic) problems.push(issue("UNKNOWN_EPIC", { message: `epic "${a.folder}" (the folder artifacts/${a.folder}/) is not known`, found: a.folder, fix: `Start it with \`consensus start ${shellArg(a.folder)} --title "…"\`, or drop the file in the folder of an epic in progress (\`consensus status\`).` }));
  } else if (docEpic !== undefined) {
    epic = world.epic(docEpic);
    if (!epic) problems.push(issue("UNKNOWN_EPIC", { message: `epic "${docEpic}" is not known`, path: "/epic_id", found: docEpic }));
  } else {
    const waiting = world.epicsAwaiting(a.name);
    const candidates = waiting.filter((e) => writtenSince(a.mtime, e.stage_entered_at));
    if (doc.epic_id !== undefined) {
      // an epic_id that is no id (a placeholder, a look-alike: already an error): the epic waiting is the likely one
      if (candidates.length === 1) likely = candidates[0];
    } else if (candidates.length === 1) epic = candidates[0];
    else if (candidates.length > 1) problems.push(issue("AMBIGUOUS_EPIC", { message: `${candidates.length} epics are waiting for ${a.name}`, expected: "exactly one", found: candidates.map((e) => e.epic_id).join(", "), fix: `Drop it in the per-epic layout instead: ${candidates.map((e) => `artifacts/${e.epic_id}/${a.name}`).join(" or ")}.` }));
    else if (!errorsOf(problems).length && !squat) {
      return { kind: "defer", reason: waiting.length ? `${a.file} was written before ${waiting.map((e) => e.epic_id).join(", ")} entered the stage that needs it` : `no epic is waiting for ${a.name}` };
    }
  }

  // An agent's retry of the review that vetoed: the same veto, recorded once.
  const vetoes = a.name === "review.json" && a.doc !== undefined && !errorsOf(problems).length && doc.review_status !== "approved";
  if (vetoes && epic) {
    const copy = copyOf(epic, reviewCopyKey(doc));
    if (copy) return duplicateVeto(a, copy, epic);
  }

  if (epic && epic.status !== "in_progress") problems.push(issue("EPIC_CLOSED", { message: `epic ${epic.epic_id} is ${epic.status}`, expected: "an epic in progress", found: epic.status }));
  const P = epic ? pipelineOf(pipeline, epic) : pipeline;
  const here = epic ? P.stage(epic.stage) : undefined;
  const mine = P.stage(stage.id);
  if (epic && epic.status === "in_progress" && here) {
    if (!mine) {
      problems.push(issue("NOT_IN_MODE", { message: `${a.name} belongs to stage ${stage.id}, which epic ${epic.epic_id} does not run in mode ${epic.mode}`, expected: `an artifact of stage ${here.id}: ${here.artifacts.join(", ")}`, found: a.name, fix: `Mode ${epic.mode} runs ${P.stages.map((s) => s.id).join(" → ")}; drop ${here.artifacts.join(", ")}.` }));
    } else if (mine.index < here.index) {
      problems.push(issue("WRONG_STAGE", { message: `${a.name} belongs to stage ${stage.id}, which epic ${epic.epic_id} has passed; it is at ${here.id}`, expected: `an artifact of stage ${here.id}: ${here.artifacts.join(", ")}`, found: a.name, fix: `Drop ${here.artifacts.join(", ")} for stage ${here.id} (iteration ${epic.iteration}).` }));
    }
    if (typeof doc.iteration === "number" && doc.iteration !== epic.iteration) {
      problems.push(issue("WRONG_ITERATION", { message: `iteration ${doc.iteration} is not epic ${epic.epic_id}'s current iteration ${epic.iteration}`, path: "/iteration", expected: String(epic.iteration), found: String(doc.iteration) }));
    }
  }
  if (epic && epic.status === "in_progress" && !here) problems.push(issue("BAD_STAGE", { message: `epic ${epic.epic_id} is at stage ${epic.stage}, which consensus.yaml no longer has`, found: epic.stage, fix: "A person decides: `consensus override EPIC --to STAGE` or `consensus cancel EPIC`." }));
  if (squat) problems.push(...artifactAuthority(pipeline, a, stage.owner, epic, now, (id) => world.messageIdUsed(id)));
  if (!epic && !errorsOf(problems).length) problems.push(issue("AMBIGUOUS_EPIC", { message: `cannot tell which epic ${a.file} is for`, found: "none", fix: `Drop it in the per-epic layout: artifacts/<EPIC>/${a.name}.` }));
  if (errorsOf(problems).length || !epic || !here || !mine) return rej(epic, likely);

  if (mine.index > here.index) return { kind: "defer", reason: `${a.name} is for stage ${stage.id}; epic ${epic.epic_id} is at ${here.id}` };
  if (typeof doc.iteration !== "number" && !writtenSince(a.mtime, epic.stage_entered_at)) {
    return { kind: "defer", reason: `${a.file} was written before epic ${epic.epic_id} entered ${here.id} in iteration ${epic.iteration}` };
  }
  // the same bytes written again (touched, or copied over themselves) while already counted here
  if (epic.received[a.name] === a.sha256) return { kind: "defer", reason: `${a.file} is already accepted for epic ${epic.epic_id} at ${here.id} in iteration ${epic.iteration}` };

  // who wrote it (proven or not) and whether that role may (authority.ts)
  const refused = artifactAuthority(pipeline, a, stage.owner, epic, now, (id) => world.messageIdUsed(id));
  if (refused.length) {
    problems.push(...refused);
    return rej(epic);
  }

  const spend = spendOf(doc);
  const accepted: MachineEvent = { type: "ARTIFACT", file: a.name, sha256: a.sha256, role: stage.owner, now, ...(spend ? { spend } : {}) };
  const events: MachineEvent[] = [accepted];
  if (vetoes) {
    const subject = `review_${String(doc.review_status)}`;
    const findings = vetoFindings(doc);
    const worst = findings.find((f) => f.severity === "critical") ?? findings[0];
    const violation = typeof worst?.description === "string" ? worst.description : `review status ${String(doc.review_status)}`;
    const same = findingsKey(doc);
    accepted.verdict = { subject, violation };
    events.push({
      type: "VETO",
      role: stage.owner,
      subject,
      blocking: true,
      violation,
      now,
      ...(same ? { same } : {}),
      detail: { file: a.file, ...(findings.length ? { specifics: describeFindings(findings) } : {}), action_needed: "address_review_findings" },
      seen: { key: reviewCopyKey(doc), from: stage.owner, subject, iteration: epic.iteration, file: a.file, sha256: a.sha256 },
    });
  }
  const far = farTimestamp(doc.timestamp, epic, now);
  const warnings = said(far ? [far] : [], epic);
  const decision = commit(epic, [], world, events);
  if (decision.kind === "commit") {
    const accept = decision.drafts.find((d) => d.decision === "artifact_accepted");
    if (accept) {
      accept.details.file = a.file;
      if (warnings.length) accept.details.warnings = warnings.map(slim);
    }
  }
  return decision;
}

/** What an artifact reports its agent spent (cost_usd, tokens), if anything. */
function spendOf(doc: Record<string, unknown>): { cost_usd: number; tokens: number } | undefined {
  const cost = typeof doc.cost_usd === "number" && doc.cost_usd >= 0 ? doc.cost_usd : undefined;
  const tokens = Number.isInteger(doc.tokens) && (doc.tokens as number) >= 0 ? (doc.tokens as number) : undefined;
  return cost === undefined && tokens === undefined ? undefined : { cost_usd: cost ?? 0, tokens: tokens ?? 0 };
}

/**
 * How far a file's mtime may lag the real time it was written (ms). Linux stamps files from a coarse
 * clock (one tick of the kernel's timer, 1–10 ms), while a stage entry's time is the daemon's precise
 * clock: a file written 2 ms after the entry can carry an mtime 2 ms before it (seen under load: a flat
 * drop right after a stage entry was deferred as "written before" for good).
 */
export const MTIME_SLACK_MS = 10;

/** Was a file with this mtime (ISO 8601) written at or after `since` (ISO 8601), allowing for the coarse file clock? */
export function writtenSince(mtime: string, since: string): boolean {
  const m = Date.parse(mtime);
  const s = Date.parse(since);
  return Number.isNaN(m) || Number.isNaN(s) ? mtime >= since : m >= s - MTIME_SLACK_MS;
}

/** The role owning the stage epic `id` is at, if it is known and in progress. */
function ownerNow(world: World, id: string | undefined): string | undefined {
  const epic = id === undefined ? undefined : world.epic(id);
  if (!epic || epic.status !== "in_progress") return undefined;
  return pipelineOf(world.pipeline, epic).stage(epic.stage)?.owner;
}
