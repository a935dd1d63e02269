/** The bus's JSON Schemas as the MCP server hands them out (schema://<kind>, the task tool): the files in schemas/, read once. */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** schemas/ of this package (dist/transports/mcp → the package root). */
const schemaDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "schemas");

/** The kinds with a schema file (common, the shared definitions, excluded). */
function knownKinds(): string[] {
  return readdirSync(schemaDir)
    .filter((n) => n.endsWith(".schema.json") && n !== "common.schema.json")
    .map((n) => n.slice(0, -".schema.json".length))
    .sort();
}

const cache = new Map<string, Record<string, unknown>>();

/** Every kind with a schema, common (the shared definitions the others $ref) included. */
export const schemaKinds = (): string[] => [...knownKinds(), "common"];

/** The parsed schema of a kind, or undefined when there is none. */
export function schemaOf(kind: string): Record<string, unknown> | undefined {
  if (!schemaKinds().includes(kind)) return undefined;
  let s = cache.get(kind);
  if (!s) {
    s = JSON.parse(readFileSync(join(schemaDir, `${kind}.schema.json`), "utf8")) as Record<string, unknown>;
    cache.set(kind, s);
  }
  return s;
}
