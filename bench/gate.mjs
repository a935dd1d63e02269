// The regression gate (issue 17 item 5): medians as ratios to a floor measured in the same run, so a
// busy machine — which slows the floor as much as the product — does not fail it, while a change that
// makes the product slower than the file system it runs on does. `bench:quick` compares each ratio
// with the one recorded in bench/gate.json (committed; `npm run bench:quick -- --record` rewrites it)
// and fails when a ratio grew more than GROWTH× (2×).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { machine, repo } from "./lib.mjs";

export const GATE_FILE = join(repo, "bench", "gate.json");
export const GROWTH = 2;

const r3 = (x) => Math.round(x * 1000) / 1000;

/**
 * The gated ratios from the results of one run (`load(name)` → the result JSON or undefined).
 * Each is a median over a floor of the same run: the drop floor (rename seen + fsync'd append +
 * atomic write) for the drop paths, `node -e 0` for the CLI's start-up.
 */
export function gateRatios(load) {
  const out = {};
  const floor = load("floor")?.metrics?.drop_floor?.median_ms;
  const L = load("latency")?.metrics;
  const T = load("throughput")?.metrics;
  const M = load("mcp")?.metrics;
  const U = load("startup")?.metrics;
  if (floor > 0) {
    if (L?.back_to_back?.total?.n) out["latency.back_to_back.median/floor"] = r3(L.back_to_back.total.median_ms / floor);
    if (L?.idle?.total?.n) out["latency.idle.median/floor"] = r3(L.idle.total.median_ms / floor);
    if (T?.accepted_per_s > 0) out["throughput.ms_per_drop/floor"] = r3(1000 / T.accepted_per_s / floor);
    if (M?.file_drop?.n) out["mcp.file_drop.median/floor"] = r3(M.file_drop.median_ms / floor);
  }
  if (U?.floor_node?.wall?.median_ms > 0) {
    for (const k of ["status", "watch_once"]) if (U[k]?.wall?.median_ms) out[`startup.${k}.median/node`] = r3(U[k].wall.median_ms / U.floor_node.wall.median_ms);
  }
  return out;
}

/** Compares with the recorded ratios: the failures (a ratio more than GROWTH× its recorded value) and every comparison. */
export function checkGate(ratios, recorded = readGate()) {
  const rows = [];
  const failures = [];
  if (!recorded) return { rows, failures: [`no recorded ratios in ${GATE_FILE}: record them with \`npm run bench:quick -- --record\``] };
  for (const [k, was] of Object.entries(recorded.ratios)) {
    const now = ratios[k];
    if (now === undefined) {
      // a benchmark left out (--only) or failed (the run fails for that already)
      rows.push({ ratio: k, recorded: was, now: "-", growth: "-", ok: true });
      continue;
    }
    const growth = now / was;
    rows.push({ ratio: k, recorded: was, now, growth: r3(growth), ok: growth <= GROWTH });
    if (growth > GROWTH) failures.push(`${k} is ${now}, ${growth.toFixed(2)}× the recorded ${was} (the gate allows ${GROWTH}×): a regression, or record anew with \`npm run bench:quick -- --record\` if it is meant`);
  }
  return { rows, failures };
}

export function readGate() {
  return existsSync(GATE_FILE) ? JSON.parse(readFileSync(GATE_FILE, "utf8")) : undefined;
}

/**
 * Records the ratios. A ratio to a floor still moves with the load (a busy disk slows the fsync floor
 * more than the product's CPU-bound part), so each recording keeps the larger of the recorded and
 * the new value (`fresh`: forget the old ones): recordings under different loads widen the envelope
 * the gate allows 2× over, and each one is listed in `history`.
 */
export function recordGate(ratios, note, fresh = false) {
  const old = fresh ? undefined : readGate();
  const merged = { ...(old?.ratios ?? {}) };
  for (const [k, v] of Object.entries(ratios)) merged[k] = Math.max(v, merged[k] ?? 0);
  const history = [...(old?.history ?? []), { at: new Date().toISOString(), load: machine().loadavg_at_write, note, ratios }];
  const doc = { recorded_at: new Date().toISOString(), quick: true, growth_allowed: GROWTH, machine: machine(), note: "each ratio: the largest recorded (see history)", ratios: merged, history };
  writeFileSync(GATE_FILE, `${JSON.stringify(doc, null, 2)}\n`);
  return GATE_FILE;
}
