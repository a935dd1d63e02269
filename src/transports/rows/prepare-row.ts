/**
 * The rows transport: an input row (a file a bridge mirrored, a person's command) → the same
 * Prepared input the file transport makes from a dropped file, by the same rules: the path is
 * classified by name, the bytes are capped, interpreted and validated here again (never trusted
 * because a bridge read them), and a file that does not validate yet waits out the settle time
 * counted from its mtime.
 */
import { createHash } from "node:crypto";
import { issue } from "../../errors/issue.js";
import type { InputRow } from "../../store/pg/inputs.js";
import { classifyPath } from "../files/classify.js";
import { prepareContent, prepareInvalid, prepareUnreadable, zoneFolderOf, type Prep, type PrepContext } from "../files/prepare.js";

const COMMANDS = new Set(["start", "override", "cancel"]);

export function prepareRow(row: InputRow, ctx: Pick<PrepContext, "pipeline" | "world" | "now">): Prep {
  if (row.kind === "command") {
    const cmd = row.command;
    if (!cmd || typeof cmd !== "object" || !COMMANDS.has(cmd.type)) return { kind: "skip", why: "not a command" };
    return { kind: "ready", item: { input: cmd, key: row.key } };
  }
  const rel = row.path ?? "";
  const c = classifyPath(rel);
  if (c.kind === "ignored" || c.kind === "request") return { kind: "skip", why: c.kind === "ignored" ? c.reason : "requests arrive as command rows" };
  if (c.kind === "invalid") return prepareInvalid(c, ctx.now);
  // the sender could not read it whole: rejected with its problem (the problem is only ever a reason to
  // reject); one where a drop zone's folder goes (a linked epic folder) names the epic or role, as the file transport does
  if (row.problem && !row.bytes) return prepareUnreadable(zoneFolderOf(c, ctx.pipeline)?.as ?? c, { ...row.problem, file: rel }, ctx.now);
  const bytes = row.bytes ?? new Uint8Array();
  if (bytes.length > ctx.pipeline.maxFileBytes) {
    return prepareUnreadable(c, issue("FILE_TOO_LARGE", { message: `${rel} is ${bytes.length} bytes, over the cap of ${ctx.pipeline.maxFileBytes}`, file: rel, found: `${bytes.length} bytes`, expected: `at most ${ctx.pipeline.maxFileBytes} bytes` }), ctx.now);
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  // an MCP session's row (pg-bus.ts) says so in its source, which only the store's own clients write
  return prepareContent(c, { bytes, sha256, mtimeMs: row.mtimeMs ?? ctx.now }, ctx, row.source.startsWith("mcp ") ? "mcp" : "files");
}
