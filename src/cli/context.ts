/** What every command needs: the root (--root, CONSENSUS_ROOT, or ./consensus) and who runs it. */
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { resolve } from "node:path";

export interface GlobalOptions {
  root?: string;
  /** --store: a folder or postgres://… (see store-of.ts). */
  store?: string;
}

export function rootOf(opts: GlobalOptions): string {
  return resolve(opts.root ?? process.env.CONSENSUS_ROOT ?? "consensus");
}

export function whoAmI(): string {
  try {
    return process.env.CONSENSUS_USER ?? userInfo().username;
  } catch {
    return "unknown";
  }
}

/** This package's version (package.json), or "unknown" when it cannot be read. */
export function ownVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}
