/**
 * Streams a log through the chain verifier (`consensus log verify`, `consensus doctor`, `consensus
 * gate` share it), and tells the lines of the readable mirror apart: the daemon's sealed copies,
 * agents' lines, and forged ones.
 */
import { existsSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { GUARDED_FLAGS, kindOf } from "./guarded-read.js";
import { ChainVerifier, claimsDaemon, unsealLine, type ChainResult, type LineCheck, type LineMac } from "../../log/chain.js";
import { readKeyring } from "../../trust/key-file.js";
import type { Keyring } from "../../trust/keyring.js";
import { subKey } from "../../trust/mac.js";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Layout } from "./layout.js";
import { linesOf } from "./read-entries.js";

/** Verifies a log file's chain; with `check`, every daemon line must also carry a MAC that checks. */
export async function verifyLogFile(path: string, check?: LineCheck): Promise<ChainResult> {
  const v = new ChainVerifier(check);
  for await (const line of linesOfPath(path)) v.push(line);
  return v.result();
}

/**
 * The lines of a file, from its start to its size when opened, split at "\n" only: as the daemon
 * writes and chains the log, where a "\r" inside an agent's line is part of it (node:readline ends a
 * line there too, and the chain then reads as broken). Throws as open() does (ENOENT, EACCES).
 */
export async function* linesOfPath(path: string): AsyncGenerator<string> {
  const fh = await open(path, "r");
  try {
    yield* linesOfHandle(fh);
  } finally {
    await fh.close();
  }
}

/** linesOfPath over a file already open (left open); `crlf`: a "\r" just before a "\n" is dropped, as the daemon reads the readable copy. */
async function* linesOfHandle(fh: FileHandle, crlf = false): AsyncGenerator<string> {
  const { size } = await fh.stat();
  for await (const block of linesOf(fh, 0, size)) for (const l of block) yield crlf && l.end !== undefined && l.text.endsWith("\r") ? l.text.slice(0, -1) : l.text;
}

/** The MAC check of log lines under the root's daemon key (throws KeyFileError when it cannot be read). */
export async function logCheckOf(L: Layout): Promise<{ ring: Keyring; check: LineCheck }> {
  const ring = await readKeyring(L.dot);
  return { ring, check: logMacCheck(ring) };
}

/**
 * A log line's MAC under a keyring: true when a key in force made it, "old" when a key the ring no
 * longer holds (or has retired) did — the line predates a rotation (chain.ts LineCheck says when that
 * is believed), false when it does not check.
 */
export function logMacCheck(ring: Keyring): LineCheck {
  // the "log" sub-key of each key, derived once (HKDF per line cost more than the HMAC itself)
  const keys = new Map(ring.keysForFile().map((k) => [k.id, { key: subKey(k.secret, "log"), retireAt: k.retire_at !== undefined ? Date.parse(k.retire_at) : Infinity }]));
  return (signed, mac) => {
    const m = /^([a-z0-9]{1,16})\.([0-9a-f]{64})$/.exec(mac);
    if (!m) return false;
    const k = keys.get(m[1]!);
    if (!k) return "old";
    if (!timingSafeEqual(createHmac("sha256", k.key).update(signed).digest(), Buffer.from(m[2]!, "hex"))) return false;
    // judged at each check: a daemon runs for weeks, and a rotated key retires while it runs
    return k.retireAt <= Date.now() ? "old" : true;
  };
}

/**
 * The ids of the keys logMacCheck(ring) answers true for at `now` (ms since the epoch), in ring order,
 * joined by ",". A key leaves this set when its retire_at passes; while the ring and this set are the
 * same, logMacCheck(ring) gives every line the same answer (true, false or "old"), so whatever a reader
 * concluded from those answers (a cursor's "anchored") still holds.
 */
export function keysInForce(ring: Keyring, now = Date.now()): string {
  return ring
    .keysForFile()
    .filter((k) => k.retire_at === undefined || Date.parse(k.retire_at) > now)
    .map((k) => k.id)
    .join(",");
}

/** Seals log lines with the keyring's current key (the same tag as Keyring.mac("log", …), its sub-key derived once). */
export function logSealer(ring: Keyring): LineMac {
  const keys = ring.keysForFile();
  const current = keys[keys.length - 1]!;
  const key = subKey(current.secret, "log");
  return (signed) => `${current.id}.${createHmac("sha256", key).update(signed).digest("hex")}`;
}

/**
 * A filter for lines of the log of record read as they come (a tail): agents' lines pass, a line that
 * claims to be the daemon's passes only when its MAC checks. With no readable key, no daemon line passes.
 */
export async function sealedLines(L: Layout): Promise<(line: string) => boolean> {
  const check = await logCheckOf(L).then((c) => c.check, () => undefined);
  return (line) => {
    const s = unsealLine(line);
    if (!s) return !claimsDaemon(line);
    return !!check && s.mac !== undefined && check(s.signed, s.mac) === true;
  };
}

export interface MirrorCount {
  /** Lines byte-equal to the daemon's line of the same seq in the log of record. */
  sealed: number;
  /** Lines that claim to be the daemon's and are not its line (wrong hash, no or bad MAC, not in the record). */
  forged: number;
  /** Agents' lines (blank lines not counted). */
  agent: number;
  firstForged?: { line: number; reason: string };
}

/**
 * Tells the readable mirror's lines apart against the log of record: a line that claims to be the
 * daemon's is sealed only if it is byte-equal to the record's line of its seq (the daemon copies its
 * lines in order, so both files are read forward once).
 */
export async function countMirror(L: Layout): Promise<MirrorCount> {
  const out: MirrorCount = { sealed: 0, forged: 0, agent: 0 };
  if (!existsSync(L.log)) return out;
  const record = existsSync(L.record) ? linesOfPath(L.record) : undefined;
  // record lines read ahead of the mirror (a forged line may name a later seq): seq → line
  const ahead = new Map<number, string>();
  let recSeq = 0;
  const recordLine = async (seq: number): Promise<string | undefined> => {
    while (record && recSeq < seq) {
      const n = await record.next();
      if (n.done) break;
      if (!unsealLine(n.value)) continue;
      try {
        recSeq = (JSON.parse(n.value) as { seq: number }).seq;
        ahead.set(recSeq, n.value);
      } catch {
        /* not a line of the daemon's */
      }
    }
    return ahead.get(seq);
  };
  let lineNo = 0;
  let lastSeq = 0;
  const forged = (reason: string): void => {
    out.forged++;
    out.firstForged ??= { line: lineNo, reason };
  };
  // the readable copy is a drop zone: what lies there may be a FIFO (a plain read blocks for good), a
  // link to /dev/zero (never ends) or another file; read it only if it is a regular file, opened as such
  const fh = await open(L.log, GUARDED_FLAGS).catch((e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "EMLINK" || code === "EFTYPE") return undefined;
    throw e;
  });
  const st = await fh?.stat();
  if (!fh || !st?.isFile()) {
    await fh?.close();
    forged(`${L.log} is ${st ? kindOf(st) : "a symbolic link"}, not a regular file: not read (remove it; the daemon copies its lines there again)`);
    return out;
  }
  try {
    for await (const line of linesOfHandle(fh, true)) {
      lineNo++;
      if (line.trim() === "") continue;
      if (!claimsDaemon(line)) {
        out.agent++;
        continue;
      }
      let seq: unknown;
      try {
        seq = (JSON.parse(line) as { seq?: unknown }).seq;
      } catch {
        seq = undefined;
      }
      if (typeof seq !== "number" || !Number.isInteger(seq)) {
        forged("it claims to be the daemon's line but has no sequence number");
        continue;
      }
      if (seq <= lastSeq) {
        forged(`seq ${seq} comes after seq ${lastSeq}: not a copy of the daemon's (it copies in order)`);
        continue;
      }
      const rec = await recordLine(seq);
      if (rec === undefined) {
        forged(`there is no seq ${seq} in the log of record`);
        continue;
      }
      if (rec !== line) {
        forged(`it differs from seq ${seq} in the log of record (edited, re-hashed without the key, or made up)`);
        continue;
      }
      for (const k of ahead.keys()) if (k <= seq) ahead.delete(k);
      lastSeq = seq;
      out.sealed++;
    }
  } finally {
    await record?.return(undefined);
    await fh.close();
  }
  return out;
}
