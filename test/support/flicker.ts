/**
 * An agent that makes its folder at a notice's name and removes it again in a loop, with its timing
 * made deterministic (review 9): wrapped around node:fs/promises' rename by a test's vi.mock. A rename
 * onto the name that fails on the folder (EISDIR) finds it gone right after; a rename aside of it
 * (to `.refused-…`) finds it there again at once. The folders are real, owned by uid 4242 as an
 * agent's would be (the tests that use it need root).
 */
import { lchownSync, mkdirSync, rmdirSync } from "node:fs";
import { basename } from "node:path";

/** The agent's folder at `path`, made now. */
export function flicker(path: string): void {
  mkdirSync(path);
  lchownSync(path, 4242, 4242);
}

/** node:fs/promises with its rename wrapped so the agent's loop wins every window (see above). */
export function flickeringRename(real: typeof import("node:fs/promises")): typeof import("node:fs/promises") {
  return {
    ...real,
    rename: async (from: import("node:fs").PathLike, to: import("node:fs").PathLike) => {
      const [f, t] = [String(from), String(to)];
      try {
        await real.rename(from, to);
      } catch (e) {
        // gone again once the daemon's (or the bridge's) rename has failed on it…
        if (basename(t).startsWith("notice-") && (e as NodeJS.ErrnoException).code === "EISDIR") rmdirSync(t);
        throw e;
      }
      // …and there again right after it was renamed aside
      if (basename(f).startsWith("notice-") && basename(t).startsWith(".refused-")) flicker(f);
    },
  };
}
