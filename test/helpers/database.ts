import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Which database the suites run on: PGlite by default, PostgreSQL for the `postgres` project. */
export const onPostgres = () => process.env.TEST_DB === 'postgres';

export interface TestDatabase {
  /** DATABASE_URL for the server, or undefined for an in-memory PGlite. */
  url?: string;
  drop(): Promise<void>;
}

/** A fresh, empty PostgreSQL database (or nothing, on PGlite), so no two test files share rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!onPostgres()) return { url: undefined, drop: async () => {} };
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DB=postgres needs TEST_DATABASE_URL');
  const name = `am_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
