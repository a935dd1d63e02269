/** The runner's decisions as one readable line: kept with every other entry's in src/log/summary.ts. */
export { agentSummary } from "../log/summary.js";
