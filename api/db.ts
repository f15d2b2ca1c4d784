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
  /** Longest wait for a new connection before the query fails (PostgreSQL). */
  connectTimeoutMs?: number;
  /** Longest a statement may run; the server cancels it, and the client gives up a second later (PostgreSQL). */
  statementTimeoutMs?: number;
  /** An idle connection's error: it must not take the process down. */
  onError?: (err: Error) => void;
}): Promise<Database> {
  if (opts.databaseUrl) {
    const statementTimeout = opts.statementTimeoutMs ?? 15_000;
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
      // The server's own limit; then the client's, for a server that no longer answers at
      // all (a partition drops packets, and a query would otherwise wait forever).
      statement_timeout: statementTimeout,
      query_timeout: statementTimeout + 1_000,
      keepAlive: true,
    });
    pool.on('error', (err) => (opts.onError ?? ((e) => console.error('[db] idle client error:', e.message)))(err));
    const db = drizzlePg({ client: pool, relations });
    // Replicas starting together take turns; the second finds nothing left to apply.
    const lock = await pool.connect();
    try {
      // Waiting for another replica's migrations is not a stuck statement.
      await lock.query('set statement_timeout = 0');
      await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await migratePg(db, { migrationsFolder });
    } finally {
      await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
      // Discarded rather than returned to the pool with the changed timeout.
      lock.release(true);
    }
    const prepared = (name: string, query: SQL) => {
      const { sql: text, params } = dialect.sqlToQuery(query);
      return pool.query({ name, text, values: params });
    };
    return { db, kind: 'postgres', pool, prepared, close: () => pool.end() };
  }
  const client = opts.dataDir.startsWith('memory://') ? new PGlite() : new PGlite(opts.dataDir);
  yieldBetweenQueries(client);
  // Each new 16 MiB WAL segment was filled with zeroes on this thread: a 0.3 s stall of
  // every request once per 16 MiB written (in a bulk action over 10 000 agents, twice).
  // PostgreSQL does not need the zeroes; PGlite is one session, so SET holds for good.
  await client.exec('set wal_init_zero = off');
  const db = drizzlePglite({ client, relations });
  await migratePglite(db, { migrationsFolder });
  const prepared = (_name: string, query: SQL) => db.execute(query) as unknown as Promise<{ rows: Record<string, unknown>[] }>;
  return { db, kind: 'pglite', prepared, close: () => client.close() };
}

/** Longest PGlite may run queries one after another before the event loop gets a turn. */
const PGLITE_SLICE_MS = 10;

/**
 * PGlite runs each query on this thread, and its queue hands the next query over in a
 * microtask: a burst of queries (fifteen pages of events in one GraphQL request) ran
 * back to back for 200 ms while no socket was read. Every query, inside a transaction or
 * not, passes PGlite's query lock (`_runExclusiveQuery`); there, once PGLITE_SLICE_MS
 * have passed since the loop last had a turn, the next query waits for one.
 */
function yieldBetweenQueries(client: PGlite): void {
  const target = client as unknown as { _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T> };
  const run = target._runExclusiveQuery.bind(client);
  let turnAt = performance.now();
  target._runExclusiveQuery = (fn) =>
    run(async () => {
      if (performance.now() - turnAt > PGLITE_SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        turnAt = performance.now();
      }
      return fn();
    });
}

interface PreparingSession {
  prepareQuery(query: { sql: string; params: unknown[] }, mode: 'raw', name: string): { execute(values: Record<string, unknown>): Promise<unknown> };
}

/**
 * A statement built once, with `sql.placeholder`s for its values, and run in any `db`
 * (the pool or a transaction) as a prepared statement named `name`: PostgreSQL parses and
 * plans it once per connection rather than on every call, which for a statement as large
 * as an event insert costs more than running it (pgbench, 50 clients, a registration and
 * its event: 1 720 transactions/s unprepared, 2 970 prepared). PGlite runs it as it is.
 */
export function preparedStatement(name: string, query: SQL) {
  const built = dialect.sqlToQuery(query);
  return (db: Db, values: Record<string, unknown>) =>
    (db as unknown as { session: PreparingSession }).session.prepareQuery(built, 'raw', name).execute(values) as Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * SQLSTATEs and socket errors that mean the database cannot be reached or has stopped
 * serving, as opposed to a statement that failed on its own: connection exceptions (08),
 * too many connections, shutdown and recovery, a cancelled (timed-out) statement.
 */
const UNAVAILABLE_CODES = new Set(['53300', '57014', '57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection ended unexpectedly|the database system is (starting up|shutting down)|Cannot use a pool after calling end/i;

/** Whether an error (or any error in its `cause` chain) says the database is out of reach. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 10; e = e.cause as typeof e, depth++) {
    // Class 08 but for 08P01, a protocol violation: a message the driver could not make of what it was given, not a database out of reach.
    if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || (e.code.startsWith('08') && e.code !== '08P01'))) return true;
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return true;
  }
  return false;
}

/** The rows of a raw `db.execute` result (drizzle types it loosely), as `T`. */
export const rowsOf = <T>(result: unknown) => (result as { rows: T[] }).rows;

/**
 * A PostgreSQL array literal of numbers (null as NULL), sent as one text parameter: for
 * thousands of elements far cheaper to build and to parse than a parameter per element.
 */
export const numberArray = (numbers: readonly (number | null)[]) =>
  `{${(numbers.includes(null) ? numbers.map((n) => n ?? 'NULL') : numbers).join(',')}}`;

/** The SQLSTATE of a database error, wherever in its chain of causes the driver put it. */
export function pgErrorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (typeof e.code === 'string') return e.code;
  return undefined;
}

/** PostgreSQL's unique_violation. */
export const UNIQUE_VIOLATION = '23505';

/**
 * Runs a write whose unique key a check made just before may no longer hold (two
 * requests that take one name at once): the database's unique violation becomes
 * `conflict()`, the very error the check gives, rather than a 500.
 */
export async function uniqueOr<T>(write: () => Promise<T>, conflict: () => Error): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw pgErrorCode(err) === UNIQUE_VIOLATION ? conflict() : err;
  }
}
