/**
 * What an MCP session reads of the folder (BusReader, run as the daemon's user under `watch
 * --mcp-port`) is read where it is named: an inbox (or an archive folder) swapped for a link, out of
 * the root or into the daemon's private area, is neither listed nor read through, so a session is never
 * served the daemon's files or a file outside the root as its messages (review rv8).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BusReader } from "../../src/transports/mcp/bus.js";
import { Bus, vetoYaml } from "../support/bus.js";

let bus: Bus;
let outside: string;
beforeEach(() => {
  bus = Bus.init();
  outside = mkdtempSync(join(tmpdir(), "consensus-outside-"));
  writeFileSync(join(outside, "veto.yaml"), vetoYaml("devops", "quality", "EP-1", 1, "from_outside"));
});
afterEach(() => {
  bus.cleanup();
  rmSync(outside, { recursive: true, force: true });
});

describe("BusReader reads only where a path is named", () => {
  it("an inbox that is a link out of the root or into .consensus/ is neither listed nor read through", async () => {
    const inbox = join(bus.root, "messages/inbox/quality");
    rmSync(inbox, { recursive: true, force: true });
    symlinkSync(outside, inbox);
    rmSync(join(bus.root, "messages/inbox/devops"), { recursive: true, force: true });
    symlinkSync(join(bus.root, ".consensus"), join(bus.root, "messages/inbox/devops"));
    const r = new BusReader(bus.root);
    expect(await r.names("messages/inbox/quality")).toEqual([]);
    expect(await r.bytes("messages/inbox/quality/veto.yaml")).toBeUndefined();
    expect(await r.text("messages/inbox/quality/veto.yaml")).toBeUndefined();
    expect(await r.names("messages/inbox/devops")).toEqual([]);
    // files that are there (.consensus/rules.json; writer.json is written only by a running daemon)
    expect(existsSync(join(bus.root, ".consensus/rules.json"))).toBe(true);
    expect(await r.bytes("messages/inbox/devops/rules.json")).toBeUndefined();
    expect(await r.text("messages/inbox/devops/rules.json")).toBeUndefined();
  });

  it("an archive folder that is a link is not read through; a link at the name is refused as before; a real file is read", async () => {
    mkdirSync(join(outside, "1"));
    writeFileSync(join(outside, "1", "plan.json"), "{}");
    symlinkSync(outside, join(bus.root, "archive/EP-1"));
    const r = new BusReader(bus.root);
    expect(await r.text("archive/EP-1/1/plan.json")).toBeUndefined();
    symlinkSync(join(outside, "veto.yaml"), join(bus.root, "messages/inbox/planner/linked.yaml"));
    expect(await r.bytes("messages/inbox/planner/linked.yaml")).toBeUndefined();
    writeFileSync(join(bus.root, "messages/inbox/planner/real.yaml"), "x: 1\n");
    expect(Buffer.from((await r.bytes("messages/inbox/planner/real.yaml"))!).toString()).toBe("x: 1\n");
    expect(await r.names("messages/inbox/planner")).toContain("real.yaml");
  });

  it("a path that climbs out of the root ('..') is neither read nor listed, wherever its caller got it", async () => {
    const r = new BusReader(bus.root);
    const up = relative(bus.root, outside);
    expect(up.startsWith("..")).toBe(true);
    expect(await r.bytes(`${up}/veto.yaml`)).toBeUndefined();
    expect(await r.text(`messages/inbox/planner/../../../${up}/veto.yaml`)).toBeUndefined();
    expect(await r.names(up)).toEqual([]);
    expect(await r.names("messages/inbox/..")).toEqual([]);
  });

  it("an owner is asked only of an entry named below the root: '..' as its last segment, or as the whole path, gives none", async () => {
    const r = new BusReader(bus.root);
    // the root's parent (the temp folder) and an inbox's parent are there, with owners; neither is the entry named
    expect(await r.ownerOf("..")).toBeUndefined();
    expect(await r.ownerOf("messages/inbox/planner/..")).toBeUndefined();
    expect(await r.ownerOf("messages/inbox/.")).toBeUndefined();
    expect(await r.ownerOf(`${relative(bus.root, outside)}/veto.yaml`)).toBeUndefined();
    // a plain path still gives its owner
    expect(await r.ownerOf("messages/inbox")).toBe(process.geteuid!());
    expect(await r.ownerOf(".consensus")).toBe(process.geteuid!());
  });

  it("whether a path exists is asked only where it is named: '..', or a link on the way out of the root, is not there", async () => {
    const r = new BusReader(bus.root);
    expect(await r.exists("..")).toBe(false);
    expect(await r.exists(`${relative(bus.root, outside)}/veto.yaml`)).toBe(false);
    const inbox = join(bus.root, "messages/inbox/quality");
    rmSync(inbox, { recursive: true, force: true });
    symlinkSync(outside, inbox);
    expect(await r.exists("messages/inbox/quality/veto.yaml")).toBe(false);
    // a file where it is named is there
    expect(await r.exists(".consensus/rules.json")).toBe(true);
  });
});
