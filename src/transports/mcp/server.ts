/**
 * The MCP server for one role (one session): the bus as tools an agent calls, with the verdict in the
 * same turn, and as resources it reads (resources.ts). Built with the official SDK (McpServer); the
 * transports (stdio.ts, http.ts) only connect it. Every tool reads the bus afresh and checks its
 * arguments (inputs.ts) before it does anything; every refusal is an isError result with path,
 * expected, found and fix. Nothing here decides: submit_artifact and send_message place files that the
 * engine decides with the same decide() as a dropped file (offer.ts).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { ConsensusError, errorsOf, issue } from "../../errors/issue.js";
import { formatIssuesText } from "../../report/issue-text.js";
import { statusOf } from "../../report/epic-status.js";
import { BusReader, type McpBus, type McpContext, type Snapshot } from "./bus.js";
import { PgBus } from "./pg-bus.js";
import { artifactOf, messageOf, validateDocument } from "./documents.js";
import { inboxOf, noticeKeysOf } from "./inbox.js";
import { keyringOf } from "../prove.js";
import { inputs, type ArtifactArgs, type LogArgs, type MessageArgs, type TaskArgs, type ToolInput, type ValidateArgs } from "./inputs.js";
import { offer } from "./offer.js";
import { registerResources } from "./resources.js";
import { answered, refused } from "./results.js";
import { taskOf } from "./task.js";

export interface ConsensusMcp {
  server: McpServer;
  /** Resolves once no tool call is running (a transport closing waits for this: a placement is never cut short). */
  idle(): Promise<void>;
  /** Closes the server and the bus (a database connection): after idle(). */
  close(): Promise<void>;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const version = (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }).version;

export function createMcpServer(ctx: McpContext): ConsensusMcp {
  const bus: McpBus = ctx.store === undefined ? new BusReader(ctx.root) : new PgBus(ctx.root, ctx.store);
  const running = new Set<Promise<unknown>>();
  const server = new McpServer(
    { name: "consensus", version },
    {
      instructions: `The consensus bus for role ${ctx.role}. Call task first: it says what each epic waits for from you, what to read and what to produce (with JSON Schemas). validate checks a document; submit_artifact and send_message place your work and return the daemon's verdict in the same call. Every refusal says what is wrong, where, and the fix.`,
    },
  );

  /** Checks the arguments, reads the bus, runs the tool; a ConsensusError becomes a refusal. */
  const tool = <T>(name: keyof typeof inputs & string, title: string, description: string, run: (args: T, snap: Snapshot) => Promise<CallToolResult>, readOnly = true) => {
    const input = inputs[name] as unknown as ToolInput<T>;
    server.registerTool(name, { title, description, inputSchema: input.zod, annotations: { readOnlyHint: readOnly, idempotentHint: readOnly, openWorldHint: false } }, async (args) => {
      const checked = input.check(args);
      if (!checked.ok) return refused(checked.issues);
      const call = (async () => {
        try {
          return await run(checked.value, await bus.snapshot());
        } catch (e) {
          if (e instanceof ConsensusError) return refused(e.issues);
          throw e;
        }
      })();
      running.add(call);
      try {
        return await call;
      } finally {
        running.delete(call);
      }
    });
  };

  tool<TaskArgs>("task", "What to do now", `What role ${ctx.role} should do now: per epic waiting for it, the stage, iteration, what to read, what to produce (file names and JSON Schemas), open vetoes with their full content, and the latest rejection with its errors.`, async (a, snap) => answered(await taskOf(ctx.role, bus, snap, a)));

  tool<ValidateArgs>("validate", "Check a document", "Checks a document against its schema and, when it names an epic, against the epic as it stands (stage, iteration, who may send it): every problem at once, each with path, expected, found and fix. Places nothing.", async (a, snap) => {
    const issues = validateDocument(ctx, snap, a);
    const errors = errorsOf(issues).length;
    const data = { valid: errors === 0, errors, warnings: issues.length - errors, issues };
    return { content: [{ type: "text", text: `${errors === 0 ? "valid" : "invalid"}: ${errors} error(s), ${issues.length - errors} warning(s)${issues.length ? `\n${formatIssuesText(issues)}` : ""}` }], structuredContent: data };
  });

  tool<ArtifactArgs>("submit_artifact", "Submit an artifact", `Submits one of ${ctx.role}'s artifacts for an epic: validated first (nothing is placed if it would be rejected), then written atomically to artifacts/<epic_id>/<file>, and the daemon's verdict returned: accepted and where the epic went, or rejected and why.`, async (a, snap) => {
    const built = artifactOf(ctx, snap, a);
    return "refusal" in built ? built.refusal : offer(ctx, bus, snap, built);
  }, false);

  tool<MessageArgs>("send_message", "Send a message", `Sends a message from ${ctx.role}: approve, veto (with its content), request, response or info. Validated and checked against the epic first, placed in the receiver's inbox, and the daemon's verdict returned (a veto that would not count is refused here, with the reason).`, async (a, snap) => {
    const built = messageOf(ctx, snap, a);
    return "refusal" in built ? built.refusal : offer(ctx, bus, snap, built);
  }, false);

  tool<{ epic_id?: string }>("inbox", "Your inbox", `The messages and notices addressed to ${ctx.role}, each marked in_force, resolved, rejected (with its errors), pending, or not_genuine (a notice no log entry produced: ignore it).`, async (a, snap) => {
    // the daemon key where it can be read checks a keyed fallback name, whatever the bus (a migrated notice may keep one)
    const ring = await keyringOf(ctx.root);
    const keys = bus.macs ? noticeKeysOf(ctx.role, ctx.noticeKeys, ring, Date.now()) : undefined;
    const all = await inboxOf(ctx.role, bus, snap, a.epic_id, keys, ring?.keysForFile());
    // only genuine notices are shown; forged ones are counted (never their content)
    const forged = all.items.filter((i) => i.status === "not_genuine");
    return answered({ role: all.role, items: all.items.filter((i) => i.status !== "not_genuine"), forged_skipped: forged.length, ...(forged.length ? { forged: forged.map((f) => ({ file: f.file, reason: f.reason })) } : {}), notices_checked: keys ? "mac" : "log only" });
  });

  tool<{ epic_id?: string }>("status", "Where epics stand", "What `consensus status --json` prints: per epic its stage, status, iteration, the roles it waits for, open vetoes, escalation, spend, deadline.", async (a, snap) => {
    if (a.epic_id !== undefined) {
      const e = snap.view.epics.get(a.epic_id);
      if (!e) return refused([issue("UNKNOWN_EPIC", { message: `epic ${a.epic_id} is not known`, path: "/epic_id", found: a.epic_id, fix: "Call status without epic_id to list the epics." })]);
      return answered({ epics: [statusOf(e, snap.pipeline)] });
    }
    return answered({ epics: [...snap.view.epics.values()].sort((x, y) => x.epic_id.localeCompare(y.epic_id)).map((e) => statusOf(e, snap.pipeline)) });
  });

  tool<LogArgs>("log", "The decision log", "What `consensus log --epic E --json` prints: the decision log's entries (the daemon's and agents' own), filtered, the latest last.", async (a) => {
    const out: unknown[] = [];
    for await (const { entry } of bus.readEntries()) {
      if (!entry || (a.epic_id && entry.epic_id !== a.epic_id) || (a.decision && entry.decision !== a.decision)) continue;
      out.push(entry);
    }
    const limit = a.limit ?? 200;
    return answered({ entries: out.slice(-limit), ...(out.length > limit ? { omitted: out.length - limit } : {}) });
  });

  registerResources(server, ctx, bus, packageRoot);
  return {
    server,
    idle: async () => void (await Promise.allSettled([...running])),
    close: async () => {
      await server.close().catch(() => {});
      await bus.close();
    },
  };
}
