/**
 * A root from before the log of record (only current/decision_log.jsonl, hash-chained, no MACs): at
 * the first start its verified chain becomes the log of record, once. Each daemon line gets its MAC
 * (the chain hash is unchanged: the MAC comes after it), agents' lines are kept as written, a torn last
 * line is left out. The mirror is rewritten to the same lines (so the daemon's copies there are its
 * sealed lines), and the checkpoint is dropped (its offsets were into the old file): the state is
 * rebuilt from the new record. A chain that does not verify is not adopted: LOG_ADOPT_FAILED says
 * where it breaks and what to do.
 */
import { constants as fsc } from "node:fs";
import { open, stat, unlink } from "node:fs/promises";
import { ChainVerifier, unsealLine, type LineMac } from "../../log/chain.js";
import { ConsensusError, issue } from "../../errors/issue.js";
import { PRIVATE_FILE_MODE, writeAtomic } from "./atomic-write.js";
import type { Layout } from "./layout.js";
import { CAP, GuardedReadError, readGuarded } from "./guarded-read.js";

export interface Adopted {
  lines: number;
  daemonLines: number;
  agentLines: number;
  lastSeq: number;
  /** Bytes of a torn last line left out. */
  tornBytes: number;
}

/** Whether the readable log looks like a log from before the log of record (it has the daemon's lines) and there is no record yet. */
export async function hasOldLog(L: Layout): Promise<boolean> {
  if (await stat(L.record).catch(() => undefined)) return false;
  let fh;
  try {
    fh = await open(L.log, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const buf = Buffer.alloc(1 << 16);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).includes('"agent":"orchestrator"');
  } finally {
    await fh.close();
  }
}

/** Adopts the old log when there is no log of record yet and the old one has lines; else undefined. */
export async function adoptOldLog(L: Layout, mac: LineMac): Promise<Adopted | undefined> {
  if (await stat(L.record).catch(() => undefined)) return undefined;
  const st = await stat(L.log).catch(() => undefined);
  if (!st?.isFile() || st.size === 0) return undefined;
  // agents can append to it: read guarded (no FIFO swapped in since the stat, at most CAP.state bytes)
  let text: string;
  try {
    text = (await readGuarded(L.log, { maxBytes: CAP.state })).bytes.toString("utf8");
  } catch (e) {
    if (!(e instanceof GuardedReadError)) throw e;
    throw new ConsensusError(issue("LOG_ADOPT_FAILED", { message: `${L.log}: ${e.message}; it is not adopted as the log of record`, file: L.log, found: e.found, fix: e.fix }));
  }
  const complete = text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1);
  const tornBytes = Buffer.byteLength(text) - Buffer.byteLength(complete);
  const lines = complete === "" ? [] : complete.slice(0, -1).split("\n");
  const v = new ChainVerifier();
  for (const l of lines) v.push(l);
  const r = v.result();
  // agents' lines alone (a new root where agents wrote before the daemon's first line): nothing to adopt,
  // they are read as agents' entries
  if (r.daemonLines === 0 && r.ok) return undefined;
  if (!r.ok) {
    throw new ConsensusError(issue("LOG_ADOPT_FAILED", { message: `${L.log}:${r.broken!.line}: ${r.broken!.reason}; it is not adopted as the log of record`, file: L.log }));
  }
  const out = lines.map((l) => {
    const s = unsealLine(l);
    return s && s.mac === undefined ? `${s.signed},"mac":"${mac(s.signed)}"}` : l;
  });
  const body = out.length ? `${out.join("\n")}\n` : "";
  await writeAtomic(L.record, body, { durable: true, mode: PRIVATE_FILE_MODE, root: L.root });
  // the mirror: the same lines, in place (its owner and mode, which the drop zones set, are kept)
  const m = await open(L.log, fsc.O_RDWR | fsc.O_NOFOLLOW);
  try {
    await m.write(body, 0, "utf8");
    await m.truncate(Buffer.byteLength(body));
  } finally {
    await m.close();
  }
  await unlink(L.checkpoint).catch(() => {});
  await unlink(L.checkpointKeys).catch(() => {});
  return { lines: lines.length, daemonLines: r.daemonLines, agentLines: r.agentLines, lastSeq: r.lastSeq, tornBytes };
}
