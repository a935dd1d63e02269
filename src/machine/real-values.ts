/**
 * Fixes that carry the values the daemon knows (PROTOCOL §4): "Set "iteration": 2 (EP-001's current
 * iteration)", the epic id the file's folder names, the time to write; and the warning for a timestamp
 * far from the daemon's clock. Pure: the epic, the folder and `now` come in.
 */
import { issue, type Issue } from "../errors/issue.js";
import type { Epic } from "../schemas/types.gen.js";

export interface Known {
  /** The epic the file belongs to (or most likely belongs to). */
  epic?: Epic;
  /** The per-epic folder it is in. */
  folder?: string;
  now: string;
  /** The file's path: its extension says how to write a field (`"iteration": 2` or `iteration: 2`). */
  file: string;
}

const FIELD_OF: Record<string, "iteration" | "timestamp" | "epic_id"> = { "/iteration": "iteration", "/i": "iteration", "/timestamp": "timestamp", "/d": "timestamp", "/epic_id": "epic_id", "/epic": "epic_id" };
const REWRITTEN = new Set(["PLACEHOLDER", "SCHEMA", "WRONG_ITERATION", "UNKNOWN_EPIC", "EPIC_FOLDER_MISMATCH", "NORMALISED"]);

/** Each issue about iteration, timestamp or epic_id, with a fix that names the value to write. */
export function withRealValues(issues: Issue[], k: Known): Issue[] {
  return issues.map((i) => {
    const field = i.path !== undefined ? FIELD_OF[i.path] : undefined;
    if (!field || !REWRITTEN.has(i.code)) return i;
    const key = i.path!.slice(1);
    const fix = fixFor(field, key, i, k);
    return fix ? { ...i, fix } : i;
  });
}

function fixFor(field: "iteration" | "timestamp" | "epic_id", key: string, i: Issue, k: Known): string | undefined {
  const yaml = /\.ya?ml$/i.test(k.file);
  const set = (v: string | number) => `Set ${yaml ? `${key}: ${typeof v === "number" ? v : JSON.stringify(v)}` : `"${key}": ${JSON.stringify(v)}`}`;
  if (field === "iteration") {
    if (!k.epic || i.code === "NORMALISED") return undefined;
    return `${set(k.epic.iteration)} (${k.epic.epic_id}'s current iteration).`;
  }
  if (field === "timestamp") {
    if (i.code === "NORMALISED") return undefined;
    return `${set(`${k.now.slice(0, 19)}Z`)} — the time you write the file, RFC 3339 with a zone (\`date -u +%Y-%m-%dT%H:%M:%SZ\`).`;
  }
  const target = k.folder ?? k.epic?.epic_id;
  if (!target) return undefined;
  if (i.code === "EPIC_FOLDER_MISMATCH") return `${set(target)} (the epic of its folder artifacts/${target}/), or move the file to artifacts/${i.found ?? "<its epic>"}/ if it belongs to that epic.`;
  return `${set(target)} (${k.folder ? `the epic of its folder artifacts/${k.folder}/` : `the epic waiting for this file`}).`;
}

const DAY = 86_400_000;

/** How far before the epic's start a timestamp may lie without a warning (agents' clocks and copied examples drift by days, not months). */
const BEFORE_START = 30 * DAY;
/** How far ahead of the daemon's clock. */
const AHEAD = DAY;

/** A warning when `timestamp` is more than 30 days before the epic started or more than a day ahead of `now`. */
export function farTimestamp(timestamp: unknown, epic: Epic, now: string): Issue | undefined {
  if (typeof timestamp !== "string") return undefined;
  const t = Date.parse(timestamp);
  if (!Number.isFinite(t)) return undefined;
  const started = Date.parse(epic.started_at);
  const clock = Date.parse(now);
  const fix = `Write the time you write the file (now ${now.slice(0, 19)}Z): \`date -u +%Y-%m-%dT%H:%M:%SZ\`.`;
  if (t < started - BEFORE_START) return issue("TIMESTAMP_FAR", { message: `timestamp ${timestamp} is ${roughly(started - t)} before epic ${epic.epic_id} started (${epic.started_at})`, path: "/timestamp", found: timestamp, expected: `a time after ${epic.started_at}`, fix });
  if (t > clock + AHEAD) return issue("TIMESTAMP_FAR", { message: `timestamp ${timestamp} is ${roughly(t - clock)} ahead of the daemon's clock (${now})`, path: "/timestamp", found: timestamp, expected: `a time before ${now}`, fix });
  return undefined;
}

/** "3 days", "about 10 months", "about 2 years". */
export function roughly(ms: number): string {
  const days = Math.round(ms / DAY);
  if (days < 60) return `${days} day${days === 1 ? "" : "s"}`;
  const months = Math.round(days / 30.44);
  if (months < 24) return `about ${months} months`;
  return `about ${Math.round(days / 365.25)} years`;
}
