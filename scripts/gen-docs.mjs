#!/usr/bin/env node
// Writes the command table of README.md and docs/PROTOCOL.md from the CLI's own command table
// (src/cli/commands.ts, built into dist/), between the markers below. `--check` exits 1 when a file
// differs from what the table gives (test/docs/commands.test.ts checks the same from the sources).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const BEGIN = "<!-- commands: generated from src/cli/commands.ts by `npm run gen:docs`; edit there -->";
export const END = "<!-- /commands -->";
export const FILES = ["README.md", "docs/PROTOCOL.md"];

/** `text` with the block between the markers replaced by `table`; undefined when the markers are missing. */
export function withTable(text, table) {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END, a);
  if (a < 0 || b < 0) return undefined;
  return `${text.slice(0, a + BEGIN.length)}\n${table}\n${text.slice(b)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { commandsMarkdown } = await import(join(root, "dist", "cli", "main.js"));
  const table = commandsMarkdown();
  let stale = 0;
  for (const f of FILES) {
    const path = join(root, f);
    const text = readFileSync(path, "utf8");
    const next = withTable(text, table);
    if (next === undefined) {
      console.error(`${f}: no ${BEGIN} … ${END} block`);
      process.exit(1);
    }
    if (next === text) continue;
    stale++;
    if (process.argv.includes("--check")) console.error(`${f}: its command table differs from src/cli/commands.ts; run npm run gen:docs`);
    else writeFileSync(path, next);
  }
  process.exit(process.argv.includes("--check") && stale ? 1 : 0);
}
