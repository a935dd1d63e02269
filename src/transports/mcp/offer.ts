/**
 * submit_artifact and send_message share one flow: check the input as the daemon will (its shape, then
 * a dry run of decide() against the state as it is now), and only if it would be accepted place it on
 * the bus (bus.submit: on the folder atomically with its claim, on a database as an input row) and
 * return the daemon's verdict — waited for, up to ctx.waitMs — or, when no daemon holds a folder root,
 * decide it here the way the CLI's commands do.
 * An input that would be rejected is never placed: the caller gets the errors in the same turn.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { errorsOf, issue, withFile } from "../../errors/issue.js";
import { decide, inputKey, type ArtifactInput, type MessageInput, type Proof } from "../../machine/decide.js";
import { parseToken } from "../../trust/token.js";
import { awaitDecision, verdictIn, type Verdict } from "../await-decision.js";
import { processNow } from "../process-now.js";
import { replacedSince } from "../place-names.js";
import type { BusReader, McpBus, McpContext, Snapshot } from "./bus.js";
import { answered, errorsOfEntry, refused, verdictResult } from "./results.js";

export interface Offer {
  /** Where the file goes, relative to the root. */
  rel: string;
  bytes: Uint8Array;
  /** The input as the daemon will prepare it from those bytes (interpreted, transport "mcp"). */
  input: ArtifactInput | MessageInput;
}

export async function offer(ctx: McpContext, bus: McpBus, snap: Snapshot, o: Offer): Promise<CallToolResult> {
  const shape = errorsOf(o.input.issues);
  if (shape.length) return refused(withFile(o.input.issues, o.rel));
  const { world, view } = snap;
  if (world.processed(inputKey(world, o.input))) {
    const earlier = verdictIn(await bus.entries(), o.rel, o.input.sha256);
    if (earlier) return verdictResult(earlier, o.rel, { note: "this exact content was decided before; the earlier verdict stands" });
    return answered({ ok: true, verdict: "already_processed", file: o.rel });
  }
  const now = (ctx.clock?.() ?? new Date()).toISOString();
  // judged as the daemon will judge it: signed with the session's launch token, if it has one
  const dry = decide(world, { ...o.input, proof: bus.signs ? expectedProof(ctx, o.input.proof) : (o.input.proof ?? { by: "none" }) }, now);
  if (dry.kind === "refuse") return refused(dry.issues);
  if (dry.kind === "defer") {
    return refused([issue("WRONG_STAGE", { message: `not now: ${dry.reason}`, file: o.rel, found: o.rel, fix: "Send it when the epic is at its stage: the task tool lists what each epic waits for from you." })]);
  }
  const first = dry.drafts[0];
  if (first && (first.decision === "artifact_rejected" || first.decision === "message_rejected")) return refused(errorsOfEntry(first.details, o.rel), { verdict: "refused", file: o.rel });

  const { verdict: v, note } = await bus.submit(ctx, o.rel, o.bytes, o.input.sha256, view.seq);
  if (v) {
    // read after view.seq: an epic that no entry since gave a state is as the snapshot has it
    const id = v.entries[0]?.epic_id;
    return verdictResult(v, o.rel, {}, id !== undefined ? world.epic(id) : undefined);
  }
  const waited = note ?? (ctx.signal?.aborted ? "the wait was cut short" : `no verdict within ${Math.round(ctx.waitMs / 1000)}s`);
  // on the folder, an agent may have renamed its own file over the placed one meanwhile: said, with whose it is
  const replaced = bus.signs ? replacedSince(bus.root, o.rel, o.bytes.length) : undefined;
  return refused([issue("NO_VERDICT", { message: `${o.rel} is ${bus.signs ? "placed" : "submitted, not yet decided"}; ${waited}${replaced ? `. ${replaced}` : ""}`, file: o.rel, fix: "Call inbox or task later: the verdict is in the log once a daemon decides it (send the same content again to get it)." })], { verdict: "pending", file: o.rel, sha256: o.input.sha256 });
}

/** The proof the daemon will find on what this session places: its token's scope (its signature is checked there). */
function expectedProof(ctx: McpContext, had: Proof | undefined): Proof {
  const t = ctx.token ? parseToken(ctx.token) : undefined;
  if (!t) return had ?? { by: "none" };
  return { by: "token", role: t.scope.role, epic_id: t.scope.epic_id, iteration: t.scope.iteration, expires_at: t.scope.expires_at, nonce: "(signed when placed)", key: t.key, launch: t.scope.launch };
}

/** After placing: decide here when no daemon holds the root, else wait for the daemon's verdict. */
export async function verdictOf(ctx: Pick<McpContext, "root" | "waitMs" | "onChange" | "signal">, bus: BusReader, rel: string, sha256: string, afterSeq: number): Promise<Verdict | undefined> {
  const end = Date.now() + ctx.waitMs;
  for (;;) {
    const p = await processNow(ctx.root, rel);
    if (p.via === "direct") {
      if (p.outcome?.status === "committed") return verdictIn(p.outcome.entries, rel, sha256);
      // duplicate: another process decided it between our read and now; the log has it
      return verdictIn(await bus.entries(afterSeq), rel, sha256);
    }
    if (p.via === "daemon") {
      return awaitDecision(bus.store, rel, sha256, { afterSeq, timeoutMs: Math.max(0, end - Date.now()), onChange: ctx.onChange ?? ((w) => bus.watchLog(w)), ...(ctx.signal ? { signal: ctx.signal } : {}) });
    }
    // busy: another command holds the lease for a moment
    if (Date.now() >= end || ctx.signal?.aborted) return undefined;
    await new Promise((r) => setTimeout(r, 25));
  }
}
