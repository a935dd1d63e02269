/**
 * pino JSON to stderr; readable lines when stderr is a terminal (or --pretty). Every line about an
 * epic carries epic, stage and iteration fields.
 */
import { pino, type Logger as PinoLogger } from "pino";
import pretty from "pino-pretty";

export type Logger = Pick<PinoLogger, "info" | "warn" | "error" | "debug" | "fatal" | "child">;

export function createLogger(opts: { level?: string; pretty?: boolean } = {}): Logger {
  const level = opts.level ?? process.env.CONSENSUS_LOG_LEVEL ?? "info";
  const human = opts.pretty ?? process.stderr.isTTY;
  if (human) {
    return pino({ level, base: undefined }, pretty({ destination: 2, sync: true, colorize: true, ignore: "pid,hostname", translateTime: "HH:MM:ss.l" }));
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}

/** For tests and commands that must stay quiet. */
export const silentLogger = (): Logger => pino({ level: "silent" });
