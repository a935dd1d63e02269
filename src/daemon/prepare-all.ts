/** Prepares a batch's files a few at a time (reads and hashes overlap); results, or the error, in batch order. */
import { inLanes } from "./lanes.js";

const PREPARE_PARALLEL = 8;

export async function prepareAll<T>(rels: readonly string[], prepareOne: (rel: string) => Promise<T>): Promise<Array<T | Error>> {
  const out: Array<T | Error> = new Array(rels.length);
  const idx = rels.map((_, i) => i);
  await inLanes(idx, String, PREPARE_PARALLEL, async (i) => {
    try {
      out[i] = await prepareOne(rels[i]!);
    } catch (e) {
      out[i] = e instanceof Error ? e : new Error(String(e));
    }
  });
  return out;
}
