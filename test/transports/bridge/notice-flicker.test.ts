/**
 * Review 9: the bridge mirrors a notice down while an agent makes a folder at its name and removes it
 * again in a loop. The bridge's rename failed on the folder (EISDIR), the folder was gone by the time
 * it looked, and the error was thrown out of the bridge's turn: not a transient one, so the bridge
 * exited, and every later notice, archive copy and upward drop of the host waited on a restart (where
 * the same agent could do it again). The agent's timing is made deterministic by wrapping the renames
 * (as in test/store/notice-name-race.test.ts); the files are real. Needs root (the folder is uid 4242's).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("node:fs/promises", async (importOriginal) => (await import("../../support/flicker.js")).flickeringRename(await importOriginal<typeof import("node:fs/promises")>()));

const { flicker } = await import("../../support/flicker.js");
const { writeNoticeDown } = await import("../../../src/transports/bridge/bridge.js");
const { ensureKeyring } = await import("../../../src/trust/key-file.js");
const { keyedNoticeName } = await import("../../../src/trust/notice-name.js");

describe.skipIf(process.geteuid?.() !== 0)("the bridge mirroring a notice down at a name an agent flickers", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "consensus-bridge-flicker-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes it at its keyed name and goes on (no throw out of the bridge)", async () => {
    const root = join(dir, "consensus");
    const inbox = join(root, "messages", "inbox", "planner");
    mkdirSync(inbox, { recursive: true });
    const { keyring } = await ensureKeyring(join(root, ".consensus"));
    const name = "notice-00000004-EP-070-stage_entered.yaml";
    flicker(join(inbox, name));
    const said: string[] = [];
    const log = { warn: (_o: unknown, m: string) => void said.push(m), error: (_o: unknown, m: string) => void said.push(m), info: () => {}, debug: () => {}, fatal: () => {}, child: () => log } as never;
    await writeNoticeDown(root, join(inbox, name), Buffer.from("body\n"), log);
    const keyed = keyedNoticeName(keyring.keysForFile().at(-1)!, "planner", name);
    expect(readdirSync(inbox).filter((n) => n.startsWith("notice-"))).toEqual([keyed]);
    expect(readFileSync(join(inbox, keyed), "utf8")).toBe("body\n");
    expect(said.some((m) => /mirrored down at its keyed name/.test(m))).toBe(true);
  });
});
