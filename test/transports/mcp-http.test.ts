/**
 * The Streamable HTTP endpoint in-process (the daemon serves it the same way): real files, a real
 * socket, the SDK's own client. What the e2e tests cannot wait for: an abandoned session is closed.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startMcpHttp, type McpHttpServer } from "../../src/transports/mcp/http.js";
import { Bus } from "../support/bus.js";
import { Agent } from "../support/mcp.js";

let bus: Bus | undefined;
let server: McpHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  bus?.cleanup();
});

describe("MCP over Streamable HTTP", () => {
  it("closes a session its client abandoned once it has been idle; a later request on it is refused", async () => {
    bus = Bus.init();
    server = await startMcpHttp({ root: bus.root, host: "127.0.0.1", port: 0, waitMs: 1000, sessionIdleMs: 3000 });
    const a = await Agent.http(server.url, "planner");
    expect((await a.call("status")).data).toEqual({ epics: [] });
    expect(server.sessionCount()).toBe(1);
    await bus.until("the idle session closed", () => server!.sessionCount() === 0, 60_000);
    await expect(a.call("status")).rejects.toThrow(/404|no session/i);
  }, 120_000);

  it("refuses a port in use with the fix", async () => {
    bus = Bus.init();
    server = await startMcpHttp({ root: bus.root, host: "127.0.0.1", port: 0, waitMs: 1000 });
    await expect(startMcpHttp({ root: bus.root, host: "127.0.0.1", port: server.port, waitMs: 1000 })).rejects.toMatchObject({ issues: [expect.objectContaining({ code: "MCP_PORT_IN_USE", fix: expect.stringContaining("--mcp-port") })] });
  });
});
