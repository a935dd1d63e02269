/** `consensus watch`: runs the daemon until SIGTERM/SIGINT (or, with --once, until nothing is pending). */
import { createLogger } from "../../daemon/logger.js";
import { runDaemon } from "../../daemon/daemon.js";
import { layoutOf } from "../../store/fs/layout.js";
import { ownVersion, rootOf, type GlobalOptions } from "../context.js";
import { storeOf } from "../store-of.js";

export interface WatchOptions {
  once?: boolean;
  poll?: boolean;
  logLevel: string;
  pretty?: boolean;
  /** Serve /health, /ready and /metrics on this port (0: any free one); off when undefined. */
  metricsPort?: number;
  metricsHost?: string;
  /** Serve MCP over Streamable HTTP on this port (0: any free one); off when undefined. */
  mcpPort?: number;
  mcpHost?: string;
}

export async function watchCommand(g: GlobalOptions, o: WatchOptions): Promise<number> {
  const log = createLogger({ level: o.logLevel, ...(o.pretty ? { pretty: true } : {}) });
  const root = rootOf(g);
  // The endpoint is bound before the daemon takes the lock: a port in use ends the start here.
  const ops = o.metricsPort === undefined ? undefined : await startOps(root, o, o.metricsPort, (err) => log.warn({ err }, "metrics endpoint: a connection failed; still serving"));
  if (ops) log.info({ host: ops.server.host, port: ops.server.port, url: ops.server.url }, "metrics listening");
  const pgStore = storeOf(g);
  const mcp = o.mcpPort === undefined ? undefined : await (await import("../../transports/mcp/http.js")).startMcpHttp({ root, ...(pgStore.kind === "pg" ? { store: pgStore.url } : {}), host: o.mcpHost ?? "127.0.0.1", port: o.mcpPort, waitMs: 30_000 }).catch(async (e: unknown) => {
    await ops?.server.close();
    throw e;
  });
  if (mcp) log.info({ host: mcp.host, port: mcp.port, url: mcp.url }, "mcp listening");
  let signalled: () => void = () => {};
  const stop = new Promise<void>((resolve) => (signalled = resolve));
  let stopping = false;
  const onSignal = (sig: string) => {
    if (stopping) return;
    stopping = true;
    ops?.monitor.stop();
    log.info({ signal: sig }, "stopping: finishing the batch in hand");
    signalled();
  };
  // process.on, not once: proper-lockfile's signal-exit re-raises a signal that it finds no other
  // listener for, and a once-listener is gone by the time it looks (the daemon died by SIGTERM, 143).
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  const target = pgStore;
  // a database store: one of several daemons, fed by input rows (src/daemon/rows-daemon.ts)
  const run = target.kind === "pg" ? (o: Parameters<typeof runDaemon>[0]) => import("../../daemon/rows-daemon.js").then((m) => m.runRowsDaemon({ ...o, store: target.url })) : runDaemon;
  try {
    return await run({
      root,
      once: !!o.once,
      poll: !!o.poll,
      log,
      stop,
      ...(ops ? { observer: ops.monitor, holderInfo: { metrics: ops.server.url } } : {}),
      ...(mcp ? { onEntries: (entries) => mcp.committed(entries) } : {}),
    });
  } finally {
    await mcp?.close();
    ops?.monitor.stop();
    await ops?.server.close();
  }
}

/** Loaded only when asked for: prom-client stays off the path of a plain `watch`. */
async function startOps(root: string, o: WatchOptions, port: number, onError: (err: Error) => void) {
  const [{ ConsensusMetrics }, { Monitor }, { startOpsServer }] = await Promise.all([import("../../ops/metrics.js"), import("../../ops/monitor.js"), import("../../ops/http.js")]);
  const metrics = new ConsensusMetrics({ version: ownVersion() });
  const monitor = new Monitor(metrics, { logFile: layoutOf(root).record, once: !!o.once });
  const server = await startOpsServer({ host: o.metricsHost ?? "127.0.0.1", port, metrics, readiness: () => monitor.readiness(), onError });
  return { monitor, server };
}

