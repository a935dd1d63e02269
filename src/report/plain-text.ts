/**
 * Text a person reads in a terminal, made safe and tidy: agents write titles, reasons, file names and
 * log lines, and none of their bytes may reach a terminal raw (an ANSI/OSC sequence can recolour,
 * retitle or rewrite what is on screen, \r or a newline can forge a line). One place for that, and
 * for the table and plural every command prints. Pure.
 */

// C0 controls, DEL, C1 controls (8-bit CSI/OSC …), and the Unicode format characters that reorder or
// break what is shown: bidi embeddings, overrides and isolates, marks, line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const escapeOne = (c: string): string => {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u${n.toString(16).padStart(4, "0")}`;
};

/**
 * `text` with every control character shown as an escape (`\x1b`, `\u202e`), so it prints as what it
 * is. By default newlines are escaped too: use it on every value that must stay on its line (a cell,
 * a reason, a file name). `{ newlines: true }` keeps `\n` for a whole block of output that we composed.
 */
export function printable(text: string, opts: { newlines?: boolean } = {}): string {
  return text.replace(opts.newlines ? CONTROL_BUT_NEWLINE : CONTROL, escapeOne);
}

/** "1 epic", "2 epics"; `many` when the plural is not the noun plus "s". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Columns padded to their widest cell and separated by two spaces; the last column is not padded and no
 * row ends in spaces. Every cell is made printable first (one line, no escapes). One formatter for every
 * table a command prints (status, agents, report).
 */
export function formatTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cells = [head, ...rows].map((r) => r.map((c) => printable(c)));
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n");
}
