/** Following a decision log as it grows (`log --follow`, commands waiting for a verdict). */
import { open, stat } from "node:fs/promises";
import { daemonEntryOf, verdictIn, type DaemonEntry, type Verdict } from "../transports/await-decision.js";

/**
 * Reads a decision log from an offset on, as it grows: whole lines only (a line still being written is
 * kept for the next read). Used by `log --follow` and by commands waiting for a verdict.
 */
export class LogTail {
  private carry = "";
  private seen: DaemonEntry[] = [];
  private constructor(
    readonly path: string,
    private pos: number,
    /** Whether a whole line is to be believed (the log of record: a daemon line's MAC checks). */
    private readonly accept: (line: string) => boolean = () => true,
  ) {}

  /** A tail that starts at the log's current end (0 if there is no log yet). */
  static async atEnd(path: string, accept?: (line: string) => boolean): Promise<LogTail> {
    return new LogTail(path, await stat(path).then((s) => s.size, () => 0), accept);
  }

  static from(path: string, offset: number): LogTail {
    return new LogTail(path, offset);
  }

  /** The whole lines appended since the last call. */
  async lines(): Promise<string[]> {
    const size = await stat(this.path).then((s) => s.size, () => this.pos);
    if (size <= this.pos) return [];
    const fh = await open(this.path, "r");
    try {
      const buf = Buffer.alloc(size - this.pos);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.pos);
      this.pos += bytesRead;
      const lines = (this.carry + buf.subarray(0, bytesRead).toString("utf8")).split("\n");
      this.carry = lines.pop() ?? "";
      return lines;
    } finally {
      await fh.close();
    }
  }

  /**
   * The daemon's verdict on the input (file `rel` relative to the root, its SHA-256) once its whole
   * transaction is in; undefined until then. The same reading as every transport's wait
   * (await-decision.ts: only sealed daemon lines count), on the lines this tail has read so far, of
   * the log of record: only lines `accept` believes (their MAC checks) count.
   */
  async verdictOn(rel: string, sha256: string): Promise<Verdict | undefined> {
    for (const l of await this.lines()) {
      if (!this.accept(l)) continue;
      const e = daemonEntryOf(l);
      if (e) this.seen.push(e);
    }
    return verdictIn(this.seen, rel, sha256);
  }
}
