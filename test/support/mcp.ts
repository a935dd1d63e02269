/**
 * The MCP SDK's own client against the real `consensus mcp` process (stdio) or the daemon's Streamable
 * HTTP endpoint: what an agent's MCP host does, nothing mocked.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { cliPath, type Bus } from "./bus.js";

export interface ToolAnswer {
  isError: boolean;
  text: string;
  data: Record<string, unknown>;
}

export class Agent {
  stderr = "";
  private constructor(
    readonly client: Client,
    readonly transport: StdioClientTransport | StreamableHTTPClientTransport,
  ) {}

  /** `consensus mcp --role ROLE` on the bus, as an MCP host launches it. */
  static async stdio(bus: Pick<Bus, "root" | "env">, role: string, args: string[] = []): Promise<Agent> {
    const transport = new StdioClientTransport({ command: process.execPath, args: [cliPath, "mcp", "--role", role, ...args], env: { ...(process.env as Record<string, string>), CONSENSUS_ROOT: bus.root, ...bus.env }, stderr: "pipe" });
    const client = new Client({ name: `test-${role}`, version: "1.0.0" });
    const a = new Agent(client, transport);
    transport.stderr?.on("data", (b: Buffer) => (a.stderr += b.toString()));
    await client.connect(transport);
    return a;
  }

  /** A Streamable HTTP session; `role` goes in the X-Consensus-Role header unless undefined. */
  static async http(url: string, role: string | undefined, headers: Record<string, string> = {}): Promise<Agent> {
    const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { ...(role !== undefined ? { "X-Consensus-Role": role } : {}), ...headers } } });
    const client = new Client({ name: `test-${role}`, version: "1.0.0" });
    await client.connect(transport);
    return new Agent(client, transport);
  }

  async call(name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
    const r = (await this.client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult;
    const text = r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
    return { isError: r.isError === true, text, data: (r.structuredContent ?? {}) as Record<string, unknown> };
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
