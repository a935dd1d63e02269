/** `consensus migrate --from-folder DIR` / `--to-folder DIR`, with --store postgres://…: moves a root between stores. */
import { resolve } from "node:path";
import { ConsensusError, issue } from "../../errors/issue.js";
import { whoAmI, type GlobalOptions } from "../context.js";
import { storeOf } from "../store-of.js";
import { withEngine } from "../writer.js";

export async function migrateCommand(g: GlobalOptions, o: { fromFolder?: string; toFolder?: string }): Promise<number> {
  const t = storeOf(g);
  if (t.kind !== "pg" || (o.fromFolder === undefined) === (o.toFolder === undefined)) {
    throw new ConsensusError(issue("USAGE", { message: "consensus migrate moves a root between a folder and a database: pass --store postgres://… and one of --from-folder DIR or --to-folder DIR", fix: "consensus migrate --from-folder ./consensus --store postgres://user@host/db" }), 2);
  }
  const m = await import("../../store/migrate.js");
  // agents' own lines live in the readable copy until the daemon records them in the log of record (the
  // only log that moves): record what it has not read yet first, judged as the daemon judges them (what
  // `watch --once` does), so the move carries every line the folder holds; the lock keeps a daemon out meanwhile
  if (o.fromFolder !== undefined) await withEngine(resolve(o.fromFolder), "migrate", (engine) => engine.readAgentLines());
  const r = o.fromFolder !== undefined ? await m.migrateFolderToPg(resolve(o.fromFolder), t.url, whoAmI()) : await m.migratePgToFolder(t.url, resolve(o.toFolder!));
  for (const f of r.skipped ?? []) process.stderr.write(`not moved: ${f} is a link, a FIFO, over the size cap, or holds bytes the log never accepted (not the daemon's file); look at it, and remove it if nobody needs it\n`);
  process.stdout.write(`moved ${r.entries} log entries${r.agentLines ? ` (and ${r.agentLines} agents' lines)` : ""}, ${r.blobs} blobs, ${r.published} published artifacts, ${r.notices} notices ${o.fromFolder !== undefined ? `from ${o.fromFolder} into the database` : `into ${o.toFolder}`}; check it with: consensus log verify\n`);
  return 0;
}
