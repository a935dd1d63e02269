/**
 * Review 9: an agent's reader checks a keyed notice name by the notice's MAC alone (it holds its role's
 * notice keys, not the daemon key that made the name's keyed part). Another agent copied a genuine
 * notice, bytes unchanged, to a keyed-looking name of its own: the MAC checked, and `consensus inbox`
 * listed the agent's file as a genuine notice, a second copy of it, at a path whose owner may put other
 * bytes there once it is listed (the daemon's notices cannot be replaced: the inbox has the sticky bit).
 * The same with a copy at the regular name, free for the squatter once the notice went to its keyed
 * name. A file at a notice's name is a notice only as a file of the daemon's user (root, or the owner
 * of .consensus/, which no agent can make). Real files, the real daemon and CLI. Needs root to
 * make the copy as uid 4242.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, lchownSync, mkdirSync, renameSync, rmSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { keyedNoticeName } from "../../src/trust/notice-name.js";
import { roleNoticeKeys } from "../../src/trust/notice-mac.js";
import { Bus } from "../support/bus.js";
import { listedNotices, plannerNotice } from "../support/notice-inbox.js";

describe.skipIf(process.geteuid?.() !== 0)("a genuine notice copied by an agent to a keyed-looking name", () => {
  const b = Bus.init();
  afterAll(async () => {
    await b.stopDaemon();
    b.cleanup();
  });

  it("is not listed to a reader with only the role's notice keys; the daemon's copy is, once", async () => {
    const { name, inbox, keys } = await plannerNotice(b, "EP-001", "Copied");
    const roleKeys = roleNoticeKeys(keys, "planner", Date.now());
    const genuine = (): Promise<string[]> => listedNotices(b.root, "planner", roleKeys);

    // at its regular name: an agent's copy beside it
    const madeUp = name.replace(".yaml", ".0123456789abcdef.yaml");
    copyFileSync(join(inbox, name), join(inbox, madeUp));
    lchownSync(join(inbox, madeUp), 4242, 4242);
    expect(await genuine()).toEqual([`messages/inbox/planner/${name}`]);

    // at its keyed name (the regular one was taken): an agent's copy beside that one
    const keyed = keyedNoticeName(keys.at(-1)!, "planner", name);
    renameSync(join(inbox, name), join(inbox, keyed));
    mkdirSync(join(inbox, name));
    lchownSync(join(inbox, name), 4242, 4242);
    expect(await genuine()).toEqual([`messages/inbox/planner/${keyed}`]);

    // and at the regular name, free for the squatter once the notice is at its keyed name: its folder
    // swapped for a copy of the notice's bytes
    rmdirSync(join(inbox, name));
    copyFileSync(join(inbox, keyed), join(inbox, name));
    lchownSync(join(inbox, name), 4242, 4242);
    expect(await genuine()).toEqual([`messages/inbox/planner/${keyed}`]);

    // a reader with no key at all (log only) is told of no notice at the regular name whatever the
    // squatter keeps there: its folder, or a FIFO
    const bare = (): Promise<string[]> => listedNotices(b.root, "planner");
    rmSync(join(inbox, name));
    mkdirSync(join(inbox, name));
    lchownSync(join(inbox, name), 4242, 4242);
    expect(await bare()).toEqual([]);
    rmdirSync(join(inbox, name));
    expect(spawnSync("mkfifo", [join(inbox, name)]).status).toBe(0);
    lchownSync(join(inbox, name), 4242, 4242);
    expect(await bare()).toEqual([]);
  });
});
