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
 * The claim alone is what its writer says: a role claimed. What proves it rides in the claim — a launch
 * token's signature (trust/token.ts), or a person's MAC with the daemon key — and is checked by the
 * prover (prove.ts) when the daemon reads the file.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, realpath, unlink } from "node:fs/promises";
import { basename, dirname, join, relative, sep } from "node:path";
import { ConsensusError, issue } from "../errors/issue.js";
import { ROLE } from "../config/names.js";
import type { Transport } from "../machine/decide.js";
import { CLAIM_FOLDER, claimFolderIn, nameTaken, refusedAtName, withdrawClaim, writeAtName } from "./place-names.js";
import { assertRealDirs, joinFast, lstatQuiet } from "../store/fs/safe-dirs.js";
import { readCandidate } from "./files/read-input.js";
import { signPlacement, type PlacementSignature } from "../trust/token.js";
import type { Keyring } from "../trust/keyring.js";

/** schema of the claim at claimPathOf (`<folder>/.placed/<hex>.json`); version 1. */
export interface Claim {
  version: 1;
  /** The placed file, relative to the root (artifacts/EP-001/plan.json). */
  file: string;
  sha256: string;
  transport: Exclude<Transport, "files">;
  /** The role the placing session speaks for (claimed, not proven). */
  role: string;
  placed_at: string;
  /** A launch token's signature over the file (trust/token.ts): the role proven, not claimed. */
  signature?: PlacementSignature;
  /** A person's command: their name (--as) and the daemon key's MAC over the claim (purpose "request"). */
  person?: { as?: string; mac: string };
}

/** Who places a file: the transport, the role claimed, and what proves it (a launch token, or a person holding the daemon key). */
export interface PlacedBy {
  transport: Claim["transport"];
  role: string;
  /** CONSENSUS_TOKEN of the agent's launch: the claim carries a signature made with it, never the token. */
  token?: string;
  /** A person's command: signed with the daemon key when this process can read it. */
  person?: { as?: string; keyring: Keyring };
}

/** Claims are tiny; anything larger is not one. */
const CLAIM_MAX_BYTES = 4096;

const sha256Of = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/**
 * Where the claim for a file's content lives: a dot-folder beside it (no watcher reads it as an input),
 * under `<hex>.json`, the hex the SHA-256 of `<rel>\0<sha256>`: the daemon derives it from the file it
 * reads, but an agent watching the folder learns nothing from it, in particular not the name of the
 * file about to land (a message's random name), which it could otherwise make first. One name per
 * path and content.
 */
export function claimPathOf(rel: string, sha256: string): string {
  const cut = rel.lastIndexOf("/");
  return `${rel.slice(0, cut)}/.placed/${createHash("sha256").update(`${rel}\0${sha256}`).digest("hex")}.json`;
}

/** The text a person's claim MAC covers: the claim without the MAC. */
export const personSigned = (c: Omit<Claim, "person" | "signature">, as: string | undefined): string => JSON.stringify([c.version, c.file, c.sha256, c.transport, c.role, c.placed_at, as ?? null]);

/** The claim a placement writes, signed with the launch token or the person's daemon key where there is one. */
function claimFor(rel: string, sha256: string, by: PlacedBy, now: Date): Claim {
  const c: Claim = { version: 1, file: rel, sha256, transport: by.transport, role: by.role, placed_at: now.toISOString() };
  if (by.token) {
    const sig = signPlacement(by.token, rel, sha256, randomBytes(18).toString("base64url"));
    if (sig) c.signature = sig;
  } else if (by.person) {
    c.person = { ...(by.person.as ? { as: by.person.as } : {}), mac: by.person.keyring.mac("request", personSigned(c, by.person.as)) };
  }
  return c;
}

/**
 * Writes the claim, then the file (`rel` under `root`, a path classifyPath accepts as an artifact or a
 * message); returns the file's SHA-256, which names the input in the log.
 */
export async function place(root: string, rel: string, bytes: Uint8Array, by: PlacedBy, now = new Date()): Promise<{ sha256: string }> {
  const sha256 = await placeClaim(root, rel, bytes, by, now);
  const fileDir = await folderInside(root, dirname(rel));
  try {
    // the folder checked again just before the rename: one swapped for a link since is refused
    // a temporary whose name says nothing of the file's: its name is known only once it is there
    await writeAtName(join(fileDir, basename(rel)), rel, "the file", bytes, await realpath(root), { hideName: true });
  } catch (e) {
    // the file is not placed: its claim goes too (it would name content nobody refers to)
    await withdrawClaim(join(fileDir, CLAIM_FOLDER, basename(claimPathOf(rel, sha256))));
    throw e;
  }
  return { sha256 };
}

/**
 * Writes only the claim for `bytes` at `rel` (the caller writes the file after it); returns their
 * SHA-256. Throws ConsensusError(NAME_TAKEN) when the claim's folder or name is held by another user's
 * entry (place-names.ts), SYMLINK_OUTSIDE when the file's folder leads out of the root.
 */
export async function placeClaim(root: string, rel: string, bytes: Uint8Array | string, by: PlacedBy, now = new Date()): Promise<string> {
  const sha256 = sha256Of(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  const claimRel = claimPathOf(rel, sha256);
  // the file's folder (links inside the root allowed, as for the file; one out of it refused); .placed in
  // it then a real folder of a trusted owner, never a link, made by claimFolderIn (0755: folderInside's
  // mkdir would make it 0777 before the umask, group-writable under 0002). A link at .placed is walked
  // first only to say SYMLINK_OUTSIDE with where it leads when it leads out of the root.
  const fileDir = await folderInside(root, dirname(rel));
  if (lstatQuiet(join(fileDir, CLAIM_FOLDER))?.isSymbolicLink()) await folderInside(root, dirname(claimRel));
  const claimDir = claimFolderIn(root, fileDir, dirname(rel));
  await writeAtName(join(claimDir, basename(claimRel)), claimRel, "the claim", `${JSON.stringify(claimFor(rel, sha256, by, now))}\n`, await realpath(root), { hideName: true });
  return sha256;
}

/**
 * The folder `relDir` (relative to `root`), made if missing, as its real path, which must be inside
 * the root: a writer for someone else (the MCP server, inside the daemon over HTTP; a person's
 * command) never writes through a link an agent planted that leads out of it. Throws
 * ConsensusError(SYMLINK_OUTSIDE) naming where the link leads, NAME_TAKEN when a folder cannot be made
 * (another user's folder above it this user may not write in: its owner, mode and the fix).
 */
export async function folderInside(root: string, relDir: string): Promise<string> {
  const realRoot = await realpath(root);
  let real = realRoot;
  // one level at a time, each checked before anything is made inside it; the write that follows checks
  // the folder's real path again just before its rename (writeAtomic's root), so a swap in between is refused
  for (const part of relDir.split("/").filter((p) => p !== "" && p !== ".")) {
    const next = join(real, part);
    await mkdir(next).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "EEXIST") return;
      // a folder that does not let this user make it (an agent's, mode 0750): said with its owner and the fix
      if (refusedAtName(e)) throw nameTaken(relative(realRoot, next), next, `a folder on the way to ${relDir}`, lstatQuiet(next), e);
      throw e;
    });
    real = await realpath(next).catch((e: NodeJS.ErrnoException) => {
      // a link to nothing or a loop of links where a folder goes: said with its owner and the fix
      if (e.code === "ENOENT" || e.code === "ELOOP" || e.code === "ENOTDIR") throw nameTaken(relative(realRoot, next), next, `a folder on the way to ${relDir}`, undefined, e);
      throw e;
    });
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw new ConsensusError(issue("SYMLINK_OUTSIDE", { message: `${relDir} resolves outside the root (to ${real}); nothing was written`, file: relDir, found: real, expected: `a folder inside ${realRoot}`, fix: `Remove the link on the way to ${relDir} (an agent's, or a mistake): the bus's folders are real folders inside the root.` }));
    }
  }
  return real;
}

/**
 * The claim for this file's content, if there is a well-formed one made by the file's placer; anything
 * else (absent, too large, a link out of the root, not JSON, another file's or another content's, or
 * owned by another user than `fileUid`, the uid that put the file at its name) counts as no claim, and
 * the input is a plain file drop. Read as hostile: an agent can write there too, and the claim's name is
 * predictable from the content, so one agent could otherwise speak for another's file (say it was
 * placed by the daemon's MCP server, or sign it with its own launch token). The entry at the claim's
 * name must be a regular file, not a link (to whatever file, even one of `fileUid`'s), and be the file
 * read. `fileUid` undefined: not known (no uids on this system), not checked. Costs one lstat when
 * there is no claim (most drops).
 */
export async function readClaim(root: string, realRoot: string, rel: string, sha256: string, fileUid?: number): Promise<Claim | undefined> {
  const claimRel = claimPathOf(rel, sha256);
  // Most drops have none: asked first without an exception for the missing name (a failed realpath
  // builds one), on this thread (issue 17.2). Only its absence is taken from this; a claim there is read
  // with every guard below.
  const at = lstatQuiet(joinFast(root, claimRel));
  if (at === undefined) return undefined;
  // the entry at the claim's name is what its placer put there: a regular file (a placement never writes
  // a link), of the file's placer. A link is another user's word for whatever it leads to, even a file of
  // the placer's that user may write (one its group may write): never a claim. Judged by this lstat, then
  // by the file as opened, which must be this same one (ino): one swapped in since is none.
  if (!at.isFile() || (fileUid !== undefined && at.uid !== fileUid)) return undefined;
  const r = await readCandidate(root, realRoot, claimRel, CLAIM_MAX_BYTES);
  if (!r.ok || r.ino !== at.ino || r.uid !== at.uid) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(r.bytes).toString("utf8"));
  } catch {
    return undefined;
  }
  return checkClaim(v, rel, sha256);
}

/** Whether anything is at `abs` (a link counts), without following a last link; errors count as nothing. */
/** Pure: a parsed claim → the Claim, if it is one for this file and content. */
export function checkClaim(v: unknown, rel: string, sha256: string): Claim | undefined {
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  const c = v as Record<string, unknown>;
  if (c.version !== 1 || c.file !== rel || c.sha256 !== sha256) return undefined;
  if (c.transport !== "mcp" && c.transport !== "cli") return undefined;
  if (typeof c.role !== "string" || !ROLE.test(c.role) || typeof c.placed_at !== "string") return undefined;
  const out: Claim = { version: 1, file: rel, sha256, transport: c.transport, role: c.role, placed_at: c.placed_at };
  // kept as written (hostile): trust/token.ts and the prover check them
  if (c.signature && typeof c.signature === "object") out.signature = c.signature as PlacementSignature;
  const p = c.person as { as?: unknown; mac?: unknown } | undefined;
  if (p && typeof p === "object" && typeof p.mac === "string") out.person = { ...(typeof p.as === "string" && p.as.length <= 64 ? { as: p.as } : {}), mac: p.mac };
  return out;
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
      const claim = join(root, claimPathOf(input.file, input.sha256));
      // never through a .placed/ (or a folder above it) an agent swapped for a link since the read
      if (!(await assertRealDirs(root, dirname(claim)).then(() => true, () => false))) return;
      // only a regular file: what an agent put at the name since the read (a folder) is left, and no
      // error here fails the batch that was committed (the claim's name is predictable from the content)
      if (lstatQuiet(claim)?.isFile()) await unlink(claim).catch(() => undefined);
    }),
  );
}
