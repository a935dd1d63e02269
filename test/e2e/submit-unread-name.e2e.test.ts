/**
 * `consensus submit` of a file under a name the bus never reads as an input (classify.ts: a dot-name
 * such as `.placed`, a temporary or editor name, a notice's `notice-` name): refused before anything is
 * placed, with the fix, never placed to wait out its timeout unread (nor answered with a fix that
 * removes the daemon's claims folder).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Bus } from "../support/bus.js";
import { tokenFor } from "../support/launch-token.js";

let bus: Bus | undefined;
afterEach(() => {
  bus?.cleanup();
  bus = undefined;
});

describe("consensus submit: a name the bus never reads", () => {
  it("is refused (exit 2) saying why and how to name it; nothing is placed in the inbox", async () => {
    const b = (bus = Bus.init());
    expect(b.cli("start", "EP-001", "--title", "Unread").code).toBe(0);
    const msg = "from: planner\nto: developer\ntimestamp: \"2026-11-21T10:00:00Z\"\nepic_id: EP-001\niteration: 1\ntype: info\nsubject: hello\n";
    mkdirSync(join(b.root, "messages", "inbox", "developer", ".placed"), { recursive: true });
    for (const name of [".placed", "notice-9-EP-001-artifact_rejected.yaml", ".hidden.yaml"]) {
      const src = join(b.dir, name);
      writeFileSync(src, msg);
      const r = b.cliWith({ CONSENSUS_TOKEN: await tokenFor(b, "planner") }, "submit", src, "--to", "developer", "--no-wait");
      expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`messages/inbox/developer/${name} is a name the bus never reads`);
      expect(r.stderr).not.toContain("rm -r");
    }
    expect(existsSync(join(b.root, "messages", "inbox", "developer", ".hidden.yaml"))).toBe(false);
    expect(existsSync(join(b.root, "messages", "inbox", "developer", "notice-9-EP-001-artifact_rejected.yaml"))).toBe(false);
  });
});
