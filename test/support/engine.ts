/** A real engine over a real file store, for the engine's own tests (no daemon, no watcher). */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../../src/engine/engine.js";
import { silentLogger } from "../../src/daemon/logger.js";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf } from "../../src/store/fs/layout.js";
import { pipeline } from "./pipeline.js";

/** Opens (recovering what is there) the store and engine of the root `<dir>/consensus`, made if missing, with the test pipeline. */
export async function engineIn(dir: string): Promise<{ layout: ReturnType<typeof layoutOf>; store: FsStore; engine: Engine }> {
  const layout = layoutOf(join(dir, "consensus"));
  mkdirSync(layout.dot, { recursive: true });
  const store = new FsStore(layout);
  const engine = await Engine.open(pipeline, store, silentLogger());
  return { layout, store, engine };
}
