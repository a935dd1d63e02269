/**
 * The set-up the keyed-notice trust tests share (test/trust/notice-keyed-*.test.ts): a real notice
 * written by the real daemon, and what an agent's inbox reader lists as genuine.
 */
import { join } from "node:path";
import type { DaemonKey } from "../../src/trust/mac.js";
import { readKeyring } from "../../src/trust/key-file.js";
import { BusReader } from "../../src/transports/mcp/bus.js";
import { inboxOf } from "../../src/transports/mcp/inbox.js";
import { layoutOf } from "../../src/store/fs/layout.js";
import type { Bus } from "./bus.js";

/**
 * `epic` started, the daemon run until the planner's notice of it is in messages/inbox/planner, then
 * stopped (its exit waited for). Returns the notice's name, the inbox folder and the daemon keys.
 */
export async function plannerNotice(b: Bus, epic: string, title: string): Promise<{ name: string; inbox: string; keys: readonly DaemonKey[] }> {
  const started = b.cli("start", epic, "--title", title);
  if (started.code !== 0) throw new Error(`consensus start ${epic}: exit ${started.code}: ${started.stderr}`);
  b.startDaemon();
  const name = await b.until(`the planner's notice of ${epic}`, () => b.inbox("planner").find((n) => n.startsWith("notice-") && n.includes(epic)));
  await b.stopDaemon();
  const keys = (await readKeyring(layoutOf(b.root).dot)).keysForFile();
  return { name, inbox: join(b.root, "messages", "inbox", "planner"), keys };
}

/**
 * The files the MCP inbox lists to `role` as notices not found "not_genuine", read now: with the
 * role's notice keys as an agent's reader holds them, or with none (`roleKeys` undefined: log only).
 */
export async function listedNotices(root: string, role: string, roleKeys?: ReadonlyMap<string, string>): Promise<string[]> {
  const bus = new BusReader(root);
  return (await inboxOf(role, bus, await bus.snapshot(), undefined, roleKeys)).items.filter((i) => i.kind === "notice" && i.status !== "not_genuine").map((i) => i.file);
}
