/**
 * Sets of marks (processed inputs, used message ids). They only grow: at 1,000,000 log lines that is
 * about 2,000,000 marks, most of them `path@sha256` (~110 bytes). The checkpoint therefore keeps each
 * mark as a 128-bit digest of it (the first 16 bytes of its SHA-256, base64url: 22 characters), and a
 * MarkSet answers for both: marks added since (kept whole) and marks loaded as digests. Two different
 * marks sharing a digest has a probability of about n²/2¹²⁹ (10⁻²⁷ at a million marks). Pure.
 */
import { createHash } from "node:crypto";

/** What the view needs of a set of marks (a plain Set<string> is one). */
export interface Marks {
  has(mark: string): boolean;
  add(mark: string): unknown;
  readonly size: number;
}

export function markDigest(mark: string): string {
  return createHash("sha256").update(mark).digest("base64url").slice(0, 22);
}

export class MarkSet implements Marks {
  private readonly whole = new Set<string>();
  private readonly digests = new Set<string>();

  has(mark: string): boolean {
    return this.whole.has(mark) || (this.digests.size > 0 && this.digests.has(markDigest(mark)));
  }

  add(mark: string): this {
    this.whole.add(mark);
    return this;
  }

  addDigest(digest: string): void {
    this.digests.add(digest);
  }

  get size(): number {
    return this.whole.size + this.digests.size;
  }
}
