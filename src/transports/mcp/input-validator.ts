/**
 * The MCP tools' input schemas, compiled on first use by an ajv of their own (the bus's schemas are
 * compiled at build time; only the MCP server pays for loading ajv's compiler). Errors read like every
 * other validation error: path, expected, found, fix.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import type { Issue } from "../../errors/issue.js";
import { issuesOfErrors } from "../../schemas/registry.js";

let ajv: Ajv2020 | undefined;

/** Validates `value` against an inline schema, compiled once per `$id`. */
export function validateAgainst(schema: { $id: string } & Record<string, unknown>, value: unknown): Issue[] {
  ajv ??= new Ajv2020({ allErrors: true, strict: true, verbose: true, allowUnionTypes: true });
  const v = ajv.getSchema(schema.$id) ?? (ajv.addSchema(schema), ajv.getSchema(schema.$id)!);
  return v(value) ? [] : issuesOfErrors(v.errors);
}
