/**
 * vitest globalSetup: which PostgreSQL the tests use. DATABASE_URL when set; otherwise the server on
 * 127.0.0.1:5432 when one answers; otherwise a throwaway embedded one, stopped when the run ends.
 * Tests read it with inject("pgUrl") and make their own database (test/support/pg.ts).
 */
import type { TestProject } from "vitest/node";
import { connect } from "node:net";
import { startEmbedded, type EmbeddedServer } from "./embedded-pg.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => (s.destroy(), resolve(ok));
    s.setTimeout(1000, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

let embedded: EmbeddedServer | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let url = process.env.DATABASE_URL;
  if (!url && (await answers("127.0.0.1", 5432))) url = "postgres://postgres@127.0.0.1:5432/postgres";
  if (!url) {
    embedded = await startEmbedded();
    url = embedded.url;
  }
  project.provide("pgUrl", url);
  return async () => {
    await embedded?.destroy();
  };
}
