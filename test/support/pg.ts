/**
 * A database of its own for a test file, on the server pg-global.ts chose: created empty, dropped
 * (with any connection still open to it) at the end. Nothing is mocked: the stores under test talk
 * to a real PostgreSQL.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { inject } from "vitest";

export interface TestDb {
  /** postgres://…/<the new database> */
  url: string;
  name: string;
  /** A client on that database (closed by drop()). */
  sql: postgres.Sql;
  drop(): Promise<void>;
}

export function serverUrl(): string {
  return inject("pgUrl");
}

export function withDatabase(server: string, name: string): string {
  const u = new URL(server);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function freshDatabase(prefix = "consensus_test", server = serverUrl()): Promise<TestDb> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(server, name);
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  return {
    url,
    name,
    sql,
    drop: async () => {
      await sql.end({ timeout: 1 }).catch(() => {});
      const a = postgres(server, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await a.end();
    },
  };
}
