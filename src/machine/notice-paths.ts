/**
 * Paths in a notice, for the agent that reads it (PROTOCOL §6): every path a notice names is written
 * from the agent's working folder — the folder that holds the root, so `consensus/artifacts/EP-001/`
 * — and again absolute under `<field>_abs`. Notices are derived with paths relative to the root
 * (effects.ts); the daemon, which knows where the root is, places them with this. Pure: the root's
 * absolute path comes in.
 */
import type { NoticeDoc } from "./effects.js";

/** Fields of `content` (and of each veto in it) that hold paths relative to the root. */
const PATH_FIELDS = ["drop_to", "read", "epic", "file", "did_you_mean", "veto_file"];

export interface RootPlace {
  /** The root's absolute path, without a trailing slash. */
  abs: string;
  /** The root as seen from its parent folder (the agent's working folder): its base name. */
  fromWorkdir: string;
}

/** `/srv/p/consensus` → { abs: "/srv/p/consensus", fromWorkdir: "consensus" }. */
export function placeOf(rootAbs: string): RootPlace {
  const abs = rootAbs.replace(/\/+$/, "");
  return { abs, fromWorkdir: abs.slice(abs.lastIndexOf("/") + 1) };
}

/** The notice with every root-relative path rewritten from the working folder, and the absolute path beside it. */
export function placeNotice(n: NoticeDoc, at: RootPlace): NoticeDoc {
  return { ...n, content: placeFields(n.content, at) };
}

function placeFields(o: Record<string, unknown>, at: RootPlace): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (PATH_FIELDS.includes(k) && (typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string")))) {
      out[k] = Array.isArray(v) ? v.map((p) => fromWorkdir(p as string, at)) : fromWorkdir(v, at);
      out[`${k}_abs`] = Array.isArray(v) ? v.map((p) => absolute(p as string, at)) : absolute(v, at);
    } else if (Array.isArray(v)) out[k] = v.map((x) => (x && typeof x === "object" && !Array.isArray(x) ? placeFields(x as Record<string, unknown>, at) : x));
    else if (v && typeof v === "object") out[k] = placeFields(v as Record<string, unknown>, at);
    else out[k] = v;
  }
  return out;
}

const isRelative = (p: string): boolean => !p.startsWith("/") && !p.startsWith(`${"."}${"."}/`);
const fromWorkdir = (p: string, at: RootPlace): string => (isRelative(p) ? `${at.fromWorkdir}/${p}` : p);
const absolute = (p: string, at: RootPlace): string => (isRelative(p) ? `${at.abs}/${p}` : p);
