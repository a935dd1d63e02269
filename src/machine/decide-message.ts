/**
 * A message in an inbox → accepted (a veto or an approval moves the epic), a copy of a veto already
 * recorded (logged as its duplicate, nothing else), or rejected with every problem at once, each fix
 * carrying the values the daemon knows. Pure.
 */
import { EPIC_ID } from "../config/names.js";
import { errorsOf, issue, warningsOf, type Issue } from "../errors/issue.js";
import type { Epic } from "../schemas/types.gen.js";
import { commit, reject, slim, type Decision, type Draft, type MessageInput, type World } from "./decide.js";
import { copyOf, pipelineOf } from "./epic-context.js";
import type { MachineEvent, VetoDetail } from "./events.js";
import { farTimestamp, withRealValues } from "./real-values.js";
import { duplicateVeto, messageCopyKey } from "./veto-identity.js";
import { messageAuthority, provenRole } from "./authority.js";

/** The forms of the message ids decideMessage derives (compact:<copy key>, the content's SHA-256), which a message's own id may not take. */
const DERIVED_ID = /^compact:|^[0-9a-f]{64}$/;

export function decideMessage(world: World, m: MessageInput, now: string): Decision {
  const { pipeline } = world;
  const d = m.doc;
  // told of a rejection: the role proven to have written it (issue 15), else the sender it names
  const author = provenRole(m.proof) ?? (d && typeof d.from === "string" && pipeline.isRole(d.from) ? d.from : undefined);
  const placeholder = m.issues.some((i) => i.code === "PLACEHOLDER" && i.path === "/epic_id");
  const epicIdOf = d && typeof d.epic_id === "string" && EPIC_ID.test(d.epic_id) && !placeholder ? d.epic_id : undefined;
  const problems: Issue[] = [...errorsOf(m.issues)];
  const said = (i: Issue[], epic?: Epic) => withRealValues([...i, ...warningsOf(m.issues)], { ...(epic ? { epic } : {}), now, file: m.file });
  const rej = (epic?: Epic) => reject("message_rejected", m.file, m.sha256, said(problems, epic), author, now, epic, epic ? undefined : epicIdOf);
  const epic = epicIdOf !== undefined ? world.epic(epicIdOf) : undefined;
  if (!d) return rej(epic);

  // An agent's retry of a veto (byte for byte under another name, with a new timestamp or the same
  // id): the same veto, recorded once.
  const copyKey = d.type === "veto" ? messageCopyKey(d) : undefined;
  if (copyKey && epic && !problems.length) {
    const copy = copyOf(epic, copyKey);
    if (copy) return duplicateVeto(m, copy, epic);
  }

  const isRole = (r: unknown): r is string => typeof r === "string" && pipeline.isRole(r);
  if (!pipeline.isRole(m.inbox)) problems.push(issue("UNKNOWN_ROLE", { message: `messages/inbox/${m.inbox}/ is not the inbox of a configured role`, found: m.inbox, expected: pipeline.roles.join(", "), fix: `Drop the message in the inbox of a role: messages/inbox/<${pipeline.roles.join("|")}>/.` }));
  if (typeof d.to === "string" && d.to !== m.inbox) problems.push(issue("WRONG_INBOX", { message: `message to "${d.to}" is in ${m.inbox}'s inbox`, path: "/to", expected: m.inbox, found: d.to, fix: isRole(d.to) ? `Move it to messages/inbox/${d.to}/, or set "to": "${m.inbox}" if it is for ${m.inbox}.` : `Set "to": "${m.inbox}" (the inbox it is in).` }));
  if (typeof d.from === "string" && !isRole(d.from)) problems.push(issue("UNKNOWN_ROLE", { message: `sender "${d.from}" is not a configured role`, path: "/from", expected: pipeline.roles.join(", "), found: d.from }));
  if (typeof d.to === "string" && !isRole(d.to)) problems.push(issue("UNKNOWN_ROLE", { message: `recipient "${d.to}" is not a configured role`, path: "/to", expected: pipeline.roles.join(", "), found: d.to }));
  if (d.from === d.to && typeof d.from === "string") problems.push(issue("SELF_MESSAGE", { path: "/from", expected: `a role other than ${d.to}`, found: d.from }));
  // A message without an iteration (the compact form) is named by what it says, not by its bytes: the
  // same approval with another date is the same approval, and counts once, for the iteration it was
  // accepted in (PROTOCOL §5).
  const compact = d.id === undefined && d.iteration === undefined;
  const messageId = d.id ?? (compact ? `compact:${messageCopyKey(d)}` : m.sha256);
  // the ids derived above share the ledger with ids messages give themselves: a message may not take
  // one (compact ids are predictable: another role's compact approval would be blocked in advance)
  if (typeof d.id === "string" && DERIVED_ID.test(d.id)) {
    problems.push(issue("SCHEMA", { message: `message id "${d.id}" has the form of an id the daemon derives itself (compact:<hash> names a message without id and iteration, 64 hex digits a message's content hash)`, path: "/id", expected: "an id that neither starts with compact: nor is 64 hex digits", found: d.id, fix: `Give the message an id of its own, such as ${String(d.type)}-${String(d.from)}-<UTC time>-<random>, or leave id out (its content hash is then its id).` }));
  }
  if (world.messageIdUsed(messageId)) {
    problems.push(
      compact
        ? issue("REPLAYED_MESSAGE", { message: `the same ${String(d.type)} from ${String(d.from)} about ${String(d.epic_id)} was already accepted (a compact message carries no iteration: it counts once, for the iteration it was accepted in, whatever its date)`, path: "/d", found: messageId, fix: `Write what you ${String(d.type)} in this iteration (a new summary), or use the full form with "iteration": ${epic?.iteration ?? "N"}.` })
        : issue("REPLAYED_MESSAGE", { message: `message id "${messageId}" was already used`, path: d.id ? "/id" : "", found: messageId }),
    );
  }
  if (!epic && !problems.some((i) => i.path === "/epic_id")) problems.push(issue("UNKNOWN_EPIC", { message: `epic ${JSON.stringify(d.epic_id)} is not known`, path: "/epic_id", found: String(d.epic_id) }));
  if (epic && epic.status !== "in_progress") problems.push(issue("EPIC_CLOSED", { message: `epic ${epic.epic_id} is ${epic.status}`, found: epic.status }));

  // The iteration just closed by a blocking veto: another blocking veto of it is still heard (two
  // routes at once: the earliest stage wins); the vetoing role's own approval of it is not.
  const content = d.content ?? {};
  const open = epic && epic.status === "in_progress" ? epic : undefined;
  const closedBy = open && d.iteration === open.iteration - 1 ? open.open_vetoes.filter((v) => v.blocking && v.iteration === d.iteration) : [];
  const late = d.type === "veto" && content.blocking !== false && closedBy.length > 0 ? closedBy[0]! : undefined;
  if (open) {
    if (d.type === "approve" && closedBy.some((v) => v.from === d.from)) {
      problems.push(issue("VETO_STANDS", { message: `${d.from} vetoed iteration ${d.iteration} of epic ${open.epic_id}; an approval of the same iteration does not withdraw it`, path: "/iteration", expected: String(open.iteration), found: String(d.iteration), fix: `Approve in iteration ${open.iteration}, once the rework answers your veto.` }));
    } else if (late) {
      const at = pipelineOf(pipeline, open).stage(late.stage) ?? pipeline.stage(late.stage);
      if (!at || !at.vetoes.includes(d.from)) problems.push(issue("VETO_NOT_ALLOWED", { message: `${d.from} may not veto epic ${open.epic_id} at stage ${late.stage} (iteration ${d.iteration})`, path: "/from", expected: at?.vetoes.length ? `one of ${at.vetoes.join(", ")}` : "no role may veto this stage", found: d.from }));
    } else if (d.iteration !== undefined && d.iteration !== open.iteration) {
      problems.push(issue("WRONG_ITERATION", { message: `message is for iteration ${d.iteration}; epic ${open.epic_id} is at iteration ${open.iteration}`, path: "/iteration", expected: String(open.iteration), found: String(d.iteration) }));
    }
    const stage = pipelineOf(pipeline, open).stage(open.stage);
    if (d.type === "veto" && !late && stage && !stage.vetoes.includes(d.from)) {
      problems.push(issue("VETO_NOT_ALLOWED", { message: `${d.from} may not veto epic ${open.epic_id} at stage ${stage.id}`, path: "/from", expected: stage.vetoes.length ? `one of ${stage.vetoes.join(", ")}` : "no role may veto this stage", found: d.from }));
    }
  }
  // who wrote it (proven or not) and whether that role may (authority.ts)
  problems.push(...messageAuthority(pipeline, m, d, open ?? epic, now, (id) => world.messageIdUsed(id)));
  if (errorsOf(problems).length || !open) return rej(epic);

  const far = farTimestamp(d.timestamp, open, now);
  const warnings = said(far ? [far] : [], open);
  const accepted: Draft = {
    decision: "message_accepted",
    epic_id: open.epic_id,
    iteration: open.iteration,
    details: { file: m.file, sha256: m.sha256, message_id: messageId, type: d.type, from: d.from, to: d.to, ...(d.subject ? { subject: d.subject } : {}), ...(warnings.length ? { warnings: warnings.map(slim) } : {}) },
  };
  const events: MachineEvent[] = [];
  if (d.type === "veto") {
    // a specifics that only repeats the violation is said once ("no /health", not "no /health: no /health")
    const violation = [content.violation, content.specifics].filter((x, i, all) => typeof x === "string" && x !== "" && all.indexOf(x) === i).join(": ");
    const subject = d.subject ?? "veto";
    events.push({
      type: "VETO",
      role: d.from,
      subject,
      blocking: content.blocking !== false,
      ...(violation ? { violation } : {}),
      now,
      ...(late ? { late: { iteration: late.iteration, stage: late.stage } } : {}),
      detail: vetoDetail(d, m.file, messageId),
      seen: { key: copyKey!, from: d.from, subject, iteration: d.iteration ?? open.iteration, file: m.file, message_id: messageId, sha256: m.sha256 },
    });
  } else if (d.type === "approve") {
    events.push({ type: "APPROVE", role: d.from, now, ...(d.subject ? { subject: d.subject } : {}) });
  }
  return commit(open, [accepted], world, events, { messageId });
}

/** What a veto message says beyond subject and violation, for the open veto and the rework notice. */
function vetoDetail(d: NonNullable<MessageInput["doc"]>, file: string, messageId: string): VetoDetail {
  const c = (d.content ?? {}) as Record<string, unknown>;
  const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v.slice(0, 2000) : undefined);
  const out: VetoDetail = { file, message_id: messageId };
  for (const k of ["specifics", "impact", "requirement", "suggestion"] as const) {
    const v = text(c[k]) ?? (k === "specifics" ? text(c.location) : undefined);
    if (v) out[k] = v;
  }
  const action = text(d.action_needed);
  if (action) out.action_needed = action;
  return out;
}
