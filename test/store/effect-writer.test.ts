/**
 * The effect writer (issue 17.2) as built (dist/: a worker runs compiled code): the daemon's notices
 * and archive copies written on a worker thread by the same function as on the calling thread, with the
 * same refusals carried back as the same errors, and a worker that dies replaced by the calling thread
 * without losing a write.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConsensusError } from "../../src/errors/issue.js";
import type { effectWriter as EffectWriterFn, EffectWriter } from "../../src/store/fs/effect-writer.js";
import type { EffectFileError as EffectFileErrorClass } from "../../src/store/fs/effect-file.js";

const built = "../../dist/store/fs/effect-writer.js";
// the built files (a worker runs compiled code), with the sources' types
const { effectWriter } = (await import(built)) as { effectWriter: typeof EffectWriterFn };
const builtFile = "../../dist/store/fs/effect-file.js";
const { EffectFileError } = (await import(builtFile)) as { EffectFileError: typeof EffectFileErrorClass };

let dir: string;
let root: string;
let w: EffectWriter | undefined;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "consensus-effect-writer-")));
  root = join(dir, "consensus");
  mkdirSync(root);
});
afterEach(async () => {
  await w?.close();
  w = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** The error a write rejects with (it must reject). */
async function failure(p: Promise<unknown>): Promise<InstanceType<typeof EffectFileErrorClass>> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(EffectFileError);
  return e as InstanceType<typeof EffectFileErrorClass>;
}

/**
 * The write, asked in one turn after two others and before three (into a folder of their own), so the
 * worker makes it: while the worker is idle, the first two writes of a turn are made at once on the
 * calling thread, and so are the rest when fewer than four.
 */
function withOthers(writer: EffectWriter, target: string, bytes: Uint8Array): Promise<string[]> {
  const other = (): void => void writer.write(root, join(root, "others", `${Math.random().toString(36).slice(2)}.yaml`), Buffer.from("o"), 0o755).catch(() => {});
  other();
  other();
  const mine = writer.write(root, target, bytes, 0o755);
  for (let i = 0; i < 3; i++) other();
  return mine;
}

describe("the effect writer thread", () => {
  it("writes on a thread of its own: files whole, modes set, the folders it made reported", async () => {
    const failed: Error[] = [];
    w = effectWriter({ worker: true, onFailed: (e) => failed.push(e) });
    expect(w.threaded).toBe(true);
    const target = join(root, "archive", "EP-001", "1", "plan.json");
    const changed = await withOthers(w, target, Buffer.from('{"a":1}'));
    // each folder made is reported by its parent (whose entries changed), for the checkpoint to sync
    expect(changed).toEqual([root, join(root, "archive"), join(root, "archive", "EP-001")]);
    expect(readFileSync(target, "utf8")).toBe('{"a":1}');
    expect(lstatSync(target).mode & 0o777).toBe(0o644);
    expect(lstatSync(join(root, "archive", "EP-001")).mode & 0o777).toBe(0o755);
    // no temporary is left beside it
    expect(readdirSync(join(root, "archive", "EP-001", "1"))).toEqual(["plan.json"]);
    // a second write into the same folder changes no folder
    expect(await withOthers(w, join(root, "archive", "EP-001", "1", "spec.md"), Buffer.from("x"))).toEqual([]);
    // the worker did the writes: it never failed over to this thread
    expect(failed).toEqual([]);
  });

  it("writes asked in one turn (a burst's lanes) all land, each answered", async () => {
    w = effectWriter({ worker: true });
    const targets = Array.from({ length: 300 }, (_, i) => join(root, "messages", "inbox", "developer", `notice-${String(i).padStart(8, "0")}.yaml`));
    const all = await Promise.all(targets.map((t, i) => w!.write(root, t, Buffer.from(`n: ${i}\n`), 0o755)));
    expect(all.flat().filter((d) => d === join(root, "messages", "inbox"))).toHaveLength(1);
    targets.forEach((t, i) => expect(readFileSync(t, "utf8")).toBe(`n: ${i}\n`));
  });

  it("refuses a folder swapped for a link as the calling thread does: UNSAFE_PATH, nothing written through it", async () => {
    const outside = join(dir, "outside");
    mkdirSync(outside);
    mkdirSync(join(root, "messages", "inbox"), { recursive: true });
    symlinkSync(outside, join(root, "messages", "inbox", "developer"));
    for (const writer of [effectWriter({ worker: true }), effectWriter()]) {
      const e = await failure(withOthers(writer, join(root, "messages", "inbox", "developer", "notice.yaml"), Buffer.from("x")));
      // the built files' own ConsensusError class (dist/), so by name
      expect((e.cause as Error).name).toBe("ConsensusError");
      const c = e.cause as ConsensusError;
      expect(c.issues[0]!.code).toBe("UNSAFE_PATH");
      expect(c.message).toContain(join(root, "messages", "inbox", "developer"));
      expect(c.issues[0]!.fix).toBeTruthy();
      await writer.close();
    }
    expect(readdirSync(outside)).toEqual([]);
  });

  it("carries an errno failure back with its code, and the folders made before it", async () => {
    w = effectWriter({ worker: true });
    const target = join(root, "archive", "EP-002", "1", `${"n".repeat(300)}.md`);
    const e = await failure(withOthers(w, target, Buffer.from("x")));
    expect((e.cause as NodeJS.ErrnoException).code).toBe("ENAMETOOLONG");
    expect(e.changed).toEqual([root, join(root, "archive"), join(root, "archive", "EP-002")]);
    // a file where a folder must be: refused with the fix
    writeFileSync(join(root, "archive", "EP-003"), "not a folder");
    const f = await failure(withOthers(w, join(root, "archive", "EP-003", "1", "plan.json"), Buffer.from("x")));
    expect((f.cause as ConsensusError).issues[0]!.code).toBe("UNSAFE_PATH");
  });

  it("a path holding a NUL is refused by itself; the writes asked with it land", async () => {
    w = effectWriter({ worker: true });
    const good = join(root, "messages", "inbox", "devops", "ok.yaml");
    const [bad, ok] = await Promise.allSettled([w.write(root, join(root, "messages", "inbox", "devops", "a\0b.yaml"), Buffer.from("x"), 0o755), withOthers(w, good, Buffer.from("ok"))]);
    expect(bad.status).toBe("rejected");
    expect(ok.status).toBe("fulfilled");
    expect(readFileSync(good, "utf8")).toBe("ok");
  });

  it("a lone write while the worker is idle (a drop alone) is made on the calling thread, with no round trip", async () => {
    // a worker that exits at its first message: a write made there would be told as its failure
    const script = join(dir, "dying-worker.mjs");
    writeFileSync(script, 'import { parentPort } from "node:worker_threads";\nparentPort.on("message", () => process.exit(3));\n');
    const failed: Error[] = [];
    w = effectWriter({ worker: true, workerFile: pathToFileURL(script), onFailed: (e) => failed.push(e) });
    for (const name of ["plan.json", "notice.yaml", "again.yaml"]) await w.write(root, join(root, "archive", "EP-009", "1", name), Buffer.from(name), 0o755);
    expect(readdirSync(join(root, "archive", "EP-009", "1")).sort()).toEqual(["again.yaml", "notice.yaml", "plan.json"]);
    expect(failed).toEqual([]);
    // six at once: the first two made here, the other four go to the worker (which dies here: they
    // are made on this thread after all)
    await Promise.all(["a", "b", "c", "d", "e", "f"].map((n) => w!.write(root, join(root, "archive", "EP-009", "1", n), Buffer.from(n), 0o755)));
    expect(failed).toHaveLength(1);
  });

  it("a worker that exits is replaced by the calling thread: every write lands, the failure is told once", async () => {
    // a worker that takes the first message and exits without answering
    const script = join(dir, "dying-worker.mjs");
    writeFileSync(script, 'import { parentPort } from "node:worker_threads";\nparentPort.on("message", () => process.exit(3));\n');
    const failed: Error[] = [];
    w = effectWriter({ worker: true, workerFile: pathToFileURL(script), onFailed: (e) => failed.push(e) });
    const targets = Array.from({ length: 20 }, (_, i) => join(root, "messages", "inbox", "quality", `n-${i}.yaml`));
    await Promise.all(targets.map((t) => w!.write(root, t, Buffer.from(t), 0o755)));
    // and after it
    await w.write(root, join(root, "messages", "inbox", "quality", "later.yaml"), Buffer.from("later"), 0o755);
    for (const t of targets) expect(readFileSync(t, "utf8")).toBe(t);
    expect(readFileSync(join(root, "messages", "inbox", "quality", "later.yaml"), "utf8")).toBe("later");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.message).toContain("exited (code 3)");
  });

  it("close() waits for the writes in flight", async () => {
    w = effectWriter({ worker: true });
    const targets = Array.from({ length: 50 }, (_, i) => join(root, "archive", `EP-${100 + i}`, "1", "plan.json"));
    const writes = targets.map((t) => w!.write(root, t, Buffer.from("p"), 0o755));
    await w.close();
    await Promise.all(writes);
    for (const t of targets) expect(readFileSync(t, "utf8")).toBe("p");
  });
});
