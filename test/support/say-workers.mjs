/**
 * Preload (NODE_OPTIONS=--import) for end-to-end tests: says on stderr each worker thread the process
 * starts ("worker thread: <file URL>"), so a test can tell a path that runs one from one that does not.
 */
import wt from "node:worker_threads";
import { syncBuiltinESMExports } from "node:module";

const Base = wt.Worker;
wt.Worker = class extends Base {
  constructor(file, opts) {
    super(file, opts);
    process.stderr.write(`worker thread: ${String(file)}\n`);
  }
};
// the ESM named export (import { Worker } from "node:worker_threads") follows the change
syncBuiltinESMExports();
