/**
 * Issue 15 over MCP: a session started with the agent's launch token (CONSENSUS_TOKEN for stdio, an
 * Authorization bearer over HTTP) signs what it places, and the daemon records the role as proven; a
 * session without one is unverified, and refused where security.require_proof asks for proof. The real
 * daemon, the real SDK client.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { artifact, Bus, repo } from "../support/bus.js";
import { tokenFor } from "../support/launch-token.js";
import { Agent, mcpUrl } from "../support/mcp.js";

let bus: Bus | undefined;
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  await bus?.stopDaemon();
  bus?.cleanup();
  bus = undefined; // a test that fails before its Bus.init() must not stop and clean the last test's bus again
});


describe("authority over MCP", () => {
  it("stdio: with the launch token the role is proven; without it the input is refused where proof is required", async () => {
    const b = (bus = Bus.init());
    writeFileSync(join(b.root, "consensus.yaml"), `${readFileSync(join(b.root, "consensus.yaml"), "utf8")}\nsecurity:\n  require_proof: [planner]\n`);
    b.applyConfig();
    expect(b.cli("start", "EP-001", "--title", "Signed").code).toBe(0);
    b.startDaemon();
    const bare = await Agent.stdio(b, "planner");
    agents.push(bare);
    const refused = await bare.call("submit_artifact", { epic_id: "EP-001", file: "plan.json", content: artifact("plan.json", "EP-001", 1) });
    expect(refused.isError).toBe(true);
    expect(refused.data.issues).toEqual([expect.objectContaining({ code: "PROOF_REQUIRED" })]);
    b.env = { CONSENSUS_TOKEN: await tokenFor(b, "planner", "EP-001") };
    const signed = await Agent.stdio(b, "planner");
    agents.push(signed);
    expect((await signed.call("submit_artifact", { epic_id: "EP-001", file: "plan.json", content: artifact("plan.json", "EP-001", 1) })).data).toMatchObject({ verdict: "accepted", epic: { stage: "implementation" } });
    // the verdict comes from the log of record; the readable copy follows it
    const accepted = (await b.waitForDecision("artifact_accepted")).find((e) => e.decision === "artifact_accepted")!;
    expect(accepted.details).toMatchObject({ transport: "mcp", proof: { by: "token", role: "planner", epic_id: "EP-001", iteration: 1 } });
  });

  it("HTTP: a session opened with the agent's launch token signs what it places; another role's token is refused", async () => {
    const b = (bus = Bus.init());
    expect(b.cli("start", "EP-001", "--title", "Over HTTP").code).toBe(0);
    b.startDaemon("--log-level", "info", "--mcp-port", "0");
    const url = await mcpUrl(b);
    await expect(Agent.http(url, "planner", { Authorization: `Bearer ${await tokenFor(b, "developer", "EP-001")}` })).rejects.toThrow(/ROLE_MISMATCH/);
    const planner = await Agent.http(url, "planner", { Authorization: `Bearer ${await tokenFor(b, "planner", "EP-001")}` });
    agents.push(planner);
    expect((await planner.call("submit_artifact", { epic_id: "EP-001", file: "plan.json", content: artifact("plan.json", "EP-001", 1) })).data).toMatchObject({ verdict: "accepted" });
    expect((await b.waitForDecision("artifact_accepted")).find((e) => e.decision === "artifact_accepted")!.details).toMatchObject({ proof: { by: "token", role: "planner" } });
    expect(b.daemonErr).not.toMatch(/ct1\./);
  });
});
