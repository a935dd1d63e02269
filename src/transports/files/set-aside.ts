/**
 * An artifact refused because the role its owner runs may not write that name is renamed aside in its
 * folder, to `.refused-<name>.<first 12 hex digits of its SHA-256>`. Drop zones carry the sticky bit
 * (3775, runner/drop-zones.ts): only a file's owner or the folder's may rename or remove it there, and
 * agents write 0640 files. Left in place, one agent's file at another role's name (the developer's
 * plan.json) could never be replaced by the role that may write it, and the stage would wait until it
 * escalated. A dot-name is never read as a drop; a person still finds the file beside the others.
 *
 * Only what the decision is sure of is moved: the entry refused it for authority (NOT_PERMITTED) and
 * the proof is its owner (an agent's OS user); or it was refused, and its owner runs one role that may
 * not write that name though the file's mode kept the owner from proving anything (a squatter's `chmod
 * g+w` must not keep the name: the owner holds it whatever wrote the bytes); and only while the file
 * there is still the one decided (same owner, same SHA-256), in a folder whose path holds no link.
 *
 * An entry that is not a regular file (a folder, a FIFO, a symbolic link, a socket, a device) or a file
 * too large or with a second name holds the name the same way, and has no bytes the daemon read: it is
 * known by what lstat said of it when it was decided (EntryId: device, inode, owner, type), checked
 * again by lstat (never followed, never opened: a FIFO's open can block for good) before the rename and
 * after it, the rename made by name in its folder (the daemon's). A folder moves with its contents,
 * which are never read. Entries of the daemon's own user or of root are never moved.
 */
import { createHash } from "node:crypto";
import { lstat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { LogEntry } from "../../schemas/types.gen.js";
import { ownerOf, type Proof } from "../../machine/authority.js";
import { CAP, readGuarded } from "../../store/fs/guarded-read.js";
import { assertRealDirs, assertStillInside } from "../../store/fs/safe-dirs.js";
import { asideNameOf, foreignFolder, movable, moveEntryIfSame, moveIf, sameEntry, type EntryId, type Stranded } from "../../store/fs/entry-aside.js";

/** What was renamed aside: paths relative to the root; `found` what it is when not a regular file ("a folder"). */
export interface SetAside {
  from: string;
  to: string;
  owner: string;
  found?: string;
}

/**
 * What a rename aside moved that was not the squat (it was swapped between the check and the rename)
 * and could not put back, the name taken again meanwhile: paths relative to the root, `uid` its owner.
 */
export interface StrandedAside {
  from: string;
  to: string;
  uid: number;
}

/** A refused artifact left in place because a folder on its way is not the daemon's: `folder` relative to the root, `uid` its owner. */
export interface LeftInPlace {
  from: string;
  folder: string;
  uid: number;
}

/**
 * A refused artifact to rename aside: where it was read (relative to the root), its owner and its
 * bytes' SHA-256; `entry`, for one whose bytes were not read (not a regular file, too large, a second
 * name), what lstat said of it when it was prepared, and `found` what it is ("a folder").
 */
export interface Squat {
  rel: string;
  uid: number;
  user: string;
  sha256: string;
  entry?: EntryId;
  found?: string;
}

/** The squat an input's committed entries refused (NOT_PERMITTED, proven by its owner), else undefined. */
export function squatIn(rel: string, entries: readonly LogEntry[]): Squat | undefined {
  for (const e of entries) {
    if (e.decision !== "artifact_rejected") continue;
    const d = e.details as { sha256?: unknown; errors?: unknown; proof?: unknown } | undefined;
    const p = d?.proof as { by?: unknown; uid?: unknown; user?: unknown } | undefined;
    if (!p || p.by !== "os_user" || typeof p.uid !== "number" || typeof d?.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(d.sha256)) continue;
    const forAuthority = Array.isArray(d.errors) && d.errors.some((x) => (x as { code?: unknown } | null)?.code === "NOT_PERMITTED");
    if (forAuthority) return { rel, uid: p.uid, user: String(p.user ?? p.uid), sha256: d.sha256 };
  }
  return undefined;
}

/**
 * The squat an input is again, when it was not decided (a duplicate: its bytes at that path were decided
 * before): an artifact its owner proves, whose owner's role may not write that name. Its owner may have
 * put the bytes back (renamed its .refused- file to the name, or written them again); the log already
 * has the refusal, so nothing new is decided, but the name is freed again.
 */
export function squatAgain(rel: string, input: { type: string; name?: string; sha256?: string; proof?: Proof }, mayWrite: (role: string, name: string) => boolean): Squat | undefined {
  const p = input.proof;
  if (input.type !== "artifact" || p?.by !== "user" || input.name === undefined || input.sha256 === undefined) return undefined;
  return mayWrite(p.role, input.name) ? undefined : { rel, uid: p.uid, user: p.user, sha256: input.sha256 };
}

/**
 * The squat an artifact is by its owner alone, when its mode (ProofNote.owner) or a user several roles
 * share (ProofNote.shared) kept the owner from proving a role, and none of its roles may write its name; `refused`: its input was refused (committed
 * with artifact_rejected) or is a duplicate of bytes decided before. An accepted file is never one.
 */
export function squatByOwner(rel: string, input: { type: string; name?: string; sha256?: string; proof?: Proof }, mayWrite: (role: string, name: string) => boolean): Squat | undefined {
  const owner = ownerOf(input.proof);
  const name = input.name;
  if (input.type !== "artifact" || !owner || name === undefined || input.sha256 === undefined) return undefined;
  return owner.roles.some((r) => mayWrite(r, name)) ? undefined : { rel, uid: owner.uid, user: owner.user, sha256: input.sha256 };
}

/**
 * Renames aside the refused artifacts `squats` (squatIn, squatAgain). A file changed, replaced or gone
 * since is left alone;
 * one below a folder another user owns is left too, and named in `left` (see foreignFolder).
 */
export async function setAsideRefused(root: string, squats: readonly Squat[]): Promise<{ moved: SetAside[]; left: LeftInPlace[]; stranded: StrandedAside[] }> {
  const out: SetAside[] = [];
  const left: LeftInPlace[] = [];
  const stranded: StrandedAside[] = [];
  // most batches refuse nothing: no geteuid() (a system call) for them (issue 17.2)
  if (!squats.length) return { moved: out, left, stranded };
  const self = process.geteuid?.();
  for (const s of squats) {
    const rel = s.rel;
    const file = join(root, rel);
    const dir = dirname(file);
    const strand = (x: Stranded): void => void stranded.push({ from: rel, to: join(dirname(rel), basename(x.to)), uid: x.uid });
    if (!movable(s.uid, self) || (s.entry && !movable(s.entry.uid, self))) continue;
    try {
      await assertRealDirs(root, dir);
      const foreign = await foreignFolder(root, dir);
      if (foreign) {
        left.push({ from: rel, ...foreign });
        continue;
      }
      if (s.entry) {
        // not read: known by its lstat alone (never followed, never opened)
        if (!sameEntry(await lstat(file), s.entry)) continue;
        const to = asideNameOf(file, s.sha256.slice(0, 12));
        await assertStillInside(root, dir);
        if (!(await moveEntryIfSame(file, to, s.entry, strand))) continue;
        out.push({ from: rel, to: join(dirname(rel), basename(to)), owner: s.user, ...(s.found ? { found: s.found } : {}) });
        continue;
      }
      const { bytes, stat } = await readGuarded(file, { maxBytes: CAP.state });
      if (stat.uid !== s.uid || createHash("sha256").update(bytes).digest("hex") !== s.sha256) continue;
      // a random part: a name the squatter cannot take first (a folder made at a name known from its
      // own bytes would make the rename fail, and the squat stay)
      const to = asideNameOf(file, s.sha256.slice(0, 12));
      await assertStillInside(root, dir);
      if (!(await moveIfSame(file, to, { uid: s.uid, sha256: s.sha256 }, strand))) continue;
      out.push({ from: rel, to: join(dirname(rel), basename(to)), owner: s.user });
    } catch {
      // gone, replaced by a link or a FIFO, or its folder swapped: nothing of ours to move
    }
  }
  return { moved: out, left, stranded };
}

/**
 * Renames `file` to `to` when what it moved is still the file checked (`checked`: its owner's uid and
 * its bytes' SHA-256, read again after the rename: an inode number can be reused at once); when another
 * file took the name between the check and the rename (its owner removed the squat and the rightful
 * role's file came), it is put back at once and false is returned; when the name was taken again
 * before the put back, `stranded` is told where what was moved stays (moveEntryIfSame).
 */
export async function moveIfSame(file: string, to: string, checked: { uid: number; sha256: string }, stranded?: (s: Stranded) => void): Promise<boolean> {
  return moveIf(
    file,
    to,
    async () => {
      const again = await readGuarded(to, { maxBytes: CAP.state }).catch(() => undefined);
      return again !== undefined && again.stat.uid === checked.uid && createHash("sha256").update(again.bytes).digest("hex") === checked.sha256;
    },
    stranded,
  );
}
