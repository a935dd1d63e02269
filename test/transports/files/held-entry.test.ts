/**
 * What holds an artifact's name unread (prepare.ts holdsByEntry, entryIssue; scan.ts heldByFolder):
 * a FIFO, socket or device always; a folder at a stage's artifact name, never an epic's folder; a
 * symbolic link only when an agent's OS user made it (a person's or the daemon's is read as before).
 */
import { describe, expect, it } from "vitest";
import { defaultPipeline } from "../../../src/config/pipeline.js";
import { DEFAULT_CONFIG_YAML } from "../../../src/config/default-config.js";
import { classifyPath } from "../../../src/transports/files/classify.js";
import { entryIssue, holdsByEntry } from "../../../src/transports/files/prepare.js";
import { heldByFolder } from "../../../src/transports/files/scan.js";

const pipeline = defaultPipeline(DEFAULT_CONFIG_YAML);
const AGENT = 990;
const SHARED = 991;
const users = { roleOfUid: new Map([[AGENT, { role: "devops", user: "cops" }]]), shared: new Map([[SHARED, { user: "cdv", roles: ["developer", "quality"] }]]) };
const entry = (type: "file" | "dir" | "link" | "fifo", uid = AGENT) => ({ isFile: () => type === "file", isDirectory: () => type === "dir", isSymbolicLink: () => type === "link", uid });
const artifact = (rel: string) => {
  const c = classifyPath(rel);
  if (c.kind !== "artifact") throw new Error(`${rel} is ${c.kind}`);
  return c;
};

describe("holdsByEntry", () => {
  it("a regular file is read; a FIFO (socket, device) is decided unread wherever it is", () => {
    expect(holdsByEntry(artifact("artifacts/EP-001/plan.json"), entry("file"), pipeline, users)).toBe(false);
    expect(holdsByEntry(artifact("artifacts/EP-001/plan.json"), entry("fifo"), pipeline, users)).toBe(true);
    expect(holdsByEntry(artifact("artifacts/EP-001/notes.txt"), entry("fifo", 0), pipeline, users)).toBe(true);
  });

  it("a folder at an artifact's name, per-epic or flat; never an epic's folder nor a name no stage has", () => {
    expect(holdsByEntry(artifact("artifacts/EP-001/plan.json"), entry("dir"), pipeline, users)).toBe(true);
    expect(holdsByEntry(artifact("artifacts/plan.json"), entry("dir", 0), pipeline, users)).toBe(true);
    expect(holdsByEntry(artifact("artifacts/EP-001"), entry("dir"), pipeline, users)).toBe(false);
    expect(holdsByEntry(artifact("artifacts/EP-001/drafts"), entry("dir"), pipeline, users)).toBe(false);
  });

  it("a link at an artifact's name when an agent's user (its own or shared) made it; a person's or root's is read as before", () => {
    expect(holdsByEntry(artifact("artifacts/EP-001/plan.json"), entry("link"), pipeline, users)).toBe(true);
    expect(holdsByEntry(artifact("artifacts/EP-001/plan.json"), entry("link", SHARED), pipeline, users)).toBe(true);
    expect(holdsByEntry(artifact("artifacts/EP-001/plan.json"), entry("link", 0), pipeline, users)).toBe(false);
    expect(holdsByEntry(artifact("artifacts/EP-001/notes.txt"), entry("link"), pipeline, users)).toBe(false);
  });
});

describe("entryIssue", () => {
  it("says what the entry is and how to clear the name, by kind", () => {
    expect(entryIssue("artifacts/EP-001/plan.json", "a folder")).toMatchObject({ code: "NOT_REGULAR_FILE", message: "artifacts/EP-001/plan.json is a folder, not a regular file: not read", found: "a folder", fix: expect.stringContaining("`rm -r artifacts/EP-001/plan.json`") });
    expect(entryIssue("artifacts/EP-001/plan.json", "a symbolic link").fix).toMatch(/Remove the link .* copy the file into place/);
    expect(entryIssue("artifacts/EP-001/plan.json", "a FIFO (named pipe)")).toMatchObject({ found: "a FIFO (named pipe)", fix: expect.stringContaining("`rm artifacts/EP-001/plan.json`") });
  });
});

describe("heldByFolder", () => {
  it("a folder is a scan's candidate only at a drop's name, not an epic's folder", () => {
    expect(["artifacts/EP-001/plan.json", "artifacts/plan.json", "artifacts/EP-001", "messages/inbox/developer/x.yaml"].map((r) => heldByFolder(classifyPath(r)))).toEqual([true, true, false, false]);
  });
});

describe("zoneFolderOf: where a drop zone's folder goes (review rv8)", () => {
  it("an epic's folder and a role's inbox, as the input an entry there that is no folder becomes; nothing else", async () => {
    const { zoneFolderOf } = await import("../../../src/transports/files/prepare.js");
    expect(zoneFolderOf(classifyPath("artifacts/EP-001"), pipeline)).toEqual({ as: { kind: "artifact", rel: "artifacts/EP-001", name: "", folder: "EP-001" }, holds: "the epic's files" });
    expect(zoneFolderOf(classifyPath("messages/inbox/devops"), pipeline)).toEqual({ as: { kind: "message", rel: "messages/inbox/devops", name: "", inbox: "devops" }, holds: "the messages to devops" });
    // a stage's file, a file in an epic's folder, a flat file with a dot, a message: not a zone's folder
    expect(zoneFolderOf(classifyPath("artifacts/plan.json"), pipeline)).toBeUndefined();
    expect(zoneFolderOf(classifyPath("artifacts/EP-001/plan.json"), pipeline)).toBeUndefined();
    expect(zoneFolderOf(classifyPath("messages/inbox/devops/veto.yaml"), pipeline)).toBeUndefined();
    expect(zoneFolderOf(classifyPath("messages/devops"), pipeline)).toBeUndefined();
  });

  it("a bridged row the sender could not read, where an epic's folder goes, names the epic (rows transport)", async () => {
    const { prepareRow } = await import("../../../src/transports/rows/prepare-row.js");
    const { issue } = await import("../../../src/errors/issue.js");
    const problem = issue("SYMLINK_OUTSIDE", { message: "artifacts/EP-001 is a symbolic link to /tmp/x, not a folder", file: "artifacts/EP-001", found: "/tmp/x" });
    const p = prepareRow({ id: 1, key: "k", kind: "file", path: "artifacts/EP-001", problem, source: "bridge test" }, { pipeline, world: undefined as never, now: 0 });
    expect(p).toMatchObject({ kind: "ready", item: { input: { type: "artifact", file: "artifacts/EP-001", name: "", folder: "EP-001", issues: [expect.objectContaining({ code: "SYMLINK_OUTSIDE" })] } } });
  });
});
