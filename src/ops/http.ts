/**
 * The daemon's operations endpoint (node:http, no framework): /health (liveness: answered while the
 * event loop runs), /ready (200 or 503 with which check fails and why) and /metrics (Prometheus text).
 * GET and HEAD only. It is bound before the daemon takes the lock, so a port in use stops the start
 * with a clear error before anything is watched.
 *
 * Bounded, so no client can use up the daemon's file descriptors: at most MAX_CONNECTIONS sockets at
 * once (more are closed as they are accepted), idle ones closed after IDLE_MS, and a failed accept
 * (EMFILE) is reported, never fatal. 1,100 idle connections at the default limit of 1,024 descriptors
 * made the daemon exit before (test/e2e/metrics.e2e.test.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listenOn } from "../transports/listen.js";
import type { ConsensusMetrics } from "./metrics.js";
import type { Readiness } from "./readiness.js";

export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  metrics: ConsensusMetrics;
  readiness(): Promise<Readiness>;
  /** An error of the listening socket after the start (EMFILE on accept …): reported, the server keeps serving. */
  onError?(err: Error): void;
}

/** Sockets served at once: a scraper and a few health checks need a handful. */
export const MAX_CONNECTIONS = 64;
/** A socket with no traffic for this long is closed (ms); so is a request not complete in time. */
export const IDLE_MS = 10_000;

export interface OpsServer {
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const server = createServer((req, res) => {
    route(req, res, opts).catch((err: unknown) => send(res, req, 500, "text/plain; charset=utf-8", `internal error: ${(err as Error).message}\n`));
  });
  // A scrape is small; never let a slow or idle client hold a socket for long (headersTimeout does not
  // close a socket that never sends a byte: server.timeout does).
  server.requestTimeout = IDLE_MS;
  server.headersTimeout = IDLE_MS;
  server.keepAliveTimeout = 5_000;
  server.timeout = IDLE_MS;
  server.maxConnections = MAX_CONNECTIONS;
  return listenOn(server, opts.host, opts.port, "metrics", { inUse: "METRICS_PORT_IN_USE", failed: "METRICS_LISTEN_FAILED" }, opts.onError);
}

async function route(req: IncomingMessage, res: ServerResponse, opts: OpsServerOptions): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  const known = path === "/health" || path === "/ready" || path === "/metrics";
  if (!known) return send(res, req, 404, "text/plain; charset=utf-8", `not found: ${path}; try /health, /ready or /metrics\n`);
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return send(res, req, 405, "text/plain; charset=utf-8", `method ${req.method} not allowed; use GET or HEAD\n`);
  }
  if (path === "/health") return send(res, req, 200, "application/json", `${JSON.stringify({ status: "ok" })}\n`);
  if (path === "/ready") {
    const r = await opts.readiness();
    return send(res, req, r.ready ? 200 : 503, "application/json", `${JSON.stringify({ ready: r.ready, failing: r.checks.filter((c) => !c.ok), checks: r.checks })}\n`);
  }
  const { contentType, body } = await opts.metrics.scrape();
  return send(res, req, 200, contentType, body);
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
  res.end(req.method === "HEAD" ? undefined : body);
}
