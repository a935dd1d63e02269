/**
 * A launch token for a role, made with a bus's daemon key as the runner makes one (src/trust/token.ts):
 * what an agent launched for `role` on `epic`/`iteration` holds in CONSENSUS_TOKEN. Read from the built
 * dist/ (the daemon the tests start is the built one), valid for ten minutes.
 */
import { join } from "node:path";
import { repo, type Bus } from "./bus.js";

export async function tokenFor(b: Bus, role: string, epic = "EP-001", iteration = 1): Promise<string> {
  const { readKeyring } = (await import(join(repo, "dist", "trust", "key-file.js"))) as { readKeyring(dot: string): Promise<{ keysForFile(): unknown[] }> };
  const { issueToken } = (await import(join(repo, "dist", "trust", "token.js"))) as { issueToken(k: unknown, s: unknown): string };
  const key = (await readKeyring(join(b.root, ".consensus"))).keysForFile().at(-1);
  return issueToken(key, { v: 1, role, epic_id: epic, iteration, expires_at: new Date(Date.now() + 600_000).toISOString(), launch: "test" });
}
