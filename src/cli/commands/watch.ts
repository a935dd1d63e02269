/** `consensus watch`: runs the daemon until SIGTERM/SIGINT (or, with --once, until nothing is pending). */
import { createLogger } from "../../daemon/logger.js";
import { runDaemon } from "../../daemon/daemon.js";
import { rootOf, type GlobalOptions } from "../context.js";

export async function watchCommand(g: GlobalOptions, o: { once?: boolean; poll?: boolean; logLevel: string; pretty?: boolean }): Promise<number> {
  const log = createLogger({ level: o.logLevel, ...(o.pretty ? { pretty: true } : {}) });
  let signalled: () => void = () => {};
  const stop = new Promise<void>((resolve) => (signalled = resolve));
  let stopping = false;
  const onSignal = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, "stopping: finishing the batch in hand");
    signalled();
  };
  // process.on, not once: proper-lockfile's signal-exit re-raises a signal that it finds no other
  // listener for, and a once-listener is gone by the time it looks (the daemon died by SIGTERM, 143).
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  return runDaemon({ root: rootOf(g), once: !!o.once, poll: !!o.poll, log, stop });
}
