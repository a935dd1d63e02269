/**
 * Characters that look like ASCII but are not (a Cyrillic Е in EP-001, a Unicode hyphen, a fullwidth
 * letter, a zero-width space): each named by code point, with the ASCII a reader sees. Compatibility
 * forms are folded by NFKC; other look-alikes by the Unicode confusables data that `unhomoglyph`
 * ships (nodeca, MIT, no dependencies); accents are dropped (NFD) as a last resort. Pure.
 */
import unhomoglyph from "unhomoglyph";

export interface Lookalike {
  /** 1-based position in the value. */
  position: number;
  char: string;
  /** U+0415 */
  codePoint: string;
  /** What it stands for in ASCII ("" for an invisible character), if anything. */
  ascii?: string;
}

const ASCII = /^[\x20-\x7e]*$/;
const INVISIBLE = /^[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]$/;

/** The ASCII a reader would take `c` for, if any. */
function asciiOf(c: string): string | undefined {
  if (INVISIBLE.test(c)) return "";
  const nfkc = c.normalize("NFKC");
  if (ASCII.test(nfkc)) return nfkc;
  const skeleton = unhomoglyph(c);
  if (ASCII.test(skeleton) && skeleton !== "") return skeleton;
  const bare = c.normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  return ASCII.test(bare) && bare !== "" ? bare : undefined;
}

/** The non-ASCII characters of `value`, and the all-ASCII value they suggest (when every one has an ASCII reading). */
export function lookalikes(value: string): { chars: Lookalike[]; suggestion?: string } {
  const chars: Lookalike[] = [];
  let suggestion = "";
  let complete = true;
  let position = 0;
  for (const c of value) {
    position++;
    if (c.charCodeAt(0) <= 0x7e && c.length === 1) {
      suggestion += c;
      continue;
    }
    const ascii = asciiOf(c);
    chars.push({ position, char: c, codePoint: `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`, ...(ascii !== undefined ? { ascii } : {}) });
    if (ascii === undefined) complete = false;
    else suggestion += ascii;
  }
  return complete && chars.length ? { chars, suggestion } : { chars };
}

/** "Е (U+0415, reads as E) at position 1" for each character, joined. */
export function describeLookalikes(chars: Lookalike[]): string {
  return chars.map((l) => `${l.ascii === "" ? "an invisible character" : l.char} (${l.codePoint}${l.ascii ? `, looks like ${l.ascii}` : ""}) at position ${l.position}`).join(", ");
}
