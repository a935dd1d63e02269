/**
 * A logger that drops everything, for commands whose output is their verdict (start, approve, the MCP
 * server deciding an input when no daemon runs): no pino loaded for it.
 */
import type { Logger } from "../daemon/logger.js";

export const quietLogger: Logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {}, fatal: () => {}, trace: () => {}, child: () => quietLogger } as unknown as Logger;
