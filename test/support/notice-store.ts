/**
 * The set-up the in-process notice tests share (test/store/notice-*.test.ts, prune-swap, sync-hostile):
 * a fresh temporary folder per test, and in it a real file store, recovered, with the developer's inbox
 * made. A test file that wraps node:fs or node:fs/promises with vi.mock imports this module after its
 * mocks (`await import(...)`), as it does the store, so the store here is the wrapped one too.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { layoutOf, type Layout } from "../../src/store/fs/layout.js";
import { readKeyring } from "../../src/trust/key-file.js";
import { keyedNoticeName } from "../../src/trust/notice-name.js";

/** What the store tells onNoticeKeyedName when a notice went to its keyed name. */
export type KeyedSaid = { file: string; written_to: string; uid: number | undefined; found: string; cause: string };

/** A fresh folder `<tmp>/<prefix>XXXXXX` for each test of the calling file, removed after it; the getter gives the current one. */
export function tempDirEach(prefix: string): () => string {
  let dir: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => {
    if (!dir) throw new Error("tempDirEach: asked for the folder outside a test");
    return dir;
  };
}

export interface InboxStore {
  /** The recovered store (closed by withInboxStore when `fn` ends). */
  store: FsStore;
  /** What recover() found (its view: what a checkpoint is given). */
  recovered: Awaited<ReturnType<FsStore["recover"]>>;
  L: Layout;
  /** messages/inbox/developer, made. */
  inbox: string;
  /** Every onNoticeKeyedName call, in order. */
  keyed: KeyedSaid[];
  /** The developer notice `name`'s keyed name under the ring's newest key. */
  keyedName(name: string): Promise<string>;
}

/**
 * A real FsStore on the root `<dir>/root` (made if missing: a second call reopens it, as a restart),
 * recovered, the developer's inbox made; runs `fn` with it and closes the store whatever `fn` does.
 */
export async function withInboxStore<T>(dir: string, fn: (s: InboxStore) => Promise<T>): Promise<T> {
  const L = layoutOf(join(dir, "root"));
  mkdirSync(L.root, { recursive: true });
  const keyed: KeyedSaid[] = [];
  const store = new FsStore(L, { onNoticeKeyedName: (a) => keyed.push(a) });
  const recovered = await store.recover();
  try {
    const inbox = join(L.inbox, "developer");
    mkdirSync(inbox, { recursive: true });
    const keyedName = async (name: string): Promise<string> => keyedNoticeName((await readKeyring(L.dot)).keysForFile().at(-1)!, "developer", name);
    return await fn({ store, recovered, L, inbox, keyed, keyedName });
  } finally {
    await store.close();
  }
}
