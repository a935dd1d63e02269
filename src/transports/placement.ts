/**
 * Placing an input on the bus for a transport other than a plain file drop (the MCP server now; a
 * signed `consensus submit` later). Files stay the contract: the input is the same file in the same
 * drop zone a file-writing agent would write. Beside it goes a claim — which transport placed it and
 * for which role — that the daemon reads when it prepares the file, so the log records the transport.
 *
 * Order: the claim first, then the file, each written whole under a temporary name and renamed (the
 * bus's own rule, PROTOCOL §3). The file's rename is the commit point: a process killed before it
 * leaves at most a claim nobody refers to (and dot-named temporaries the bus never reads); after it,
 * a complete input. Nothing half-written can land.
 *
 * The claim is what its writer says, not yet proven: a role is claimed, not authenticated. Proof
 * (a per-launch credential's signature) belongs in claimFor() and checkClaim(), and nowhere else.
 */
import { createHash } from "node:crypto";
import { mkdir, realpath, rm } from "node:fs/promises";
import { basename, dirname, join, sep } from "node:path";
import { ConsensusError, issue } from "../errors/issue.js";
import { ROLE } from "../config/names.js";
import type { Transport } from "../machine/decide.js";
import { writeAtomic } from "../store/fs/atomic-write.js";
import { readCandidate } from "./files/read-input.js";

/** schema of `<folder>/.placed/<name>.<sha256>.json`; version 1. */
export interface Claim {
  version: 1;
  /** The placed file, relative to the root (artifacts/EP-001/plan.json). */
  file: string;
  sha256: string;
  transport: Exclude<Transport, "files">;
  /** The role the placing session speaks for (claimed, not proven). */
  role: string;
  placed_at: string;
}

/** Claims are tiny; anything larger is not one. */
const CLAIM_MAX_BYTES = 4096;

const sha256Of = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** Where the claim for a file's content lives: a dot-folder beside it, so no watcher reads it as an input. */
export function claimPathOf(rel: string, sha256: string): string {
  const cut = rel.lastIndexOf("/");
  return `${rel.slice(0, cut)}/.placed/${rel.slice(cut + 1)}.${sha256}.json`;
}

/** The claim a placement writes; the one place a signature will be added. */
function claimFor(rel: string, sha256: string, by: { transport: Claim["transport"]; role: string }, now: Date): Claim {
  return { version: 1, file: rel, sha256, transport: by.transport, role: by.role, placed_at: now.toISOString() };
}

/**
 * Writes the claim, then the file (`rel` under `root`, a path classifyPath accepts as an artifact or a
 * message); returns the file's SHA-256, which names the input in the log.
 */
export async function place(root: string, rel: string, bytes: Uint8Array, by: { transport: Claim["transport"]; role: string }, now = new Date()): Promise<{ sha256: string }> {
  const sha256 = sha256Of(bytes);
  const claimRel = claimPathOf(rel, sha256);
  const claimDir = await folderInside(root, dirname(claimRel));
  const fileDir = await folderInside(root, dirname(rel));
  await writeAtomic(join(claimDir, basename(claimRel)), `${JSON.stringify(claimFor(rel, sha256, by, now))}\n`);
  await writeAtomic(join(fileDir, basename(rel)), bytes);
  return { sha256 };
}

/**
 * The folder `relDir` (relative to `root`), made if missing, as its real path, which must be inside
 * the root: a writer for someone else (the MCP server, inside the daemon over HTTP; a person's
 * command) never writes through a link an agent planted that leads out of it. Throws
 * ConsensusError(SYMLINK_OUTSIDE) naming where the link leads.
 */
export async function folderInside(root: string, relDir: string): Promise<string> {
  const realRoot = await realpath(root);
  let real = realRoot;
  // one level at a time, each checked before anything is made inside it
  for (const part of relDir.split("/").filter((p) => p !== "" && p !== ".")) {
    const next = join(real, part);
    await mkdir(next).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") throw e;
    });
    real = await realpath(next);
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw new ConsensusError(issue("SYMLINK_OUTSIDE", { message: `${relDir} resolves outside the root (to ${real}); nothing was written`, file: relDir, found: real, expected: `a folder inside ${realRoot}`, fix: `Remove the link on the way to ${relDir} (an agent's, or a mistake): the bus's folders are real folders inside the root.` }));
    }
  }
  return real;
}

/**
 * The claim for this file's content, if there is a well-formed one; anything else (absent, too large, a
 * link out of the root, not JSON, another file's or another content's) counts as no claim, and the
 * input is a plain file drop. Read as hostile: an agent can write there too.
 */
export async function readClaim(root: string, realRoot: string, rel: string, sha256: string): Promise<Claim | undefined> {
  const r = await readCandidate(root, realRoot, claimPathOf(rel, sha256), CLAIM_MAX_BYTES);
  if (!r.ok) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(r.bytes).toString("utf8"));
  } catch {
    return undefined;
  }
  return checkClaim(v, rel, sha256);
}

/** Pure: a parsed claim → the Claim, if it is one for this file and content. */
export function checkClaim(v: unknown, rel: string, sha256: string): Claim | undefined {
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  const c = v as Record<string, unknown>;
  if (c.version !== 1 || c.file !== rel || c.sha256 !== sha256) return undefined;
  if (c.transport !== "mcp" && c.transport !== "cli") return undefined;
  if (typeof c.role !== "string" || !ROLE.test(c.role) || typeof c.placed_at !== "string") return undefined;
  return { version: 1, file: rel, sha256, transport: c.transport, role: c.role, placed_at: c.placed_at };
}

/**
 * Once placed inputs are decided (committed, a duplicate, refused), their claims go: the log records
 * the transport now, and a claim left behind would only pile up beside the drop zone. A deferred input
 * keeps its claim until it is decided. Only the claim of the decided content is removed: a claim for a
 * newer placement of the same file (in flight) stays. `root` is the bus; each input's `file` is
 * relative to it. A claim already gone is no error.
 */
export async function releaseClaims(root: string, decided: ReadonlyArray<{ input: { transport?: Transport; file?: string; sha256?: string }; outcome: { status: string } }>): Promise<void> {
  await Promise.all(
    decided.map(async ({ input, outcome }) => {
      if (outcome.status === "deferred" || !input.transport || input.transport === "files" || !input.file || !input.sha256) return;
      await rm(join(root, claimPathOf(input.file, input.sha256)), { force: true });
    }),
  );
}
