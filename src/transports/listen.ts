/**
 * Binding an HTTP server of ours (the operations endpoint, the MCP endpoint) to host:port, with the
 * errors a person can act on: the port in use, or an address this machine does not have.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Code } from "../errors/codes.js";
import { ConsensusError, issue } from "../errors/issue.js";

export interface Bound {
  host: string;
  port: number;
  /** http://host:port, with an IPv6 host in brackets. */
  url: string;
  close(): Promise<void>;
}

/**
 * Listens; a failure is a ConsensusError with `codes.inUse` (EADDRINUSE) or `codes.failed`, naming `what`.
 * Errors after that (a failed accept: EMFILE) go to `onLaterError`, never crash the process.
 */
export async function listenOn(server: Server, host: string, port: number, what: string, codes: { inUse: Code; failed: Code }, onLaterError?: (err: Error) => void): Promise<Bound> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      reject(
        err.code === "EADDRINUSE"
          ? new ConsensusError(issue(codes.inUse, { message: `cannot serve ${what} on ${where}: the port is in use by another process`, expected: "a free port", found: where }))
          : new ConsensusError(issue(codes.failed, { message: `cannot serve ${what} on ${where}: ${err.code ?? ""} ${err.message}`.trim(), expected: "an address of this machine and a port this user may bind", found: where })),
      );
    };
    server.once("error", onError);
    server.listen({ host, port }, () => {
      server.off("error", onError);
      server.on("error", (err) => onLaterError?.(err));
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostInUrl = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    host: addr.address,
    port: addr.port,
    url: `http://${hostInUrl}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
