/** `consensus watch`: runs the daemon until SIGTERM/SIGINT (or, with --once, until nothing is pending). */
import { createLogger } from "../../daemon/logger.js";
import { runDaemon } from "../../daemon/daemon.js";
import { rootOf, type GlobalOptions } from "../context.js";

export async function watchCommand(g: GlobalOptions, o: { once?: boolean; poll?: boolean; logLevel: string; pretty?: boolean }): Promise<number> {
  const log = createLogger({ level: o.logLevel, ...(o.pretty ? { pretty: true } : {}) });
  let signalled: () => void = () => {};
  const stop = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = (sig: string) => {
    log.info({ signal: sig }, "stopping: finishing the batch in hand");
    signalled();
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  return runDaemon({ root: rootOf(g), once: !!o.once, poll: !!o.poll, log, stop });
}
