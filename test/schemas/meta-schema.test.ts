/** Every schema in schemas/ is a valid JSON Schema 2020-12 document (the runtime skips this check to start faster). */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { schemaDir } from "../../src/schemas/read-schemas.js";

describe("schemas/", () => {
  it("each schema validates against the 2020-12 meta-schema and compiles in strict mode", () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, validateFormats: false });
    const files = readdirSync(schemaDir).filter((f) => f.endsWith(".schema.json"));
    expect(files.length).toBeGreaterThan(10);
    const schemas = files.map((f) => JSON.parse(readFileSync(join(schemaDir, f), "utf8")) as { $id: string });
    for (const [i, s] of schemas.entries()) expect(ajv.validateSchema(s), `${files[i]}: ${ajv.errorsText()}`).toBe(true);
    for (const s of schemas) ajv.addSchema(s);
    for (const s of schemas) expect(() => ajv.getSchema(s.$id), s.$id).not.toThrow();
  });
});
