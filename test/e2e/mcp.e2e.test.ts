import { afterEach, describe, expect, it } from "vitest";
import { Bus, artifact } from "../support/bus.js";
import { Agent } from "../support/mcp.js";

let bus: Bus;
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  bus?.cleanup();
});
const agent = async (role: string): Promise<Agent> => {
  const a = await Agent.stdio(bus, role);
  agents.push(a);
  return a;
};

describe("consensus mcp (stdio)", () => {
  it("lists its tools with input schemas a model can follow", async () => {
    bus = Bus.init();
    const dev = await agent("developer");
    const { tools } = await dev.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["inbox", "log", "send_message", "status", "submit_artifact", "task", "validate"]);
    const submit = tools.find((t) => t.name === "submit_artifact")!;
    expect(submit.inputSchema).toMatchObject({ type: "object", required: ["epic_id", "file", "content"], additionalProperties: false, properties: { epic_id: { type: "string", pattern: expect.any(String) }, file: { type: "string" }, content: { type: ["string", "object"] } } });
    const send = tools.find((t) => t.name === "send_message")!;
    expect(send.inputSchema).toMatchObject({ required: ["epic_id", "type"], properties: { type: { enum: ["approve", "veto", "request", "response", "info"] }, content: { properties: { violation: { type: "string" }, specifics: { type: "string" }, blocking: { type: "boolean" } } } } });
    for (const t of tools) expect(t.description, t.name).toBeTruthy();
  });
});
