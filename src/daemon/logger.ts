/**
 * pino JSON to stderr; readable lines when stderr is a terminal (or --pretty). Every line about an
 * epic carries epic, stage and iteration fields.
 */
import { createRequire } from "node:module";
import { pino, type Logger as PinoLogger } from "pino";
import type PinoPretty from "pino-pretty";

export type Logger = Pick<PinoLogger, "info" | "warn" | "error" | "debug" | "fatal" | "child">;

export function createLogger(opts: { level?: string; pretty?: boolean } = {}): Logger {
  const level = opts.level ?? process.env.CONSENSUS_LOG_LEVEL ?? "info";
  const human = opts.pretty ?? process.stderr.isTTY;
  if (human) {
    // loaded only for a person's terminal: it is a fifth of the daemon's module loading otherwise
    const pretty = createRequire(import.meta.url)("pino-pretty") as typeof PinoPretty;
    return pino({ level, base: undefined }, pretty({ destination: 2, sync: true, colorize: true, ignore: "pid,hostname", translateTime: "HH:MM:ss.l" }));
  }
  // Asynchronous: a synchronous write to a pipe that is not drained at once (a supervisor,
  // a parent process) made the daemon spin in sonic-boom's sleep — 12 % of its CPU in a 2,000-drop
  // flood. What a SIGKILL can lose is the lines still queued, never a decision: the decision
  // log is the record. A normal exit flushes.
  const dest = pino.destination({ dest: 2, sync: false });
  process.once("exit", () => {
    try {
      dest.flushSync();
    } catch {
      /* stderr closed */
    }
  });
  return pino({ level, base: { pid: process.pid } }, dest);
}

/** For tests and commands that must stay quiet. */
export const silentLogger = (): Logger => pino({ level: "silent" });
