/** schemas/*.schema.json as documents, by their $id (the shell side of `validate --strict`). */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's schemas/ folder. */
export const schemaDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "schemas");

export function readSchemaDocuments(): Map<string, unknown> {
  return new Map(
    readdirSync(schemaDir)
      .filter((n) => n.endsWith(".schema.json"))
      .map((n) => {
        const doc = JSON.parse(readFileSync(join(schemaDir, n), "utf8")) as { $id: string };
        return [doc.$id, doc] as const;
      }),
  );
}
