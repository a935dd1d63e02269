/**
 * `consensus keys create` and `consensus keys rotate`: the daemon key that seals the log of record and
 * the checkpoint (PROTOCOL "Trust"). Only key ids and dates are printed; a key never appears in any
 * output. Rotation leaves the previous keys verifying until their retirement, so lines sealed before
 * keep checking; the daemon reads the key at start (restart it after a rotation).
 */
import { ConsensusError, issue } from "../../errors/issue.js";
import { printable } from "../../report/plain-text.js";
import { existsSync } from "node:fs";
import { layoutOf } from "../../store/fs/layout.js";
import { installRules, readRulesRecord } from "../../store/fs/rules.js";
import { ensureKeyring, keyFileOf, KeyFileError, readKeyring, rotateKeyring } from "../../trust/key-file.js";
import type { Keyring } from "../../trust/keyring.js";
import { rootOf, type GlobalOptions } from "../context.js";

const describe = (ring: Keyring): string =>
  ring
    .describe()
    .map((k) => `  ${k.id}  made ${k.created_at}${k.retire_at ? `, verifies until ${k.retire_at}` : ", current"}`)
    .join("\n");

function asConsensus(e: unknown): never {
  if (e instanceof KeyFileError) throw new ConsensusError(issue(e.code, { message: e.message, file: e.file, fix: e.fix }));
  throw e;
}

export async function keysList(g: GlobalOptions): Promise<number> {
  const L = layoutOf(rootOf(g));
  const ring = await readKeyring(L.dot).catch(asConsensus);
  process.stdout.write(`${printable(`daemon keys in ${keyFileOf(L.dot)}:`)}\n${printable(describe(ring), { newlines: true })}\n`);
  return 0;
}

export async function keysCreate(g: GlobalOptions): Promise<number> {
  const L = layoutOf(rootOf(g));
  const { keyring, created } = await ensureKeyring(L.dot).catch(asConsensus);
  process.stdout.write(`${printable(`${created ? "made the daemon key" : "the daemon key is already there (nothing changed)"}: ${keyFileOf(L.dot)}`)}\n${printable(describe(keyring), { newlines: true })}\n`);
  return 0;
}

/**
 * `keys rotate`: a new current key; the previous ones verify until --retire-after has passed. The rules
 * in force (sealed with the daemon key) are re-sealed with the new key, if they verify now: otherwise
 * the old key's retirement would leave them unverifiable (RULES_FORGED at every command and start).
 */
export async function keysRotate(g: GlobalOptions, o: { retireAfter?: number }): Promise<number> {
  const L = layoutOf(rootOf(g));
  const before = existsSync(keyFileOf(L.dot)) ? await readRulesRecord(L).catch(asConsensus) : undefined;
  const ring = await rotateKeyring(L.dot, o.retireAfter).catch(asConsensus);
  if (before?.kind === "ok") await installRules(L, before.record);
  process.stdout.write(`${printable(`rotated the daemon key: new seals are made with ${ring.current.id}; restart a running daemon so it uses it`)}\n${printable(describe(ring), { newlines: true })}\n`);
  if (before?.kind === "ok") process.stdout.write(`${printable(`re-sealed the rules in force (version ${before.record.version.slice(0, 12)}, applied by ${before.record.applied_by}) with ${ring.current.id}`)}\n`);
  if (before?.kind === "refused") process.stderr.write(`${printable(`the rules in force (${L.rules}) do not verify (${before.reason}); not re-sealed: review consensus.yaml and run \`consensus config apply\``)}\n`);
  return 0;
}
