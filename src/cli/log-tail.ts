/** Following a decision log as it grows (`log --follow`, commands waiting for a verdict). */
import { open, stat } from "node:fs/promises";
import type { LogEntry } from "../schemas/types.gen.js";

/**
 * Reads a decision log from an offset on, as it grows: whole lines only (a line still being written is
 * kept for the next read). Used by `log --follow` and by commands waiting for a verdict.
 */
export class LogTail {
  private carry = "";
  private seen: LogEntry[] = [];
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
   * The daemon's entries of the transaction that consumed `rel` (its first names the file, its last
   * carries `mark`, the processed mark path@sha256), once all of them are in; undefined until then.
   * Reads the log of record; only lines `accept` believes (their MAC checks) count.
   */
  async transactionOf(rel: string, mark: string): Promise<LogEntry[] | undefined> {
    for (const l of await this.lines()) {
      if (!this.accept(l)) continue;
      try {
        const e = JSON.parse(l) as LogEntry;
        if (e && typeof e === "object" && e.agent === "orchestrator" && typeof e.seq === "number") this.seen.push(e);
      } catch {
        /* an agent's torn or foreign line */
      }
    }
    const end = this.seen.findIndex((e) => e.input === mark);
    if (end < 0) return undefined;
    // the transaction opens with the file's own entry (message_accepted or _rejected, details.file)
    let start = end;
    while (start > 0 && (this.seen[start]!.details as { file?: unknown } | undefined)?.file !== rel) start--;
    return this.seen.slice(start, end + 1);
  }
}
