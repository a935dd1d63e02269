/**
 * A TCP proxy in front of a real PostgreSQL server, for faults a server cannot be asked to make at
 * an exact moment: it forwards bytes both ways, and on request ends every connection it carries, or
 * resets (RST: the client reads ECONNRESET) the next connection whose client sends a given text, at
 * the instant it sends it. The server and the protocol are untouched; only the wire is cut.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export interface TcpProxy {
  /** `url` with its host and port replaced by the proxy's. */
  url: string;
  /** Connections reset by resetOn() so far. */
  readonly resets: number;
  /** Ends every connection now (the client sees the server close it). */
  dropAll(): void;
  /** The next connection whose client sends `marker` is reset instead of forwarding it (once). */
  resetOn(marker: string): void;
  close(): Promise<void>;
}

/** Starts a proxy on a free port of 127.0.0.1 to the server `url` names. */
export async function startProxy(url: string): Promise<TcpProxy> {
  const target = new URL(url);
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let marker: Buffer | undefined;
  let resets = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    upstream.on("data", (b: Buffer) => client.write(b));
    client.on("data", (b: Buffer) => {
      if (marker && b.includes(marker)) {
        marker = undefined;
        resets++;
        pairs.delete(pair);
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      upstream.write(b);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const proxied = new URL(url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(typeof address === "object" && address ? address.port : 0);
  return {
    url: proxied.toString(),
    get resets() {
      return resets;
    },
    dropAll: () => {
      for (const p of [...pairs]) {
        pairs.delete(p);
        p.client.end();
        p.upstream.destroy();
      }
    },
    resetOn: (m) => {
      marker = Buffer.from(m);
    },
    close: async () => {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
