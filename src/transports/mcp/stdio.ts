/**
 * `consensus mcp`: one role's MCP server over stdio, for an agent that launches it as a subprocess.
 * When the client goes away (stdin ends, SIGTERM, SIGINT) every wait for a verdict ends at once, but a
 * call that is placing an input or deciding it (no daemon) finishes first: nothing is left half-done.
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { McpContext } from "./bus.js";
import { createMcpServer } from "./server.js";

export async function serveStdio(ctx: Omit<McpContext, "signal">): Promise<number> {
  const stop = new AbortController();
  const { server, idle, close } = createMcpServer({ ...ctx, signal: stop.signal });
  const ended = new Promise<void>((resolve) => {
    const end = () => {
      stop.abort();
      resolve();
    };
    process.stdin.once("end", end);
    process.stdin.once("close", end);
    // on, not once: a second signal while a placement finishes must not kill the process with its default action
    process.on("SIGTERM", end);
    process.on("SIGINT", end);
  });
  // A client that left mid-call cannot read the answer; writing it must not crash the process.
  process.stdout.on("error", () => {});
  await server.connect(new StdioServerTransport());
  await ended;
  await idle();
  await close();
  return 0;
}
