/**
 * What every command needs: the bus it works on, who runs it, and which consensus this is. The bus is
 * found the way git finds `.git`: `--root DIR`, else `$CONSENSUS_ROOT`, else the nearest folder from
 * the current one upwards that is a bus or holds one named `consensus/`.
 */
import { lstatSync, readFileSync } from "node:fs";
import { currentUser } from "../trust/os-identity.js";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConsensusError, issue } from "../errors/issue.js";

export interface GlobalOptions {
  root?: string;
  /** --store: a folder or postgres://… (see store-of.ts). */
  store?: string;
}

/**
 * A bus root: a folder with a consensus.yaml (`consensus init` writes one). Judged by the name, not
 * followed (lstat): one an agent swapped for a FIFO or a link still marks the bus, so commands that
 * decide by the rules in force go on and the ones that read the file say what it is (config-file.ts).
 */
export function isBusRoot(dir: string): boolean {
  const st = lstatSync(join(dir, "consensus.yaml"), { throwIfNoEntry: false });
  return st !== undefined && !st.isDirectory();
}

/**
 * The nearest bus from `from` upwards: at each folder, the folder itself when it is a bus (you are
 * inside one), else its `consensus/` child when that is (you are in the project). Undefined when
 * neither is found up to the file system's root.
 */
export function findBus(from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (isBusRoot(dir)) return dir;
    if (isBusRoot(join(dir, "consensus"))) return join(dir, "consensus");
    if (dirname(dir) === dir) return undefined;
  }
}

/** The root a command names explicitly (--root, then CONSENSUS_ROOT), resolved; undefined when neither is given. */
export function explicitRoot(opts: GlobalOptions): string | undefined {
  const given = opts.root ?? (process.env.CONSENSUS_ROOT || undefined);
  return given === undefined ? undefined : resolve(given);
}

/**
 * The bus this command works on: the explicit root, else the search above. ConsensusError NOT_A_BUS
 * (exit 2) when the explicit root is not a bus, or when the search finds none (naming where it looked).
 */
export function rootOf(opts: GlobalOptions): string {
  const explicit = explicitRoot(opts);
  if (explicit !== undefined) {
    if (isBusRoot(explicit)) return explicit;
    throw new ConsensusError(issue("NOT_A_BUS", { message: `not a consensus bus: ${explicit} has no consensus.yaml` }));
  }
  const found = findBus(process.cwd());
  if (found !== undefined) return found;
  throw new ConsensusError(issue("NOT_A_BUS", { message: `not a consensus bus (looked in ${process.cwd()} and above)` }));
}

/** Where a new bus goes (`consensus init`): the explicit root, else ./consensus; never searched for. */
export const newRootOf = (opts: GlobalOptions): string => explicitRoot(opts) ?? resolve("consensus");

/** The bus if there is one, else where `init` would make it (doctor reports on it either way). */
export function rootOrDefault(opts: GlobalOptions): string {
  return explicitRoot(opts) ?? findBus(process.cwd()) ?? resolve("consensus");
}

/**
 * The OS user running this command (from the process's uid, never from the environment): what a
 * person's command is recorded under. `uid:N` when the uid has no passwd entry.
 */
export function whoAmI(): string {
  return currentUser();
}

/** The name a person gives (--as, else CONSENSUS_USER): recorded beside the OS user, never instead; undefined when it adds nothing. */
export function personAs(flag?: string): string | undefined {
  const as = (flag ?? process.env.CONSENSUS_USER)?.trim();
  if (!as || as === whoAmI()) return undefined;
  return as.slice(0, 64);
}

/** The package's own folder (bin, dist, schemas, agents, docs, presets live under it). */
export const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

let version: string | undefined;
/** This package's version (package.json), "unknown" if it cannot be read. */
export function ownVersion(): string {
  if (version === undefined) {
    try {
      version = (JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string }).version;
    } catch {
      version = "unknown";
    }
  }
  return version;
}
