/**
 * Agents' entries in the readable log (current/decision_log.jsonl, the mirror): its lines → entries.
 * Pure.
 *
 * Agents append at any moment, and real ones write an entry pretty-printed over many lines, with blank
 * lines between entries. The daemon copies its own lines in between. So the lines are assembled into
 * entries: a line that opens a JSON object and does not close it starts an entry that runs until its
 * braces balance (strings and escapes respected); a blank line outside an entry is skipped quietly; a
 * line that claims to be the daemon's (chain.ts claimsDaemon) is handed back on its own, even in the
 * middle of an agent's entry (the daemon's copy of a line is one write and may land between an
 * agent's). Each entry is judged once, whole: one rejection per entry, not per physical line.
 */
import { claimsDaemon, unsealLine } from "./chain.js";

/** An entry a physical line or several make up. */
export interface MirrorEntry {
  /** 1-based line numbers in the mirror: first and last line of the entry. */
  line: number;
  lastLine: number;
  /** The entry's text (its lines joined with "\n"). */
  text: string;
  /** Written over more than one line (pretty-printed). */
  multiline: boolean;
}

export type MirrorItem = { kind: "entry"; entry: MirrorEntry } | { kind: "daemon"; line: number; text: string };

/** The longest line an agent's entry may be (bytes): a longer one is skipped unread and reported. */
export const MAX_LINE_BYTES = 1 << 20;

/** An entry open longer than this many lines or bytes is cut and judged as it is (it will not parse). */
const MAX_ENTRY_LINES = 2000;
const MAX_ENTRY_BYTES = 1 << 20;

/** Assembles entries from lines fed in order; remembers an entry still open between feeds. */
export class EntryAssembler {
  private open?: { line: number; lines: string[]; bytes: number; depth: number; inString: boolean; escape: boolean; offset: number };

  /** The byte offset where the open entry began (its lines must be read again if not complete), if any. */
  get openAt(): number | undefined {
    return this.open?.offset;
  }

  /** One physical line (without its newline), its number and its start offset; returns what it completes. */
  push(text: string, line: number, offset: number): MirrorItem[] {
    const o = this.open;
    if (!o) {
      if (text.trim() === "") return [];
      const s = balance(text, { depth: 0, inString: false, escape: false });
      // A pretty-printed entry opens with a line that ends where more must follow ("{", a comma, a
      // colon); a line cut off mid-value (a torn write) is judged on its own at once.
      const opens = s.depth > 0 && text.trimStart().startsWith("{") && /[{[,:]\s*$/.test(text);
      if (!opens) return [closed({ line, lines: [text] }, line)];
      this.open = { line, lines: [text], bytes: text.length, ...s, offset };
      return [];
    }
    // The daemon's copy of its line lands between an agent's lines: it is a line of its own.
    if (unsealLine(text)) return [{ kind: "daemon", line, text }];
    // A line opening an object at the margin never continues a pretty-printed entry (nested objects
    // follow a key): the open entry was cut short (a torn write) and is judged as it is.
    if (text.startsWith("{")) {
      this.open = undefined;
      return [closed(o, line - 1), ...this.push(text, line, offset)];
    }
    o.lines.push(text);
    o.bytes += text.length + 1;
    Object.assign(o, balance(text, o));
    if (o.depth > 0 && o.lines.length < MAX_ENTRY_LINES && o.bytes < MAX_ENTRY_BYTES) return [];
    this.open = undefined;
    return [closed(o, line)];
  }
}

/** An entry as it stands; one that claims to be the daemon's is handed back as such (it is forged). */
function closed(o: { line: number; lines: string[] }, lastLine: number): MirrorItem {
  const text = o.lines.join("\n");
  if (claimsDaemon(text)) return { kind: "daemon", line: o.line, text };
  return { kind: "entry", entry: { line: o.line, lastLine, text, multiline: o.lines.length > 1 } };
}

interface Scan {
  depth: number;
  inString: boolean;
  escape: boolean;
}

/** Brace depth after the text, starting from a state (JSON strings and escapes respected). */
function balance(text: string, from: Scan): Scan {
  let { depth, inString, escape } = from;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escape) escape = false;
      else if (c === 92) escape = true;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) depth--;
  }
  return { depth, inString, escape };
}
