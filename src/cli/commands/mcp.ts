/**
 * `consensus mcp [--role R]`: the MCP server over stdio for one role (default $CONSENSUS_ROLE). stdout is
 * the protocol: nothing else is printed there. On a PostgreSQL store (--store / CONSENSUS_STORE) it talks
 * to the database (transports/mcp/pg-bus.ts); the role is checked against the folder's consensus.yaml.
 */
import { readRules } from "../../store/fs/rules.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { layoutOf } from "../../store/fs/layout.js";
import { rootOf, type GlobalOptions } from "../context.js";
import { pgUrlOf } from "../store-of.js";
import { readToken } from "../../trust/token.js";

export interface McpOptions {
  role?: string;
  /** How long a submission waits for the daemon's verdict (ms). */
  waitMs: number;
}

export async function mcpCommand(g: GlobalOptions, o: McpOptions): Promise<number> {
  const store = pgUrlOf(g);
  const root = rootOf(g);
  const role = o.role ?? process.env.CONSENSUS_ROLE;
  if (!role) throw new ConsensusError(issue("ROLE_REQUIRED", { message: "no role: pass --role R or set CONSENSUS_ROLE", expected: "a role named in consensus.yaml", found: "none" }), 2);
  const pipeline = await readRules(layoutOf(root));
  if (!pipeline.isRole(role)) throw new ConsensusError(issue("UNKNOWN_ROLE", { message: `role "${role}" is not configured in ${layoutOf(root).config}`, found: role, expected: pipeline.roles.join(", ") }), 2);
  const { serveStdio } = await import("../../transports/mcp/stdio.js");
  // the agent's launch credentials (the runner sets them): what it places is signed, its inbox checked
  const token = process.env.CONSENSUS_TOKEN;
  const read = token ? readToken(token) : undefined;
  if (read && !read.ok) throw new ConsensusError(issue("TOKEN_MISSING", { message: `CONSENSUS_TOKEN is not a launch token: ${read.reason}`, found: "a malformed token", expected: "ct1.<scope>.<key id>.<64 hex digits>, as the runner set it", fix: "Use the CONSENSUS_TOKEN the runner set for this launch, unchanged, or unset it (what the session places is then unverified)." }), 2);
  const noticeKeys = process.env.CONSENSUS_NOTICE_KEY;
  const code = await serveStdio({ root, ...(store !== undefined ? { store } : {}), role, waitMs: o.waitMs, ...(token ? { token } : {}), ...(noticeKeys ? { noticeKeys } : {}) });
  process.stdin.destroy();
  return code;
}

