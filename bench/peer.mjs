// The peer: what a user would write instead of consensus for the same job — a chokidar watcher with
// `awaitWriteFinish: true` (its defaults: 2000 ms stability threshold, 100 ms poll) that reads each
// plan.json, parses and validates it against the same JSON Schema (ajv 2020, with formats), and
// appends one JSON line to a log with an fdatasync. No hash chain, no state machine, no notice, no
// processed marks: less work than the product does, so the ratio flatters the peer.
//   peerLatency(n)     rename into place → the line is durable, one file at a time (staggered 50 ms)
//   peerThroughput(n)  n files renamed at once → all their lines durable
import { closeSync, fdatasyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { watch as chokidarWatch } from "chokidar";
import { cleanup, deadline, epicId, now, planFor, repo, stats, tempDir } from "./lib.mjs";

const require = createRequire(import.meta.url);

function validator() {
  const Ajv2020 = require("ajv/dist/2020").default;
  const addFormats = require("ajv-formats");
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  for (const f of ["common", "plan"]) ajv.addSchema(JSON.parse(readFileSync(join(repo, "schemas", `${f}.schema.json`), "utf8")));
  return ajv.getSchema("https://schemas.consensus.dev/v1/plan.schema.json");
}

/** A started peer over a fresh folder: `onDurable(name, t)` after each line's fdatasync. */
async function startPeer(onDurable) {
  const dir = tempDir("consensus-peer-");
  const drops = join(dir, "drops");
  mkdirSync(drops);
  const validate = validator();
  const fd = openSync(join(dir, "log.jsonl"), "a");
  const w = chokidarWatch(drops, { ignoreInitial: true, awaitWriteFinish: true, ignored: (p) => p.slice(p.lastIndexOf("/") + 1).startsWith(".") });
  await new Promise((r) => w.once("ready", r));
  let bad = 0;
  w.on("add", (p) => {
    const name = p.slice(p.lastIndexOf("/") + 1);
    let doc;
    let ok = false;
    try {
      doc = JSON.parse(readFileSync(p, "utf8"));
      ok = validate(doc);
    } catch {
      ok = false;
    }
    if (!ok) bad++;
    writeSync(fd, `${JSON.stringify({ timestamp: new Date().toISOString(), file: name, epic_id: doc?.epic_id, decision: ok ? "accepted" : "rejected" })}\n`);
    fdatasyncSync(fd);
    onDurable(name, now());
  });
  return {
    dir,
    drops,
    bad: () => bad,
    async close() {
      await w.close();
      closeSync(fd);
      cleanup(dir);
    },
  };
}

/** Rename → durable line, one file at a time, each 50 ms after the last (each has its own stability timer). */
export async function peerLatency(n) {
  const started = new Map();
  const samples = [];
  let done;
  const all = new Promise((r) => (done = r));
  const peer = await startPeer((name, t) => {
    const t0 = started.get(name);
    if (t0 === undefined) return;
    samples.push(t - t0);
    if (samples.length === n) done();
  });
  for (let i = 0; i < n; i++) {
    const name = `plan-${i}.json`;
    const tmp = join(peer.drops, `.${name}.tmp`);
    writeFileSync(tmp, planFor(epicId(i)));
    started.set(name, now());
    renameSync(tmp, join(peer.drops, name));
    await new Promise((r) => setTimeout(r, 50));
  }
  const guard = deadline(120_000, "peer: durable lines");
  await Promise.race([all, guard]);
  guard.cancel();
  const bad = peer.bad();
  await peer.close();
  if (bad) throw new Error(`peer: ${bad} valid plans failed validation`);
  return stats(samples);
}

/** n files renamed at once → every line durable; accepted per second. */
export async function peerThroughput(n) {
  let seen = 0;
  let done;
  const all = new Promise((r) => (done = r));
  const peer = await startPeer((_name, t) => {
    if (++seen === n) done(t);
  });
  const tmps = [];
  for (let i = 0; i < n; i++) {
    const name = `plan-${i}.json`;
    const tmp = join(peer.drops, `.${name}.tmp`);
    writeFileSync(tmp, planFor(epicId(i)));
    tmps.push([tmp, join(peer.drops, name)]);
  }
  const t0 = now();
  for (const [a, b] of tmps) renameSync(a, b);
  const guard = deadline(10 * 60_000, "peer: all lines durable");
  const tAll = await Promise.race([all, guard]);
  guard.cancel();
  await peer.close();
  return { drops: n, all_durable_ms: Math.round(tAll - t0), accepted_per_s: Math.round((n / (tAll - t0)) * 1000 * 10) / 10 };
}
