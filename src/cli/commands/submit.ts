/**
 * `consensus submit FILE [--to ROLE]`: an agent places an artifact or a message signed with its
 * launch token (CONSENSUS_TOKEN, set by the runner), so the daemon knows which role wrote it instead of
 * taking the file's word (PROTOCOL "Proofs and permissions"). An artifact goes to
 * artifacts/<the token's epic>/<name>; a message to messages/inbox/<its to (or --to)>/<name>. The token
 * itself is never written anywhere: the claim beside the file carries its scope and a signature.
 *
 * An agent run as its own OS user (docs/agents.md) may not read the daemon's private area: neither the
 * rules in force nor the log of record the verdict is read from. It still places the file, with every
 * guard, routed by consensus.yaml (which such an agent cannot edit; the daemon decides by the rules in
 * force whatever the route), and returns at once (exit 75, as for no verdict): nothing it could read
 * would tell the verdict unforgeably, since the readable log is one every agent appends to, and a
 * plain acceptance sends its author no notice. It says where the verdict will show: a rejection as a
 * notice sealed for its role in its inbox, an accepted artifact in archive/ (only the daemon writes
 * there), or the MCP endpoint the daemon serves over HTTP, which waits for it.
 */
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { ConsensusError, issue, type Issue, shellArg } from "../../errors/issue.js";
import { ROLE } from "../../config/names.js";
import { summary } from "../../log/summary.js";
import { interpretMessage } from "../../schemas/interpret.js";
import { readToken } from "../../trust/token.js";
import { place } from "../../transports/placement.js";
import { replacedSince } from "../../transports/place-names.js";
import { classifyPath } from "../../transports/files/classify.js";
import { kindOf } from "../../store/fs/guarded-read.js";
import { lstatQuiet } from "../../store/fs/safe-dirs.js";
import { userNameOf } from "../../trust/os-identity.js";
import { BusReader } from "../../transports/mcp/bus.js";
import { verdictOf } from "../../transports/mcp/offer.js";
import { printable } from "../../report/plain-text.js";
import { rootOf, type GlobalOptions } from "../context.js";
import { formatIssuesText } from "../output.js";
import { pipelineOf } from "../read-store.js";
import { storeOf } from "../store-of.js";
import { layoutOf } from "../../store/fs/layout.js";
import { privateAreaRefusal } from "../../store/fs/private-denied.js";
import { readConfigFile } from "../../store/fs/config-file.js";
import type { Pipeline } from "../../config/pipeline.js";

export async function submit(g: GlobalOptions, file: string, o: { to?: string; wait: boolean; timeout: number }): Promise<number> {
  const root = rootOf(g);
  const raw = process.env.CONSENSUS_TOKEN;
  if (!raw) throw new ConsensusError(issue("TOKEN_MISSING", { message: "CONSENSUS_TOKEN is not set: there is no launch token to sign with", found: "no CONSENSUS_TOKEN", fix: "Run `consensus submit` from an agent the daemon launched (it sets CONSENSUS_TOKEN), or drop the file into the bus as a plain file (recorded as unverified)." }), 2);
  const read = readToken(raw);
  if (!read.ok) throw new ConsensusError(issue("TOKEN_MISSING", { message: `CONSENSUS_TOKEN is not a launch token: ${read.reason}`, found: "a malformed token", expected: "ct1.<scope>.<key id>.<64 hex digits>, as the runner set it", fix: "Use the CONSENSUS_TOKEN the runner set for this launch, unchanged." }), 2);
  const token = read.token;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new ConsensusError(issue("FILE_UNREADABLE", { message: `${file} could not be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file }));
  }
  const name = basename(file);
  const L = layoutOf(root);
  // the private area this user may not read (an agent of its own OS user): placed, not awaited
  let blind = storeOf(g).kind === "folder" ? privateAreaRefusal(L, "the log of record", { path: L.record }) : undefined;
  // what routes the file: the rules in force; for a user kept out of them consensus.yaml, and when even
  // that does not load (a person editing it), the file's own word (blindRoute): the daemon decides by the
  // rules in force whatever the route, so a file it cannot route is never refused for a file it does not decide by
  let pipeline: Pipeline | undefined;
  let routed = "";
  try {
    pipeline = await pipelineOf(g);
  } catch (e) {
    if (!(e instanceof ConsensusError && e.issues[0]?.code === "PRIVATE_AREA_DENIED")) throw e;
    blind ??= e;
    try {
      pipeline = await readConfigFile(L.config);
      routed = " (routed by consensus.yaml: the rules in force are in the private area)";
    } catch (c) {
      if (!(c instanceof ConsensusError)) throw c;
      routed = ` (routed by its own "to", as an artifact without one: consensus.yaml does not load (${c.issues[0]?.code ?? "unusable"}) and the rules in force are in the private area)`;
    }
  }
  if (blind && !routed) routed = " (routed by consensus.yaml: the rules in force are in the private area)";
  // a message's recipient: --to, else its own "to" (read only when the name is no artifact's)
  const toOf = (): unknown => o.to ?? interpretMessage(name, bytes, "").doc?.to;
  let rel: string;
  if (pipeline ? pipeline.stageOfArtifact(name) : toOf() === undefined) rel = `artifacts/${token.scope.epic_id}/${name}`;
  else {
    const to = toOf();
    if (typeof to !== "string" || !ROLE.test(to) || (pipeline && !pipeline.isRole(to))) {
      const expected = pipeline ? `an artifact (${pipeline.stages.flatMap((s) => s.artifacts).join(", ")}) or a message whose "to" is one of ${pipeline.roles.join(", ")}` : `a message whose "to" is a role name (${ROLE.source})`;
      throw new ConsensusError(issue("UNKNOWN_ROLE", { message: `${name} is not an artifact of any stage, and names no recipient role`, file, found: String(to), expected, fix: "Pass --to ROLE for a message, or name the file after its artifact." }), 2);
    }
    rel = `messages/inbox/${to}/${name}`;
  }
  // a name the bus never reads as an input (a dot-name such as the claims' folder .placed, a temporary,
  // a notice's): placed, it would wait out its timeout undecided; refused before anything is written
  const seen = classifyPath(rel);
  if (seen.kind === "ignored") {
    throw new ConsensusError(issue("USAGE", { message: `${rel} is a name the bus never reads (${seen.reason}): placed there, it would never be decided; nothing was placed`, file, found: name, expected: "an artifact's name, or a message name such as <type>-<role>-<EPIC>-<UTC time>-<random>.yaml", fix: rel.startsWith("messages/") ? `Copy it to a name of its own (\`cp ${shellArg(file)} info-${token.scope.role}-${token.scope.epic_id}.yaml\`) and submit that.` : "Name it after its artifact (a stage's artifacts in consensus.yaml) and submit again." }), 2);
  }
  // what holds a message's name (never followed: a link, a FIFO an agent made there count as taken), and whose it is
  const held = rel.startsWith("messages/") ? lstatQuiet(join(root, rel)) : undefined;
  if (held) {
    const whose = `${kindOf(held)} of uid ${held.uid} (${userNameOf(held.uid)})`;
    throw new ConsensusError(issue("USAGE", { message: `${rel} is taken by ${whose}: a message never replaces another`, file, found: whose, fix: `Give the message a name of its own (e.g. <type>-<role>-<EPIC>-<UTC time>-<random>.yaml) and submit again${held.isFile() ? "" : `; what is at ${join(root, rel)} is no message: its owner or root may remove it (\`${held.isDirectory() ? "rm -r" : "rm"} ${shellArg(join(root, rel))}\`)`}.` }), 2);
  }
  const bus = new BusReader(root);
  const afterSeq = blind ? 0 : ((await bus.entries()).at(-1)?.seq ?? 0);
  const { sha256 } = await place(root, rel, bytes, { transport: "cli", role: token.scope.role, token: raw });
  if (blind) {
    // --no-wait: the same words (`consensus log`, named below for others, is not this user's to read)
    const said = `${printable(unawaited(rel, token.scope, sha256, blind.issues[0]!.message, routed), { newlines: true })}\n`;
    if (!o.wait) return (process.stdout.write(said), 0);
    process.stderr.write(said);
    return 75;
  }
  if (!o.wait) {
    process.stdout.write(`placed ${rel}, signed for ${token.scope.role} (epic ${token.scope.epic_id}, iteration ${token.scope.iteration}); see \`consensus log --epic ${shellArg(token.scope.epic_id)}\`\n`);
    return 0;
  }
  const v = await verdictOf({ root, waitMs: o.timeout }, bus, rel, sha256, afterSeq);
  if (!v) {
    // an agent may have renamed its own file over the placed one meanwhile: said, with whose it is
    const replaced = replacedSince(root, rel, bytes.length);
    process.stderr.write(`${printable(`${rel} is placed; no verdict within ${Math.round(o.timeout / 1000)}s${replaced ? `. ${replaced}` : ""}`)}\n`);
    return 75;
  }
  const lines = v.entries.map((e) => `  #${e.seq} ${printable(summary(e))}`).join("\n");
  if (v.verdict !== "accepted") {
    const errors = ((v.entries[0]!.details as { errors?: Issue[] }).errors ?? []).map((i) => ({ ...i, file: rel }));
    process.stderr.write(`${errors.length ? `${formatIssuesText(errors)}\n` : ""}${rel} rejected:\n${lines}\n`);
    return 1;
  }
  process.stdout.write(`${rel} accepted:\n${lines}\n`);
  return 0;
}

/**
 * What `consensus submit` says when it placed `rel` but this user may not read the log of record
 * (`why`): placed and signed, no verdict awaited, and where the agent learns it. Pure.
 */
export function unawaited(rel: string, scope: { role: string; epic_id: string; iteration: number }, sha256: string, why: string, routed = ""): string {
  const kind = rel.startsWith("artifacts/") ? "artifact" : "message";
  const accepted =
    kind === "artifact"
      ? `accepted, it is published as archive/${scope.epic_id}/${scope.iteration}/${basename(rel)} (only the daemon writes archive/)`
      : "accepted, it is in force in its recipient's inbox (no notice to you)";
  return [
    `${rel} is placed${routed}, signed for ${scope.role} (epic ${scope.epic_id}, iteration ${scope.iteration}; sha256 ${sha256.slice(0, 12)}); its verdict is not awaited: ${why}.`,
    `The daemon decides it: rejected, it tells you in messages/inbox/${scope.role}/notice-<seq>-${scope.epic_id}-${kind}_rejected.yaml (sealed for your role: its last line is the daemon's MAC, checked with CONSENSUS_NOTICE_KEY); ${accepted}.`,
    "To get the verdict in the same call, submit through the MCP endpoint the daemon serves over HTTP (`consensus watch --mcp-port N`; docs/mcp.md), or run `consensus submit` as a user who may read .consensus/.",
  ].join("\n");
}
