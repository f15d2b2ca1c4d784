import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { PgAsyncDatabase } from 'drizzle-orm/pg-core/async/db';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { relations, type Relations } from './relations';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = PgAsyncDatabase<any, Relations>;

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Present on PostgreSQL: LISTEN/NOTIFY and advisory locks need real connections. */
  pool?: pg.Pool;
  /**
   * Runs a statement outside any transaction. On PostgreSQL it is a named prepared
   * statement, parsed and planned once per connection rather than on every call; so
   * `name` must always go with the same SQL text. PGlite runs it as it is.
   */
  prepared(name: string, query: SQL): Promise<{ rows: Record<string, unknown>[] }>;
  close(): Promise<void>;
}

const dialect = new PgDialect();

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'drizzle');
// Any constant works; it only has to be the same on every replica.
const MIGRATION_LOCK = 7_316_001;

export async function openDatabase(opts: {
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
}): Promise<Database> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
    // An idle client that loses its server must not take the process down.
    pool.on('error', (err) => console.error('[db] idle client error:', err.message));
    const db = drizzlePg({ client: pool, relations });
    // Replicas starting together take turns; the second finds nothing left to apply.
    const lock = await pool.connect();
    try {
      await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await migratePg(db, { migrationsFolder });
    } finally {
      await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
      lock.release();
    }
    const prepared = (name: string, query: SQL) => {
      const { sql: text, params } = dialect.sqlToQuery(query);
      return pool.query({ name, text, values: params });
    };
    return { db, kind: 'postgres', pool, prepared, close: () => pool.end() };
  }
  const client = opts.dataDir.startsWith('memory://') ? new PGlite() : new PGlite(opts.dataDir);
  const db = drizzlePglite({ client, relations });
  await migratePglite(db, { migrationsFolder });
  const prepared = (_name: string, query: SQL) => db.execute(query) as unknown as Promise<{ rows: Record<string, unknown>[] }>;
  return { db, kind: 'pglite', prepared, close: () => client.close() };
}
