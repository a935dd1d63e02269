/**
 * The presets `consensus init --preset NAME` writes: presets/<name>.yaml, shipped with the package.
 * `default` is the four-stage pipeline (plan → implementation → review → deployment); `full` is the
 * six-role one (analyst → architect → tech_lead → developer → quality → devops).
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const presetDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "presets");

/** The preset names, from the files present. */
export function presetNames(): string[] {
  return readdirSync(presetDir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** The text of a preset, or undefined when there is no such preset. */
export function presetText(name: string): string | undefined {
  if (!/^[a-z][a-z0-9_-]*$/.test(name)) return undefined;
  try {
    return readFileSync(join(presetDir, `${name}.yaml`), "utf8");
  } catch {
    return undefined;
  }
}

export const DEFAULT_CONFIG_YAML: string = presetText("default")!;
