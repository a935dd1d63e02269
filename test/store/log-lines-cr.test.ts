/**
 * The log is written, chained and read at "\n" only: an agent's line holding a bare carriage return
 * (valid JSON whitespace, recorded as written) is one line to the daemon that chained it, and must be
 * one line to everything that reads the log of record or the readable copy — `log verify`, `doctor`
 * and `gate` (verifyLogFile, countMirror) as to readEntries. Split at "\r" too (node:readline), it
 * read as two lines, and the chain as broken: any agent could make the log of record look edited.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { until } from "../support/until.js";
import { FsStore } from "../../src/store/fs/fs-store.js";
import { countMirror, logCheckOf, verifyLogFile } from "../../src/store/fs/read-chain.js";
import { engineIn } from "../support/engine.js";

describe("an agent's line with a bare carriage return", () => {
  it("is one line of the log of record and of the readable copy to every reader, and the chain holds", async () => {
    const dir = mkdtempSync(join(tmpdir(), "consensus-cr-"));
    const { layout, engine, store } = await engineIn(dir);
    try {
      await engine.process([{ input: { type: "start", epic_id: "EP-001", title: "epic", by: "tester" }, key: "request:EP-001" }]);
      // as an agent appends it to the readable copy: "\r" as JSON whitespace, and a CRLF line end
      appendFileSync(layout.log, `{"timestamp":"2026-11-30T00:00:00Z","agent":"developer",\r"decision":"started_work","epic_id":"EP-001"}\r\n`);
      // read as the daemon reads the copy, until its line is recorded
      await until("the agent's line to be recorded", async () => (await engine.readAgentLines()).some((e) => e.decision === "agent_lines_recorded"), 10_000);
      await engine.process([{ input: { type: "start", epic_id: "EP-002", title: "epic", by: "tester" }, key: "request:EP-002" }]);
      expect(readFileSync(layout.record, "utf8")).toContain("\r");

      const { check } = await logCheckOf(layout);
      const chain = await verifyLogFile(layout.record, check);
      const read: string[] = [];
      for await (const l of new FsStore(layout, { readOnly: true }).readEntries()) read.push(l.raw);
      expect(chain).toMatchObject({ ok: true, lines: read.length, agentLines: 1 });
      expect(read.filter((r) => r.includes("\r"))).toHaveLength(1);
      const mirror = await countMirror(layout);
      expect(mirror).toMatchObject({ forged: 0, agent: 1 });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
