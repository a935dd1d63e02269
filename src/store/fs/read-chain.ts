/** Streams the decision log through the chain verifier: `consensus log verify` and `consensus doctor` share it. */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { ChainVerifier, type ChainResult } from "../../log/chain.js";

export async function verifyLogFile(path: string): Promise<ChainResult> {
  const v = new ChainVerifier();
  const rl = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  for await (const line of rl) v.push(line);
  return v.result();
}
