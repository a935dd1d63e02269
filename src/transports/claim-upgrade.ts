/**
 * Claims an earlier version placed under their old name, `.placed/<file>.<sha256>.json`, renamed once at
 * the daemon's start to the name the daemon reads now (placement.ts claimPathOf: `.placed/<hex>.json`).
 * A claim is removed once its input is decided, so the only ones left under the old name are those of
 * inputs placed but not yet decided when the daemon was upgraded (deferred: arrived ahead of their
 * stage); read under the new name only, each would be decided as a plain drop, its transport and the
 * role its launch token proved lost without a word. Nothing is trusted by the rename: the claim is still
 * read with every guard (its content must name the file and content, its owner must be the file's, the
 * entry a regular file), the rename keeps its owner, and a new-form claim already at the name is kept.
 *
 * Once per root: the pass reads every zone's `.placed` (one open and readdir per epic: 180–300 ms at
 * 10,000 epics), so after a pass that left nothing behind the daemon records it in its private area
 * (CLAIMS_RENAMED) and later starts skip it. An earlier version's binary still placing into the root
 * after that (two versions side by side) leaves claims this version does not read: those inputs are
 * decided as plain drops, their transport and token proof not recorded.
 */
import { closeSync, constants as fsc, existsSync, lstatSync, openSync, readdirSync, renameSync } from "node:fs";
import { PRIVATE_FILE_MODE, writeAtomic } from "../store/fs/atomic-write.js";
import { basename, join, relative } from "node:path";
import type { Layout } from "../store/fs/layout.js";
import { lstatQuiet, realSubfolders } from "../store/fs/safe-dirs.js";
import { CLAIM_FOLDER } from "./place-names.js";
import { claimPathOf } from "./placement.js";

/** An old-form claim's name: the placed file's name, its content's SHA-256, `.json`. */
const OLD_NAME = /^(.+)\.([0-9a-f]{64})\.json$/;

/** What upgradeClaims did: claims renamed, and those it could not rename (path, and why). */
export interface ClaimUpgrade {
  renamed: number;
  left: Array<{ path: string; why: string }>;
}

/**
 * Renames the old-form claims in the drop zones' `.placed/` folders under `L.root` (artifacts/,
 * artifacts/<EPIC>/, messages/inbox/<role>/) to their current names. Only a regular file is renamed,
 * within the same `.placed`, reached through real folders only (each opened without following a link);
 * one whose new name is taken is left. One readdir per zone; never throws.
 */
export function upgradeClaims(L: Layout): ClaimUpgrade {
  const out: ClaimUpgrade = { renamed: 0, left: [] };
  for (const zone of [L.artifacts, ...realSubfolders(L.artifacts, { visible: true }), ...realSubfolders(L.inbox, { visible: true })]) {
    const relZone = relative(L.root, zone);
    // the zone, then its .placed, opened without following a link (one swapped in since the listing
    // is not followed): the listing and the renames go through the descriptor, never by name
    withFolder(zone, (z) =>
      withFolder(join(z, CLAIM_FOLDER), (placed) => {
        let names: string[];
        try {
          names = readdirSync(placed);
        } catch {
          return;
        }
        for (const name of names) {
          const m = OLD_NAME.exec(name);
          if (!m) continue;
          const from = join(placed, name);
          const to = join(placed, basename(claimPathOf(`${relZone}/${m[1]}`, m[2]!)));
          try {
            if (!lstatSync(from).isFile() || lstatQuiet(to) !== undefined) continue;
            renameSync(from, to);
            out.renamed++;
          } catch (e) {
            out.left.push({ path: join(zone, CLAIM_FOLDER, name), why: (e as NodeJS.ErrnoException).code ?? String(e) });
          }
        }
      }),
    );
  }
  return out;
}

/** The private file that says the old-form claims of this root were renamed (claim-upgrade.ts). */
export const claimsRenamedMark = (L: Layout): string => join(L.dot, "claims-renamed");

/**
 * upgradeClaims, unless a pass already ran on this root and left nothing (its mark in the private
 * area): undefined when skipped. After a pass with nothing left, the mark is written (durably, mode
 * 0600) so the next start skips it; one that left claims it could not rename runs again next time.
 */
export async function upgradeClaimsOnce(L: Layout): Promise<ClaimUpgrade | undefined> {
  if (lstatQuiet(claimsRenamedMark(L)) !== undefined) return undefined;
  const out = upgradeClaims(L);
  if (!out.left.length) await writeAtomic(claimsRenamedMark(L), `old-form claims (.placed/<file>.<sha256>.json) renamed at ${new Date().toISOString()}\n`, { mode: PRIVATE_FILE_MODE, durable: true, root: L.root });
  return out;
}

/**
 * Runs `use` with a path that names the real folder at `path` as opened (O_NOFOLLOW, O_DIRECTORY,
 * O_NONBLOCK: never a link, a FIFO or a file): /proc/self/fd/<fd> where there is one, else `path`.
 * Nothing is run when it cannot be opened so.
 */
function withFolder(path: string, use: (at: string) => void): void {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_DIRECTORY);
  } catch {
    return;
  }
  try {
    use(existsSync(`/proc/self/fd/${fd}`) ? `/proc/self/fd/${fd}` : path);
  } finally {
    closeSync(fd);
  }
}
