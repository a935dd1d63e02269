/**
 * A line diff of two texts, for `consensus config diff|apply` (the rules in force against the edited
 * consensus.yaml). Longest common subsequence over lines: O(n·m) time and memory, fine for a config of
 * a few hundred lines (consensus.yaml is capped like any bus file); not worth a library. Pure.
 */

export type DiffLine = { op: " " | "-" | "+"; text: string };

/** Every line of `a` and `b` in order, each kept (" "), removed ("-") or added ("+"). */
export function diffLines(a: string, b: string): DiffLine[] {
  const x = splitLines(a);
  const y = splitLines(b);
  const n = x.length;
  const m = y.length;
  // lcs[i][j]: length of the LCS of x[i..] and y[j..]
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) (out.push({ op: " ", text: x[i]! }), i++, j++);
    else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ op: "-", text: x[i++]! });
    else out.push({ op: "+", text: y[j++]! });
  }
  while (i < n) out.push({ op: "-", text: x[i++]! });
  while (j < m) out.push({ op: "+", text: y[j++]! });
  return out;
}

/**
 * The diff as text: changed lines with `context` unchanged lines around them, "@@ line N" before each
 * hunk (N: the line in the new text), "" when nothing changed.
 */
export function formatDiff(lines: readonly DiffLine[], context = 2): string {
  const keep = new Set<number>();
  lines.forEach((l, k) => {
    if (l.op === " ") return;
    for (let c = Math.max(0, k - context); c <= Math.min(lines.length - 1, k + context); c++) keep.add(c);
  });
  if (!keep.size) return "";
  const out: string[] = [];
  let newLine = 0;
  let last = -2;
  lines.forEach((l, k) => {
    if (l.op !== "-") newLine++;
    if (!keep.has(k)) return;
    if (k !== last + 1) out.push(`@@ line ${l.op === "-" ? newLine + 1 : newLine}`);
    out.push(`${l.op} ${l.text}`);
    last = k;
  });
  return `${out.join("\n")}\n`;
}

function splitLines(s: string): string[] {
  const lines = s.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}
