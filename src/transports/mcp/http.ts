/**
 * `consensus watch --mcp-port N`: the MCP server over Streamable HTTP (the SDK's transport), served by
 * the daemon, one McpServer per session. A session's role is fixed when it opens: the initialize
 * request must name it, in the `X-Consensus-Role` header or as `?role=` on the URL; a session without
 * one, or with a role the config does not have, is refused (HTTP 400) and never opened. Later requests
 * of the session may repeat the role but not change it (403).
 *
 * Bound to 127.0.0.1 unless --mcp-host widens it; on a loopback address the Host header is checked too
 * (DNS rebinding). The role is claimed, not proven — anyone who can reach the port can speak for any
 * role (docs/mcp.md) — unless the initialize request carries the agent's launch token
 * (`Authorization: Bearer <CONSENSUS_TOKEN>`): then what the session places is signed with it.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { ROLE } from "../../config/names.js";
import { readRules } from "../../store/fs/rules.js";
import { ConsensusError, issue, type Issue } from "../../errors/issue.js";
import { formatIssuesText } from "../../report/issue-text.js";
import { layoutOf } from "../../store/fs/layout.js";
import { listenOn } from "../listen.js";
import type { DaemonEntry } from "../await-decision.js";
import { createMcpServer, type ConsensusMcp } from "./server.js";
import { parseToken } from "../../trust/token.js";

export const ROLE_HEADER = "x-consensus-role";
/** The largest request body read (a submitted artifact is at most bus.max_file_bytes, 1 MiB by default, plus JSON escaping). */
const MAX_BODY = 8 * 1024 * 1024;

export interface McpHttpOptions {
  root: string;
  /** A PostgreSQL store's URL: sessions talk to the database (McpContext.store). */
  store?: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  waitMs: number;
  /** A session with no request for this long is closed (a client that left without DELETE); default 30 min. */
  sessionIdleMs?: number;
}

export interface McpHttpServer {
  host: string;
  port: number;
  /** The MCP endpoint, such as http://127.0.0.1:7300/mcp. */
  url: string;
  /** Sessions open now. */
  sessionCount(): number;
  /** The daemon committed entries: hand them to the sessions waiting for a verdict. */
  committed(entries: readonly DaemonEntry[]): void;
  close(): Promise<void>;
}

interface Session {
  role: string;
  /** Date.now() of its last request. */
  seen: number;
  transport: StreamableHTTPServerTransport;
  mcp: ConsensusMcp;
}

export async function startMcpHttp(opts: McpHttpOptions): Promise<McpHttpServer> {
  const sessions = new Map<string, Session>();
  const waiters = new Set<(committed?: readonly DaemonEntry[]) => void>();
  const stop = new AbortController();
  let port = opts.port;
  const loopback = ["127.0.0.1", "localhost", "::1"].includes(opts.host);

  const open = async (role: string, token?: string): Promise<Session> => {
    const mcp = createMcpServer({
      root: opts.root,
      ...(opts.store !== undefined ? { store: opts.store } : {}),
      role,
      ...(token ? { token } : {}),
      waitMs: opts.waitMs,
      signal: stop.signal,
      onChange: (wake) => (waiters.add(wake), () => void waiters.delete(wake)),
    });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => void sessions.set(id, session),
      ...(loopback ? { enableDnsRebindingProtection: true, allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`] } : {}),
    });
    const session: Session = { role, seen: Date.now(), transport, mcp };
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await mcp.server.connect(transport);
    return session;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== "/mcp") return reply(res, 404, null, `not found: ${url.pathname}; the MCP endpoint is /mcp`);
    const { role: claimed, conflict } = roleOf(req, url);
    if (conflict) return refuse(res, 400, [conflict]);
    const id = header(req, "mcp-session-id");
    let body: unknown;
    if (req.method === "POST") {
      body = await readJson(req);
      if (body === BAD_BODY) return reply(res, 400, null, "the request body is not JSON (or is over 8 MiB)");
    }
    if (id !== undefined) {
      const s = sessions.get(id);
      if (!s) return reply(res, 404, null, `no session ${id}: it ended or never opened; open a new one`);
      s.seen = Date.now();
      if (claimed !== undefined && claimed !== s.role) return refuse(res, 403, [issue("ROLE_MISMATCH", { message: `session ${id} speaks for ${s.role}; a request may not switch it to ${claimed}`, found: claimed, expected: s.role, fix: "Open a new session for the other role." })]);
      return s.transport.handleRequest(req, res, body);
    }
    if (req.method !== "POST" || !isInitializeRequest(body)) return reply(res, 400, null, "no mcp-session-id: open a session with an initialize request first");
    const problem = await checkRole(opts.root, claimed);
    if (problem) return refuse(res, 400, problem);
    // A launch token (Authorization: Bearer ct1.…) makes what the session places signed: its role proven (PROTOCOL §9)
    const bearer = /^Bearer\s+(ct1\.\S+)$/.exec(header(req, "authorization") ?? "")?.[1];
    const token = bearer && parseToken(bearer)?.scope.role === claimed ? bearer : undefined;
    if (bearer && !token) return refuse(res, 400, [issue("ROLE_MISMATCH", { message: `the launch token in Authorization is not one of role ${claimed}`, found: "another role's token, or not a token", expected: `a launch token of ${claimed}`, fix: "Send the CONSENSUS_TOKEN of the agent's own launch, unchanged, with its own role." })]);
    const s = await open(claimed!, token);
    await s.transport.handleRequest(req, res, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, null, `internal error: ${(err as Error).message}`);
      else res.end();
    });
  });
  server.headersTimeout = 10_000;
  const bound = await listenOn(server, opts.host, opts.port, "MCP", { inUse: "MCP_PORT_IN_USE", failed: "MCP_LISTEN_FAILED" });
  port = bound.port;
  // Sessions a client abandoned (no DELETE) are closed once idle; a call in progress is never cut.
  const idleMs = opts.sessionIdleMs ?? 30 * 60_000;
  const sweep = setInterval(() => {
    for (const [id, s] of sessions) {
      if (Date.now() - s.seen < idleMs) continue;
      sessions.delete(id);
      void s.mcp.idle().then(() => s.mcp.close());
    }
  }, Math.min(idleMs, 60_000));
  sweep.unref();
  return {
    host: bound.host,
    port: bound.port,
    url: `${bound.url}/mcp`,
    committed: (entries) => {
      for (const w of [...waiters]) w(entries);
    },
    sessionCount: () => sessions.size,
    close: async () => {
      clearInterval(sweep);
      stop.abort();
      // calls that are placing an input finish first
      await Promise.all([...sessions.values()].map((s) => s.mcp.idle()));
      await Promise.all([...sessions.values()].map((s) => s.mcp.close()));
      await bound.close();
    },
  };
}

/** The role a request names: the X-Consensus-Role header or ?role=; both, if given, must agree. */
function roleOf(req: IncomingMessage, url: URL): { role?: string; conflict?: Issue } {
  const h = header(req, ROLE_HEADER);
  const q = url.searchParams.get("role") ?? undefined;
  if (h !== undefined && q !== undefined && h !== q) return { conflict: issue("ROLE_MISMATCH", { message: `the ${ROLE_HEADER} header says ${h} but ?role= says ${q}`, found: `${h}, ${q}`, expected: "one role", fix: "Name the role once: the header or the query parameter." }) };
  const role = h ?? q;
  return role !== undefined ? { role } : {};
}

async function checkRole(root: string, role: string | undefined): Promise<Issue[] | undefined> {
  if (role === undefined || role === "") return [issue("ROLE_REQUIRED", { message: "the session names no role", expected: `the ${ROLE_HEADER} header or ?role=ROLE on the initialize request`, found: "neither" })];
  let roles: readonly string[];
  try {
    const p = await readRules(layoutOf(root));
    roles = p.roles;
  } catch (e) {
    if (e instanceof ConsensusError) return e.issues;
    throw e;
  }
  if (!ROLE.test(role) || !roles.includes(role)) return [issue("UNKNOWN_ROLE", { message: `role "${role}" is not configured`, found: role, expected: roles.join(", ") })];
  return undefined;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

const BAD_BODY = Symbol("bad body");

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return BAD_BODY;
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return BAD_BODY;
  }
}

/** A JSON-RPC error body, as the Streamable HTTP transport answers requests it cannot take. */
function reply(res: ServerResponse, status: number, id: null, message: string, data?: unknown): void {
  const body = JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message, ...(data !== undefined ? { data } : {}) }, id });
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function refuse(res: ServerResponse, status: number, issues: Issue[]): void {
  reply(res, status, null, formatIssuesText(issues), { issues });
}
