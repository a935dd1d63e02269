/**
 * A small strict parser of the Prometheus text exposition format (0.0.4), for tests: every line is
 * `# HELP name text`, `# TYPE name type`, `name{label="value",…} value` or empty; a sample belongs to the
 * family declared by the TYPE line before it; a histogram has _bucket (with le, cumulative, ending
 * at +Inf), _sum and _count for each label set, and its +Inf bucket equals its count. Anything else
 * throws, naming the line.
 */
export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/;

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  if (!text.endsWith("\n")) throw new Error("the exposition does not end with a newline");
  const lines = text.slice(0, -1).split("\n");
  let current: Family | undefined;
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === "") return; // the format ignores empty lines (prom-client puts one between families)
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m || !new RegExp(`^${NAME}$`).test(m[2]!)) throw new Error(`bad comment, ${where}`);
      const [, kind, name, rest] = m as unknown as [string, "HELP" | "TYPE", string, string];
      const f = families.get(name) ?? { name, type: "untyped" as MetricType, samples: [] };
      if (kind === "TYPE") {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) throw new Error(`bad type, ${where}`);
        if (f.samples.length) throw new Error(`TYPE after samples, ${where}`);
        f.type = rest as MetricType;
      } else f.help = rest;
      families.set(name, f);
      current = f;
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample, ${where}`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    if (!current || !belongsTo(name, current)) throw new Error(`sample outside its family (${current?.name ?? "none"}), ${where}`);
    current.samples.push({ name, labels: parseLabels(labelText ?? "", where), value: parseValue(valueText, where) });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

function belongsTo(name: string, f: Family): boolean {
  if (f.type === "histogram") return [`${f.name}_bucket`, `${f.name}_sum`, `${f.name}_count`].includes(name);
  if (f.type === "summary") return [f.name, `${f.name}_sum`, `${f.name}_count`].includes(name);
  return name === f.name;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = text;
  while (rest.length) {
    const m = LABEL.exec(rest);
    if (!m) throw new Error(`bad labels, ${where}`);
    if (m[1]! in out) throw new Error(`label ${m[1]} twice, ${where}`);
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    rest = rest.slice(m[0].length);
  }
  return out;
}

function parseValue(text: string, where: string): number {
  // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes "Nan").
  if (/^\+?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value, ${where}`);
  return Number(text);
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const h = series.get(key) ?? { buckets: [] };
    if (s.name.endsWith("_bucket")) {
      if (le === undefined) throw new Error(`${f.name}: a bucket without le`);
      h.buckets.push([le === "+Inf" ? Infinity : Number(le), s.value]);
    } else if (s.name.endsWith("_sum")) h.sum = s.value;
    else h.count = s.value;
    series.set(key, h);
  }
  for (const [key, h] of series) {
    const what = `${f.name}${key}`;
    if (h.sum === undefined || h.count === undefined) throw new Error(`${what}: _sum or _count missing`);
    if (h.buckets.at(-1)?.[0] !== Infinity) throw new Error(`${what}: the last bucket is not +Inf`);
    for (let i = 1; i < h.buckets.length; i++) {
      if (!(h.buckets[i]![0] > h.buckets[i - 1]![0])) throw new Error(`${what}: bucket bounds are not increasing`);
      if (h.buckets[i]![1] < h.buckets[i - 1]![1]) throw new Error(`${what}: bucket counts are not cumulative`);
    }
    if (h.buckets.at(-1)![1] !== h.count) throw new Error(`${what}: the +Inf bucket is not the count`);
  }
}

/** The value of the one sample with exactly these labels (for a histogram, pass the sample name). */
export function valueOf(families: Map<string, Family>, family: string, labels: Record<string, string> = {}, sample = family): number | undefined {
  const f = families.get(family);
  const want = JSON.stringify(Object.entries(labels).sort());
  return f?.samples.find((s) => s.name === sample && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}
