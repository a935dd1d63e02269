/**
 * The session's resources: schema://<kind> (every schema in schemas/), prompt://<role> (the role's
 * prompt), archive://<epic>/<iteration>/<file> (each accepted artifact, exactly as accepted).
 */
import { lstatSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ResourceTemplate, type McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { agentsDirOf, readPromptText } from "../../agents/read-definitions.js";
import { GuardedReadError } from "../../store/fs/guarded-read.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { classifyPath } from "../files/classify.js";
import type { McpBus, McpContext } from "./bus.js";
import { schemaKinds, schemaOf } from "./schemas.js";

/** schema://<kind>, the role's prompt, and each epic's accepted artifacts. */
export function registerResources(server: McpServer, ctx: McpContext, bus: McpBus, packageRoot: string): void {
  server.registerResource(
    "schema",
    new ResourceTemplate("schema://{kind}", { list: async () => ({ resources: schemaKinds().map((k) => ({ uri: `schema://${k}`, name: `${k} schema`, mimeType: "application/schema+json" })) }) }),
    { title: "JSON Schemas of the bus", description: "The JSON Schema (2020-12) of each artifact and message kind; common holds the shared definitions the others $ref.", mimeType: "application/schema+json" },
    async (uri, vars) => {
      const s = schemaOf(String(vars.kind));
      if (!s) throw new ConsensusError(issue("NOT_FOUND", { message: `no schema ${uri.href}`, found: String(vars.kind), expected: schemaKinds().join(", ") }));
      return { contents: [{ uri: uri.href, mimeType: "application/schema+json", text: JSON.stringify(s, null, 2) }] };
    },
  );

  server.registerResource("prompt", `prompt://${ctx.role}`, { title: `The ${ctx.role} prompt`, description: `How the ${ctx.role} role works on this bus (agents/${ctx.role}.md).`, mimeType: "text/markdown" }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: "text/markdown", text: await promptText(await promptPath(ctx, bus, packageRoot)) }],
  }));

  server.registerResource(
    "artifact",
    new ResourceTemplate("archive://{epic_id}/{iteration}/{file}", {
      list: async () => {
        const { view } = await bus.snapshot();
        const all = await Promise.all([...view.epics.keys()].sort().map((id) => bus.published(id)));
        return { resources: all.flat().map((p) => ({ uri: `archive://${p.path.slice("archive/".length)}`, name: p.path, mimeType: mimeOf(p.file) })) };
      },
    }),
    { title: "Accepted artifacts", description: "Each epic's accepted artifacts, per iteration, exactly as accepted (archive/<epic>/<iteration>/<file>)." },
    async (uri, vars) => {
      const [id, it, file] = [String(vars.epic_id), String(vars.iteration), String(vars.file)];
      const c = classifyPath(`artifacts/${id}/${file}`);
      const text = c.kind === "artifact" && /^\d+$/.test(it) ? await bus.text(`archive/${id}/${it}/${file}`) : undefined;
      if (text === undefined) throw new ConsensusError(issue("NOT_FOUND", { message: `no accepted artifact at ${uri.href}`, found: uri.href, fix: "List the resources, or call task, for the accepted artifacts." }));
      return { contents: [{ uri: uri.href, mimeType: mimeOf(file), text }] };
    },
  );
}

const mimeOf = (file: string): string => (file.endsWith(".json") ? "application/json" : file.endsWith(".md") ? "text/markdown" : "application/yaml");

/** The role's prompt: consensus.yaml's agents.<role>.prompt, else agents/<role>.md beside the bus, else the packaged one. */
async function promptPath(ctx: McpContext, bus: McpBus, packageRoot: string): Promise<string> {
  const { pipeline } = await bus.snapshot();
  const configured = pipeline.agents.get(ctx.role)?.prompt;
  const candidates = [configured ? join(dirname(resolve(ctx.root)), configured) : undefined, join(agentsDirOf(ctx.root), `${ctx.role}.md`), join(packageRoot, "agents", `${ctx.role}.md`)];
  // lstat: a link at a candidate's name is found (and refused by promptText), never followed
  const found = candidates.find((p): p is string => p !== undefined && lstatSync(p, { throwIfNoEntry: false }) !== undefined);
  if (!found) throw new ConsensusError(issue("NOT_FOUND", { message: `no prompt for role ${ctx.role}`, found: candidates.filter(Boolean).join(", "), fix: `Write agents/${ctx.role}.md beside the consensus/ folder.` }));
  return found;
}

/**
 * The prompt's text, read guarded (agents/read-definitions.ts readPromptText): the daemon serves this
 * over HTTP, and agents/ beside consensus/ is the project's, which agents write; a link there would
 * hand them a file only the daemon's user may read, a FIFO would block one of its I/O threads for good.
 */
async function promptText(file: string): Promise<string> {
  try {
    return await readPromptText(file);
  } catch (e) {
    if (!(e instanceof GuardedReadError)) throw e;
    throw new ConsensusError(issue(e.kind === "too_large" ? "FILE_TOO_LARGE" : e.kind === "symlink" ? "UNSAFE_PATH" : "NOT_REGULAR_FILE", { message: `the prompt ${file} is ${e.found}: not read`, file, found: e.found, expected: "a regular file", fix: e.fix }));
  }
}
