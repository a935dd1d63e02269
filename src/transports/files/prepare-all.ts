/** Prepares a batch's files a few at a time (reads and hashes overlap); results, or the error, in batch order. */
import { eachLimited } from "../../store/fs/group-sync.js";

const PREPARE_PARALLEL = 8;

export async function prepareAll<T>(rels: readonly string[], prepareOne: (rel: string) => Promise<T>): Promise<Array<T | Error>> {
  const out: Array<T | Error> = new Array(rels.length);
  await eachLimited(rels, PREPARE_PARALLEL, async (rel, i) => {
    try {
      out[i] = await prepareOne(rel);
    } catch (e) {
      out[i] = e instanceof Error ? e : new Error(String(e));
    }
  });
  return out;
}
