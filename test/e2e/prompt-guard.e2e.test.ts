/**
 * agents/<role>.md lies beside consensus/, in the project folder agents write (docs/security.md: "the
 * project files it is meant to change"). The daemon reads it twice: to serve prompt://<role> over MCP
 * HTTP, and for the agent definitions (at its start; `consensus agents` too). An agent that puts a
 * link there must not get a file only the daemon's user may read, and a FIFO must not block a read.
 */
import { afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Bus } from "../support/bus.js";
import { Agent, mcpUrl } from "../support/mcp.js";

let bus: Bus | undefined;
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  bus?.cleanup();
  bus = undefined;
});

const SECRET = "SECRET-only-the-daemon-user-reads-this-0123456789";

describe("agents/<role>.md is read guarded", () => {
  it("prompt:// over the daemon's MCP HTTP: a link to a secret is refused without its content, a FIFO is refused at once", async () => {
    bus = Bus.init();
    const secret = join(bus.root, ".consensus", "secret.txt");
    writeFileSync(secret, `${SECRET}\n`, { mode: 0o600 });
    rmSync(join(bus.dir, "agents", "planner.md"));
    symlinkSync(secret, join(bus.dir, "agents", "planner.md"));
    rmSync(join(bus.dir, "agents", "developer.md"));
    execFileSync("mkfifo", [join(bus.dir, "agents", "developer.md")]);
    bus.startDaemon("--log-level", "info", "--mcp-port", "0");
    const url = await mcpUrl(bus);
    const planner = await Agent.http(url, "planner");
    const developer = await Agent.http(url, "developer");
    agents.push(planner, developer);
    const linked = await planner.client.readResource({ uri: "prompt://planner" }).then((r) => JSON.stringify(r), (e: unknown) => `refused: ${String(e)}`);
    expect(linked).not.toContain(SECRET);
    expect(linked).toMatch(/^refused: .*symbolic link/);
    const fifo = await developer.client.readResource({ uri: "prompt://developer" }, { timeout: 30_000 }).then((r) => JSON.stringify(r), (e: unknown) => `refused: ${String(e)}`);
    expect(fifo).toMatch(/^refused: .*FIFO/);
    // the daemon still answers (no I/O thread is held by the FIFO)
    expect((await planner.call("status")).isError).toBe(false);
    expect(await bus.stopDaemon()).toBe(0);
  });

  it("consensus agents: a link and a FIFO among the definitions are named with the fix, the link's target never printed", () => {
    bus = Bus.init();
    const secret = join(bus.root, ".consensus", "secret.txt");
    writeFileSync(secret, `${SECRET}\n`, { mode: 0o600 });
    symlinkSync(secret, join(bus.dir, "agents", "linked.md"));
    execFileSync("mkfifo", [join(bus.dir, "agents", "piped.md")]);
    const a = bus.cli("agents", "--format", "json");
    expect(a.code, a.stderr).toBe(1);
    expect(a.stdout).not.toContain(SECRET);
    const issues = (JSON.parse(a.stdout) as { issues: Array<{ code: string; file: string; found: string; fix: string }> }).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: "AGENT_DEFINITION_INVALID", file: join(bus.dir, "agents", "linked.md"), found: "a symbolic link" }),
        expect.objectContaining({ code: "AGENT_DEFINITION_INVALID", file: join(bus.dir, "agents", "piped.md"), found: "a FIFO (named pipe)" }),
      ]),
    );
  });
});
