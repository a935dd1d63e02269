/**
 * Sets of marks (processed inputs, used message ids). They only grow: at 1,000,000 log lines that is
 * about 2,000,000 marks, most of them `path@sha256` (~110 bytes). The checkpoint therefore keeps each
 * mark as a 128-bit digest (the first 16 bytes of SHA-256 of its kind and itself), held in memory in
 * one open-addressing table of raw bytes (no string per mark: loading 2,000,000 is a copy, not 2,000,000
 * Set insertions). A MarkSet answers for both: marks added since (kept whole) and marks loaded as
 * digests. Two different marks sharing a digest has a probability of about n²/2¹²⁹ (10⁻²⁷ at a
 * million marks). Pure.
 */
import { hash } from "node:crypto";

/** What the view needs of a set of marks (a plain Set<string> is one). */
export interface Marks {
  has(mark: string): boolean;
  add(mark: string): unknown;
}

export type MarkKind = "p" | "m";
export const DIGEST_BYTES = 16;

export function markDigest(kind: MarkKind, mark: string): Buffer {
  return hash("sha256", `${kind}\0${mark}`, "buffer").subarray(0, DIGEST_BYTES);
}

/** 16-byte digests in an open-addressing table with linear probing (4 u32 words a slot; all-zero = empty). */
export class DigestTable {
  private words: Uint32Array;
  private mask: number;
  count = 0;

  constructor(expected = 0) {
    let slots = 1024;
    while (slots < expected * 2) slots *= 2;
    this.words = new Uint32Array(slots * 4);
    this.mask = slots - 1;
  }

  /** Adds every whole 16-byte digest in bytes. */
  addAll(bytes: Uint8Array): void {
    const n = Math.floor(bytes.length / DIGEST_BYTES);
    this.reserve(this.count + n);
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : Uint8Array.from(bytes);
    const w = new Uint32Array(aligned.buffer, aligned.byteOffset, n * 4);
    for (let i = 0; i < n; i++) this.insert(w[i * 4]!, w[i * 4 + 1]!, w[i * 4 + 2]!, w[i * 4 + 3]!);
  }

  has(digest: Uint8Array): boolean {
    const [a, b, c, d] = words(digest);
    const t = this.words;
    for (let s = a & this.mask; ; s = (s + 1) & this.mask) {
      const o = s * 4;
      if (t[o] === a && t[o + 1] === b && t[o + 2] === c && t[o + 3] === d) return true;
      if (t[o] === 0 && t[o + 1] === 0 && t[o + 2] === 0 && t[o + 3] === 0) return false;
    }
  }

  private insert(a: number, b: number, c: number, d: number): void {
    if ((a | b | c | d) === 0) return;
    const t = this.words;
    for (let s = a & this.mask; ; s = (s + 1) & this.mask) {
      const o = s * 4;
      if (t[o] === a && t[o + 1] === b && t[o + 2] === c && t[o + 3] === d) return;
      if (t[o] === 0 && t[o + 1] === 0 && t[o + 2] === 0 && t[o + 3] === 0) {
        t[o] = a;
        t[o + 1] = b;
        t[o + 2] = c;
        t[o + 3] = d;
        this.count++;
        return;
      }
    }
  }

  private reserve(n: number): void {
    if (n * 2 <= this.mask + 1) return;
    const old = this.words;
    let slots = this.mask + 1;
    while (slots < n * 2) slots *= 2;
    this.words = new Uint32Array(slots * 4);
    this.mask = slots - 1;
    this.count = 0;
    for (let o = 0; o < old.length; o += 4) if (old[o]! | old[o + 1]! | old[o + 2]! | old[o + 3]!) this.insert(old[o]!, old[o + 1]!, old[o + 2]!, old[o + 3]!);
  }
}

function words(d: Uint8Array): [number, number, number, number] {
  const v = new DataView(d.buffer, d.byteOffset, DIGEST_BYTES);
  return [v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true), v.getUint32(12, true)];
}

/** Marks of one kind: whole ones added since the checkpoint, and the checkpoint's digests (shared table). */
export class MarkSet implements Marks {
  private readonly whole = new Set<string>();

  constructor(
    private readonly kind: MarkKind,
    private readonly digests: DigestTable,
  ) {}

  has(mark: string): boolean {
    return this.whole.has(mark) || (this.digests.count > 0 && this.digests.has(markDigest(this.kind, mark)));
  }

  add(mark: string): this {
    this.whole.add(mark);
    return this;
  }
}
