/**
 * Which store a command works on: `--store` or CONSENSUS_STORE (not DATABASE_URL, which other tools
 * own), a folder (the default: the root) or postgres://…. With a database the root folder is still
 * this host's own: where consensus.yaml seeds the rules, agents run and a bridge mirrors.
 */
import { resolve } from "node:path";
import { ConsensusError, issue } from "../errors/issue.js";
import { isPgUrl, redact } from "../store/pg/connect.js";
import { rootOf, type GlobalOptions } from "./context.js";

export type StoreTarget = { kind: "folder"; root: string } | { kind: "pg"; url: string; root: string };

export function storeOf(g: GlobalOptions): StoreTarget {
  const raw = g.store ?? process.env.CONSENSUS_STORE;
  if (raw === undefined || raw === "") return { kind: "folder", root: rootOf(g) };
  if (isPgUrl(raw)) return { kind: "pg", url: raw, root: rootOf(g) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) throw new ConsensusError(issue("STORE_URL_INVALID", { message: `--store ${redact(raw)}: only folders and postgres:// URLs are stores`, found: redact(raw) }), 2);
  return { kind: "folder", root: resolve(raw) };
}

/** The PostgreSQL store's URL, or undefined for a folder (needs no bus: doctor and validate run without one). */
export const pgUrlOf = (g: GlobalOptions): string | undefined => {
  const raw = g.store ?? process.env.CONSENSUS_STORE;
  return raw !== undefined && isPgUrl(raw) ? raw : undefined;
};
