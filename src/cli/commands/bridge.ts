/** `consensus bridge --store postgres://…`: mirrors this host's folder to and from the database store until SIGTERM/SIGINT (or, with --once, once). */
import { ConsensusError, issue } from "../../errors/issue.js";
import { createLogger } from "../../daemon/logger.js";
import { type GlobalOptions } from "../context.js";
import { storeOf } from "../store-of.js";

export async function bridgeCommand(g: GlobalOptions, o: { once?: boolean; poll?: boolean; logLevel: string; pretty?: boolean }): Promise<number> {
  const t = storeOf(g);
  if (t.kind !== "pg") throw new ConsensusError(issue("USAGE", { message: "consensus bridge mirrors a folder to and from a database store: pass --store postgres://… (or set CONSENSUS_STORE)", fix: "Run it on each host whose agents only read and write files: consensus bridge --store postgres://user@host/db --root ./consensus" }), 2);
  const log = createLogger({ level: o.logLevel, ...(o.pretty ? { pretty: true } : {}) });
  let signalled: () => void = () => {};
  const stop = new Promise<void>((r) => (signalled = r));
  process.on("SIGTERM", () => signalled());
  process.on("SIGINT", () => signalled());
  const { runBridge } = await import("../../transports/bridge/bridge.js");
  return runBridge({ root: t.root, store: t.url, log, stop, once: !!o.once, poll: !!o.poll });
}
