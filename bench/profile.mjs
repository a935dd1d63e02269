#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, self time per module
// (package, dist/ file, node internals), and inclusive time of the product's own functions, all as
// shares of the busy (non-idle) time. Usage: node bench/profile.mjs FILE.cpuprofile [--top N]
import { readFileSync } from "node:fs";

function moduleOf(url, fn) {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  const dist = /\/dist\/(.+)$/.exec(url);
  if (dist) return `dist/${dist[1]}`;
  if (url.startsWith("node:")) return url.replace(/^node:internal\/(.*)$/, "node:$1").split("/").slice(0, 2).join("/");
  return url.replace(/^file:\/\/.*\//, "");
}

function label(cf) {
  const fn = cf.functionName || "(anonymous)";
  if (!cf.url) return fn;
  const short = cf.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, "$1/").replace(/^node:internal\//, "node:");
  return `${fn} ${short}:${cf.lineNumber + 1}`;
}

/**
 * `window` (optional) = {from, to} in µs of CLOCK_MONOTONIC (process.hrtime in the measuring
 * process, which is V8's profile clock on Linux): only samples inside it count, so the daemon's
 * start-up is left out of the picture of the drop path.
 */
export function summariseProfile(path, top = 25, window) {
  const p = JSON.parse(readFileSync(path, "utf8"));
  let ts = p.startTime;
  const stamps = p.timeDeltas.map((d) => (ts += d));
  let windowed = false;
  if (window && stamps.some((t) => t >= window.from && t <= window.to)) windowed = true;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const incl = new Map();
  const mods = new Map();
  const pkgIncl = new Map();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    if (windowed && (stamps[i] < window.from || stamps[i] > window.to)) continue;
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // ms
    const node = byId.get(p.samples[i]);
    const cf = node.callFrame;
    total += dt;
    if (cf.functionName === "(idle)") {
      idle += dt;
      continue;
    }
    const key = label(cf);
    self.set(key, (self.get(key) ?? 0) + dt);
    const m = moduleOf(cf.url, cf.functionName);
    mods.set(m, (mods.get(m) ?? 0) + dt);
    const seen = new Set();
    const seenPkg = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id).callFrame;
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url)?.[1];
      if (pkg && !seenPkg.has(pkg)) {
        seenPkg.add(pkg);
        pkgIncl.set(pkg, (pkgIncl.get(pkg) ?? 0) + dt);
      }
      if (!f.url.includes("/dist/")) continue;
      const k = label(f);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
  }
  const busy = total - idle;
  const rows = (m, n = top) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), share: Math.round((ms / busy) * 1000) / 10 }));
  return { windowed, wall_ms: Math.round(total), busy_ms: Math.round(busy), idle_ms: Math.round(idle), self: rows(self), modules: rows(mods, 20), product_inclusive: rows(incl, 30), package_inclusive: rows(pkgIncl, 12) };
}

export function printProfile(s) {
  console.log(`  daemon profile${s.windowed ? " (measured drops only, start-up excluded)" : ""}: ${s.wall_ms} ms wall, ${s.busy_ms} ms busy (shares below are of busy time)`);
  console.log("  top self time:");
  for (const r of s.self.slice(0, 15)) console.log(`    ${String(r.share).padStart(5)}%  ${String(r.ms).padStart(6)} ms  ${r.name}`);
  console.log("  self time by module:");
  for (const r of s.modules.slice(0, 12)) console.log(`    ${String(r.share).padStart(5)}%  ${String(r.ms).padStart(6)} ms  ${r.name}`);
  console.log("  inclusive time by package (stack contains it):");
  for (const r of s.package_inclusive.slice(0, 10)) console.log(`    ${String(r.share).padStart(5)}%  ${String(r.ms).padStart(6)} ms  ${r.name}`);
  console.log("  inclusive time of the product's functions:");
  for (const r of s.product_inclusive.slice(0, 20)) console.log(`    ${String(r.share).padStart(5)}%  ${String(r.ms).padStart(6)} ms  ${r.name}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  const i = process.argv.indexOf("--top");
  printProfile(summariseProfile(file, i > 0 ? Number(process.argv[i + 1]) : 25));
}
